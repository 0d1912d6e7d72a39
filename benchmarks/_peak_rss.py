"""The peak resident memory of one child process, for the memory benchmarks (Linux and macOS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss(command: list[str], env: dict[str, str] | None = None) -> tuple[int, int, str]:
    """Run ``command`` from the repository root; (exit code, peak RSS in bytes, its stderr and stdout)."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    process = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)   # this child's own rusage, not all children's
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    return process.returncode, usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024), output


def mb(count: int) -> str:
    return f"{count / 1e6:,.0f} MB"
