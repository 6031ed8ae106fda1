"""`users create|list`: accounts from the command line."""
from __future__ import annotations

import argparse
import getpass
import sys

from commands._common import emit, uow_factory


def _create(args: argparse.Namespace) -> int:
    from core.users import create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.password is not None:
        password = args.password
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
    with uow_factory()() as uow:
        user = create_user(
            uow,
            username=args.username,
            password=password,
            email=args.email,
            display_name=args.name or "",
            is_admin=args.admin,
        )
        uow.commit()
    emit(args, user.__dict__, f"created user {user.username} (id {user.id}{', admin' if user.is_admin else ''})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from core.users import list_users

    with uow_factory()() as uow:
        users = list_users(uow)
    lines = [
        f"{u.id:>5}  {u.username:<24} {u.email or '':<32} {'admin' if u.is_admin else ''}"
        f"{'' if u.is_active else ' (inactive)'}"
        for u in users
    ]
    emit(args, [u.__dict__ for u in users], "\n".join(lines) or "no users")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="create and list user accounts")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    create = users_sub.add_parser(
        "create",
        help="create an account",
        description="Create an account.\n\nexample: python cli.py users create alice --email alice@example.com "
        "--password-stdin < pw.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("username")
    create.add_argument("--email")
    create.add_argument("--name", help="display name")
    create.add_argument("--admin", action="store_true", help="make the account an administrator")
    create.add_argument("--password", help="the password (visible in the process list; prefer --password-stdin)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_create)
    lst = users_sub.add_parser("list", help="list accounts", description="example: python cli.py users list --json")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_list)
