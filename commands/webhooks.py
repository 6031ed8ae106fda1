"""`webhooks deliver`: send due webhook deliveries once, or keep doing it (a worker beside the app)."""
from __future__ import annotations

import argparse
import sys
import time

from commands._common import emit, uow_factory


def _deliver(args: argparse.Namespace) -> int:
    from core.webhooks import deliver_due

    make_uow = uow_factory()
    while True:
        report = deliver_due(make_uow, limit=args.batch)
        if report.n_sent or not args.loop:
            emit(args, report.__dict__, f"sent {report.n_sent}: {report.n_delivered} delivered, "
                                        f"{report.n_retrying} to retry, {report.n_failed} failed")
        if not args.loop:
            return 0
        if report.n_sent < args.batch:  # a full batch: more may be due right away
            time.sleep(args.interval)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hooks = sub.add_parser(
        "webhooks",
        help="webhook deliveries (send what is due)",
        description="Webhook deliveries are recorded with each change and sent afterwards, with retries.",
    )
    actions = hooks.add_subparsers(dest="webhooks_command", metavar="ACTION")
    deliver = actions.add_parser(
        "deliver",
        help="send the deliveries that are due (once, or with --loop until stopped)",
        description="Send due webhook deliveries and record each outcome. Several workers may run at once: "
        "a delivery is never sent twice.\n\nexamples:\n  python cli.py webhooks deliver\n"
        "  QUORUM_WEBHOOK_RUNNER=0 streamlit run app.py & python cli.py webhooks deliver --loop",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deliver.add_argument("--loop", action="store_true", help="keep delivering until interrupted")
    deliver.add_argument("--interval", type=float, default=3.0, help="seconds between rounds with --loop (default 3)")
    deliver.add_argument("--batch", type=int, default=20, help="deliveries per round (default 20)")
    deliver.add_argument("--json", action="store_true")
    deliver.set_defaults(handler=_deliver)
    hooks.set_defaults(handler=lambda _args: hooks.print_help() or 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through cli.py")
