"""The progress line of the slow sub-commands: on stderr for sample and evaluate, on stdout for train.

On a terminal one line is redrawn in place and cleared when the work ends, so stdout's result
lines stay clean. Anywhere else (a pipe, a log file) it prints nothing, unless
``--progress-every SECONDS`` asks for a line at most that often (0: every update), the last
update always included (train asks for one every 10 s by default).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from typing import TextIO


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress-every", type=float, metavar="SECONDS",
                        help="when stderr is not a terminal, print a progress line to it this often "
                             "(0: every update; default: none; a terminal always shows one live line)")


class ProgressLine:
    """``with ProgressLine(every) as line: line.show(text, last=...)``."""

    def __init__(self, every: float | None, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.every = every
        self.started = time.perf_counter()
        self.printed, self.printed_at = "", -math.inf   # a line the same as the last printed one is not repeated

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def show(self, text: str, last: bool = False) -> None:
        if self.live:
            width = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + text[: width - 1].ljust(width - 1))
        elif self.every is not None and text != self.printed and (
                last or self.elapsed - self.printed_at >= self.every):
            self.stream.write(text + "\n")
            self.printed, self.printed_at = text, self.elapsed
        else:
            return
        self.stream.flush()

    def clear(self) -> None:
        """Wipe the live line, so a line printed next starts on a clean one."""
        if self.live:
            self.stream.write("\r" + " " * (shutil.get_terminal_size((100, 20)).columns - 1) + "\r")
            self.stream.flush()

    def __enter__(self) -> "ProgressLine":
        return self

    def __exit__(self, *exc_info) -> None:
        self.clear()
