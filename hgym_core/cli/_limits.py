"""The table-limit flags of the sub-commands that read tables (schema, train, evaluate).

Each flag overrides its environment variable (``hgym_core.data.limits``) for one command;
``main`` applies them around the command with ``flag_limits``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from collections.abc import Iterator

from hgym_core.data.limits import ENV_VARS, TableLimits, parse_limit, using_limits
from hgym_core.errors import HGymError

FLAGS = {"max_bytes": "--max-table-bytes", "max_rows": "--max-table-rows",
         "max_cells": "--max-table-cells", "max_patients": "--max-table-patients"}
WHAT = {"max_bytes": "bytes of (decompressed) data", "max_rows": "rows", "max_cells": "cells (rows x columns)",
        "max_patients": "patients"}


def add_table_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("table limits (a table past one is refused before it fills the memory)")
    defaults = TableLimits()
    for field, flag in FLAGS.items():
        group.add_argument(flag, dest=f"table_{field}", type=_limit(flag), metavar="N",
                           help=f"most {WHAT[field]} a table may have (default: ${ENV_VARS[field]}, "
                                f"else {getattr(defaults, field):,})")


def _limit(flag: str):
    def convert(text: str) -> int:
        try:
            return parse_limit(flag, text)
        except HGymError as problem:
            raise argparse.ArgumentTypeError(str(problem)) from None
    return convert


@contextlib.contextmanager
def flag_limits(args: argparse.Namespace) -> Iterator[None]:
    """Inside, table reads use the limits given as flags, the environment's for the rest."""
    given = {field: getattr(args, f"table_{field}") for field in FLAGS
             if getattr(args, f"table_{field}", None) is not None}
    if not given:
        yield
        return
    with using_limits(dataclasses.replace(TableLimits.from_env(), **given)):
        yield
