"""Quorum's command line: a thin entrypoint over ``core`` (see ``python cli.py --help``).

Each sub-command lives in ``commands/<name>.py`` with a ``register(subparsers)`` function; handlers
translate arguments into one ``core`` call and map :class:`core.errors.QuorumError` to exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import commands
from core.errors import QuorumError


def build_parser() -> argparse.ArgumentParser:
    """Collect every command module's sub-parser, in alphabetical order of module name."""
    parser = argparse.ArgumentParser(
        prog="cli.py",
        description="Quorum data-labeling portal: command line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        module = importlib.import_module(f"commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        return int(args.handler(args) or 0)
    except QuorumError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `cli.py stats X | head`: the reader left; no traceback for that
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
