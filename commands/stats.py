"""cli.py stats: a project's annotator figures -- the numbers of the Quality page's annotator table."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from commands._common import actor, add_actor_option, uow_factory

EPILOG = """\
examples:
  python cli.py stats 'RTE'
  python cli.py stats 'RTE' --format json --since 2026-11-01 --until 2026-11-30 --control sentiment

JSON: {"project", "annotations", ..., "annotators": [{"annotator": USERNAME, "tasks", "accuracy",
"estimated_accuracy", "agreement_with_consensus", "self_consistency", "median_lead_time_s", ..., "flags"}],
"coefficients": [...]}; a figure that cannot be known is null. accuracy: the share of the annotator's
ground-truth tasks labeled like the ground truth.
"""

TABLE = (("annotator", "annotator", "{}"), ("tasks", "tasks", "{}"), ("accuracy", "accuracy", "{:.3f}"),
         ("est. acc.", "estimated_accuracy", "{:.3f}"), ("w/ consensus", "agreement_with_consensus", "{:.3f}"),
         ("self", "self_consistency", "{:.3f}"), ("lead med s", "median_lead_time_s", "{:.1f}"),
         ("skips", "skip_rate", "{:.0%}"))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a date (YYYY-MM-DD)") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("stats", help="annotator figures of a project (speed, accuracy, agreement, flags)",
                            description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", help="project title")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--since", type=_date, help="annotations made on or after this UTC date")
    parser.add_argument("--until", type=_date, help="annotations made on or before this UTC date")
    parser.add_argument("--control", help="only this control")
    parser.add_argument("--label", help="only tasks where someone (or the ground truth) chose this label")
    add_actor_option(parser)
    parser.set_defaults(handler=run)


def _cell(fmt: str, value: object) -> str:
    return "—" if value is None else fmt.format(value)


def run(args: argparse.Namespace) -> int:
    from core.analytics import AnalyticsFilters, project_analytics
    from core.analytics_report import stats_payload
    from core.errors import QuorumError
    from core.projects import find_project_id

    with uow_factory()() as uow:
        project_id = find_project_id(uow, args.project)
        if project_id is None:
            raise QuorumError(f"no project titled {args.project!r} (see `python cli.py project list`)")
        filters = AnalyticsFilters(since=args.since, until=args.until, control=args.control, label=args.label)
        payload = stats_payload(project_analytics(uow, actor(uow, args), project_id=project_id, filters=filters))
    if args.format == "json":
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    rows = [[header for header, _, _ in TABLE]]
    rows += [[_cell(fmt, a[key]) for _, key, fmt in TABLE] for a in payload["annotators"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE))]
    gold = payload["gold_tasks"]
    print(f"{payload['project']}: {payload['annotations']:,} annotations, {gold:,} gold task{'' if gold == 1 else 's'}")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    for a in payload["annotators"]:
        for flag in a["flags"]:
            print(f"flag: {a['annotator']}: {flag['flag']}: {flag['evidence']}")
    return 0
