"""A progress line on stderr for the slow sub-commands (sample, evaluate), drawn the way ``train`` draws its own.

On a terminal one line is redrawn in place and cleared when the work ends, so stdout's result
lines stay clean. Anywhere else (a pipe, a log file) it prints nothing, unless
``--progress-every SECONDS`` asks for a line at most that often (0: every update), the last
update always included.
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
        self.printed_at = -math.inf

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def show(self, text: str, last: bool = False) -> None:
        if self.live:
            width = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + text[: width - 1].ljust(width - 1))
        elif self.every is not None and (last or self.elapsed - self.printed_at >= self.every):
            self.stream.write(text + "\n")
            self.printed_at = self.elapsed
        else:
            return
        self.stream.flush()

    def __enter__(self) -> "ProgressLine":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.live:  # clear the live line, so what follows starts on a clean one
            self.stream.write("\r" + " " * (shutil.get_terminal_size((100, 20)).columns - 1) + "\r")
            self.stream.flush()
