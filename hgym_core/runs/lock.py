"""One writer per run folder: an OS file lock on ``<run>/train.lock``.

The process that trains a run (the command line, a library call, the dashboard's training
process) holds an exclusive ``fcntl.flock`` on the folder's lock file for as long as it trains;
the operating system releases it when that process ends, however it ends, so a crashed run is
never left "stuck running". A second writer is refused before it writes anything, with a
sentence naming the holder (the lock file records its pid, host and command).

Whether a run is being trained is therefore a question to the lock, never to a process id in
run.json: ``holder(folder)`` answers it (None when nobody holds the lock).

    with RunLock(folder):                 # HGymError (RunBusy) if another process trains it
        ...train, write checkpoints, metrics.csv, run.json...

The lock file is never deleted while the run exists: unlinking a lock file others may have
open would let two processes each lock a different file of the same name.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hgym_core.errors import HGymError
from hgym_core.runs.atomic import clear_stale_temp_files
from hgym_core.runs.folder import RunFolder

# Set by whoever starts a training process on a user's behalf, so the lock names it in words.
PROCESS_LABEL_ENV = "HGYM_PROCESS_LABEL"
# A lister probing the lock holds it for microseconds; a writer waits this long before it
# concludes that a real writer holds it.
ACQUIRE_PATIENCE_SECONDS = 1.0


class RunBusy(HGymError):
    """Another process holds the run folder's lock; ``holder`` says which (as far as it recorded)."""

    def __init__(self, folder: RunFolder, holder: "LockHolder | None", advice: str = ""):
        who = (holder or LockHolder(None, "", "", "")).describe()
        advice = advice or ("stop that first (Ctrl-C or Stop) or wait for it to end: one process at a time "
                            "writes a run folder")
        super().__init__(f"Run '{folder.name}' is being trained by {who}; {advice}.")
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run's lock, as that process recorded it (fields may be empty if it had not yet)."""

    pid: int | None
    host: str
    command: str
    since: str

    def describe(self) -> str:
        """'process 4242 on host lab-1 (python -m hgym_core train --out models/hiv-1), since 14:02:07'."""
        if self.pid is None:
            return "another process"
        where = f" on host {self.host}" if self.host and self.host != socket.gethostname() else ""
        what = f" ({self.command})" if self.command else ""
        when = f", since {self.since[11:19]}" if len(self.since) >= 19 else ""
        return f"process {self.pid}{where}{what}{when}"


def _folder(folder: RunFolder | str | os.PathLike) -> RunFolder:
    return folder if isinstance(folder, RunFolder) else RunFolder(folder)


def this_process() -> str:
    """How the lock file names this process: its label when one was given, else its command line
    (on one line and at most 200 characters: it goes into a one-sentence message)."""
    command = os.environ.get(PROCESS_LABEL_ENV) or shlex.join(["python", *sys.orig_argv[1:]])
    command = " ".join(command.split())
    return command if len(command) <= 200 else command[:199] + "…"


class RunLock:
    """The exclusive lock of one run folder; also a context manager (acquire on enter)."""

    def __init__(self, folder: RunFolder | str | os.PathLike):
        self.folder = _folder(folder)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, advice: str = "") -> "RunLock":
        """Take the lock (creating the folder and its lock file if needed) or raise RunBusy naming the
        holder; then clear the temp files that dead writers left (``atomic.clear_stale_temp_files``)."""
        if self._fd is not None:
            return self
        self.folder.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + ACQUIRE_PATIENCE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as problem:
                if problem.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise RunBusy(self.folder, _read_holder(self.folder.lock_path), advice) from None
                time.sleep(0.05)
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": this_process(),
                  "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
        self._fd = fd
        clear_stale_temp_files(self.folder.path)   # what writers killed mid-write left (kill -9)
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)      # the next reader finds no stale holder
        except OSError:              # the folder was deleted while held (delete_run)
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def holder(folder: RunFolder | str | os.PathLike) -> LockHolder | None:
    """Who trains the run right now (None: nobody; the run can be resumed or deleted).

    Probes with a shared, non-blocking lock held for an instant, so probes never block each
    other and a writer's acquire waits them out (ACQUIRE_PATIENCE_SECONDS).
    """
    path = _folder(folder).lock_path
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as problem:
            if problem.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            return _read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def is_training(folder: RunFolder | str | os.PathLike) -> bool:
    return holder(folder) is not None


def refuse_if_busy(folder: RunFolder | str | os.PathLike, advice: str = "") -> None:
    """RunBusy naming the holder when a process trains the run; nothing otherwise."""
    found = holder(folder)
    if found is not None:
        raise RunBusy(_folder(folder), found, advice)


def _read_holder(path: Path) -> LockHolder:
    try:
        record = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict):
        record = {}
    pid = record.get("pid")
    return LockHolder(pid if isinstance(pid, int) else None, str(record.get("host", "")),
                      str(record.get("command", "")), str(record.get("since", "")))
