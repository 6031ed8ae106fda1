"""`demo`: seed the demo accounts and projects into an empty database and print how to sign in."""
from __future__ import annotations

import argparse
import os

from commands._common import uow_factory


def _demo(args: argparse.Namespace) -> int:
    from core.demo import demo_sign_in_text, is_empty, seed_demo

    make_uow = uow_factory()
    if not is_empty(make_uow):
        if not args.if_empty:
            print("the database is not empty: the demo is seeded only into an empty database")
            return 1
        print("database already set up; demo not seeded again")
        return 0
    if os.environ.get("QUORUM_NO_DEMO") == "1":
        print("QUORUM_NO_DEMO=1: starting with an empty database")
        return 0
    titles = seed_demo(make_uow)
    print("seeded demo projects: " + ", ".join(titles))
    print(demo_sign_in_text())
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser(
        "demo",
        help="seed the demo (users of every role, a project per data type) into an empty database",
        description="example: python cli.py demo --if-empty",
    )
    demo.add_argument("--if-empty", action="store_true", help="succeed quietly when the database has data already")
    demo.set_defaults(handler=_demo)
