"""`tokens create|list|revoke`: personal API tokens from the command line, so a script or a CI job gets one
without a browser (``python cli.py tokens create ci-bot --name CI | tail -n 1``)."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

from commands._common import actor, add_actor_option, emit, uow_factory

if TYPE_CHECKING:
    from core.api_tokens import ApiTokenInfo


def _when(moment: dt.datetime | None, empty: str) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else empty


def _row(token: ApiTokenInfo) -> dict[str, Any]:
    return {"id": token.id, "prefix": token.prefix, "name": token.name, "created_at": token.created_at,
            "last_used_at": token.last_used_at, "revoked_at": token.revoked_at}


def _create(args: argparse.Namespace) -> int:
    from core.api_tokens import create_token
    from core.users import resolve_login

    with uow_factory()() as uow:
        owner = resolve_login(uow, args.user)
        info, token = create_token(uow, actor(uow, args), user_id=owner.id, name=args.name)
        uow.commit()
    # The token is the last line, alone, so `| tail -n 1` gets it; it is not kept anywhere to show again.
    print(f"created API token {info.id} ({info.prefix}…) for {owner.username}"
          + (f", named {info.name!r}" if info.name else ""))
    print("shown once; store it now:")
    print(token)
    return 0


def _list(args: argparse.Namespace) -> int:
    from core.api_tokens import list_tokens
    from core.users import resolve_login

    with uow_factory()() as uow:
        owner = resolve_login(uow, args.user)
        tokens = list_tokens(uow, actor(uow, args), user_id=owner.id)
    lines = [
        f"{t.id:>5}  {t.prefix}…  {t.name or '-':<24} created {_when(t.created_at, '')}  "
        f"last used {_when(t.last_used_at, 'never')}" + (f"  REVOKED {_when(t.revoked_at, '')}" if t.is_revoked else "")
        for t in tokens
    ]
    emit(args, [_row(t) for t in tokens], "\n".join(lines) or f"{owner.username} has no API tokens")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from core.api_tokens import revoke_token

    with uow_factory()() as uow:
        info = revoke_token(uow, actor(uow, args), token_id=args.token_id)
        uow.commit()
    emit(args, _row(info), f"revoked API token {info.id} ({info.prefix}…)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tokens = sub.add_parser(
        "tokens",
        help="personal API tokens (create, list, revoke)",
        description="Personal API tokens for the HTTP API (Authorization: Token <token>). A token acts with "
        "exactly its user's roles.",
    )
    actions = tokens.add_subparsers(dest="tokens_command", metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create a token for USER; the token is printed on the last line, once",
        description="Create an API token for USER (user name or e-mail). The token is printed on the last "
        "line and never again: only its hash is kept.\n\nexample:\n"
        "  TOKEN=$(python cli.py tokens create ci-bot --name CI | tail -n 1)\n"
        '  curl -H "Authorization: Token $TOKEN" http://localhost:8501/api/projects',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("user", metavar="USER", help="user name or e-mail of the token's owner")
    create.add_argument("--name", metavar="LABEL", default="", help="a label to recognise the token by")
    add_actor_option(create)
    create.set_defaults(handler=_create)
    lst = actions.add_parser(
        "list",
        help="list USER's tokens (prefix, name, created, last used, revoked)",
        description="List USER's API tokens, revoked ones included (the tokens themselves are not kept).\n\n"
        "example: python cli.py tokens list ci-bot --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lst.add_argument("user", metavar="USER", help="user name or e-mail")
    lst.add_argument("--json", action="store_true")
    add_actor_option(lst)
    lst.set_defaults(handler=_list)
    revoke = actions.add_parser(
        "revoke",
        help="revoke a token by its id (see tokens list)",
        description="Revoke an API token: it stops working at once.\n\nexample: python cli.py tokens revoke 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    revoke.add_argument("token_id", metavar="TOKEN_ID", type=int)
    revoke.add_argument("--json", action="store_true")
    add_actor_option(revoke)
    revoke.set_defaults(handler=_revoke)
    tokens.set_defaults(handler=lambda _args: tokens.print_help() or 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through cli.py")
