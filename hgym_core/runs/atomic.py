"""Atomic file writes: a temp file in the same folder, fsynced, then ``os.replace`` over the target.

A crash mid-write leaves the previous version of the file in place, never half of a new one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

TEMP_NAME = re.compile(r"^\..+\.(\d+)\.tmp$")   # ".<file>.<pid>.tmp", as atomic_write names them


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; some file systems refuse to open a directory, which is harmless."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temp file next to ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")   # TEMP_NAME
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def clear_stale_temp_files(folder: Path) -> list[Path]:
    """Remove the temp files that writers killed mid-write left in ``folder`` (``kill -9`` between
    the temp file and the rename); a temp file of a process that still runs is left alone."""
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        match = TEMP_NAME.match(path.name)
        if match and not process_exists(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def process_exists(pid: int) -> bool:
    """Whether a process with this id runs on this machine (any owner)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # it exists, under another user
        return True
    return True
