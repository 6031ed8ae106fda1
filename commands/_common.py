"""Shared plumbing for commands: the unit-of-work factory and the acting user."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy imports wait until a command runs: `cli.py --help` and `config check` stay fast
    from core.uow import UnitOfWork, UowFactory
    from core.users import UserInfo


def uow_factory() -> UowFactory:
    from core.bootstrap import make_uow_factory

    return make_uow_factory()


def add_actor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="acting_user",
        metavar="USER",
        help="act as this user (permissions are checked as for them); default: the command-line admin",
    )


def actor(uow: UnitOfWork, args: argparse.Namespace) -> UserInfo:
    from core.users import cli_actor, resolve_login

    login = getattr(args, "acting_user", None)
    return resolve_login(uow, login) if login else cli_actor(uow)


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as JSON with --json, else ``text``."""
    if getattr(args, "json", False):
        json.dump(payload, sys.stdout, indent=2, default=str)
        print()
    else:
        print(text)
