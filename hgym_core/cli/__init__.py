"""``python -m hgym_core``: one sub-command per module in this package.

Each sub-command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hgym_core.cli._limits import flag_limits
from hgym_core.errors import HGymError

# Order is the order shown in --help.
SUBCOMMAND_MODULES = ("demo", "schema", "train", "sample", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hgym_core",
        description="Health Gym Studio: train Health Gym v1 WGAN-GP models on longitudinal patient data.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"hgym_core.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with flag_limits(args):
            return int(args.func(args) or 0)
    except HGymError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
