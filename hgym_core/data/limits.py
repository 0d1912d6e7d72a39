"""How much of a table a reader takes in before it refuses the file.

A few megabytes of gzip can expand to gigabytes, and a Parquet file can hold billions of
rows of one repeated value; read without a cap, either fills the memory of the server or
the command that reads it. Every table read (``hgym_core.data.io.read_table``) stops at the
first limit it passes, with one sentence that names the limit and how to raise it.

The defaults leave a 24 GiB machine room for training after the table is read:
- 1 GB of (decompressed) CSV text: a table takes about twice its CSV text in memory (1,000
  patients of the built-in cohort: 5.3 MB of CSV, 9.5 MB as a DataFrame);
- 10,000,000 rows (about 19 built-in cohorts of 534,960 rows);
- 100,000,000 cells (rows x columns): 8 bytes a number, so at most 0.8 GB of numbers even for
  a file of empty cells, which costs one byte of text each but eight in memory;
- 200,000 patients: the training tensor is patients x longest patient x features floats,
  200,000 x 60 months x 36 features = 1.7 GB of float32.

Each is set by an environment variable (for the dashboard's server) and, for one command,
by a command-line flag (``hgym_core.cli._limits``), which ``using_limits`` scopes to that call.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from hgym_core.errors import HGymError


@dataclass(frozen=True)
class TableLimits:
    max_bytes: int = 1_000_000_000
    max_rows: int = 10_000_000
    max_cells: int = 100_000_000
    max_patients: int = 200_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "TableLimits":
        """The defaults, each replaced by its environment variable when that is set."""
        changes = {field: parse_limit(ENV_VARS[field], environ[ENV_VARS[field]])
                   for field in ENV_VARS if environ.get(ENV_VARS[field], "").strip()}
        return dataclasses.replace(cls(), **changes)


ENV_VARS = {"max_bytes": "HGYM_MAX_TABLE_BYTES", "max_rows": "HGYM_MAX_ROWS",
            "max_cells": "HGYM_MAX_CELLS", "max_patients": "HGYM_MAX_PATIENTS"}


def parse_limit(setting: str, text: str) -> int:
    """A whole number of at least 1; '1_000_000' and '2e9' are accepted too."""
    try:
        value = float(text.strip().replace("_", ""))
    except ValueError:
        value = 0.0
    if not value.is_integer() or value < 1:
        raise HGymError(f"{setting} must be a whole number of at least 1 (got {text!r}).")
    return int(value)


_scoped: contextvars.ContextVar[TableLimits | None] = contextvars.ContextVar("table_limits", default=None)


def current_limits() -> TableLimits:
    """The limits of ``using_limits`` when inside one, else the environment's (read each time)."""
    return _scoped.get() or TableLimits.from_env()


@contextlib.contextmanager
def using_limits(limits: TableLimits) -> Iterator[TableLimits]:
    """Every table read inside the block (in this thread) uses ``limits``."""
    token = _scoped.set(limits)
    try:
        yield limits
    finally:
        _scoped.reset(token)


def format_bytes(count: float) -> str:
    """'1.0 GB', '350.2 MB', '12 kB': decimal units, as disks and file browsers count."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count / 1e3:.0f} kB"


def too_much_text(name: str, limits: TableLimits) -> HGymError:
    return HGymError(f"'{name}' expands past {format_bytes(limits.max_bytes)} of data (limit "
                     f"{ENV_VARS['max_bytes']}); sample it or raise the limit.")


def too_many_rows(name: str, limits: TableLimits) -> HGymError:
    return HGymError(f"'{name}' has more than {limits.max_rows:,} rows (limit {ENV_VARS['max_rows']}); "
                     "sample it or raise the limit.")


def too_many_cells(name: str, columns: int, limits: TableLimits) -> HGymError:
    return HGymError(f"'{name}' has more than {limits.max_cells:,} cells (rows x {columns:,} columns; limit "
                     f"{ENV_VARS['max_cells']}); sample it, drop columns or raise the limit.")


def too_many_patients(name: str, id_column: str, patients: int, limits: TableLimits) -> HGymError:
    return HGymError(f"'{name}' has {patients:,} patients in '{id_column}', more than {limits.max_patients:,} "
                     f"(limit {ENV_VARS['max_patients']}); sample patients or raise the limit.")
