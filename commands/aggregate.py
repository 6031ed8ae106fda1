"""``cli.py aggregate``: consensus label per task from a CSV of annotators' labels."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas and the aggregators load only when the command runs (fast `cli.py --help`)
    import pandas as pd

METHODS = ("dawid-skene", "majority")


def _aggregator(method: str):  # type: ignore[no-untyped-def]
    from metrics.consensus import DawidSkene, MajorityVote

    return {"majority": MajorityVote, "dawid-skene": DawidSkene}[method]()
#: Input column synonyms: crowd-kit and the published datasets say "worker"; Quorum says "annotator".
ANNOTATOR_SYNONYMS = ("annotator", "worker")

EPILOG = """\
example:
  python cli.py aggregate labels.csv --method dawid-skene --out consensus.csv

LABELS.csv has the columns task, annotator (or worker), label; one row per judgement. OUT.csv gets
task,label with one row per task; a task without consensus (a tie) gets an empty label.
Exit codes: 0 done, 2 unreadable or malformed input.
"""


class InputError(Exception):
    """Bad input file; the message names the file and what is wrong."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "aggregate",
        help="consensus label per task (majority vote or Dawid-Skene) from a labels CSV",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("labels", metavar="LABELS.csv", help="CSV with columns task, annotator|worker, label")
    parser.add_argument("--method", choices=sorted(METHODS), default="majority", help="default: majority")
    parser.add_argument("--out", metavar="OUT.csv", required=True, help="where to write task,label")
    parser.set_defaults(handler=run)


def read_labels(path: Path) -> pd.DataFrame:
    """Read LABELS.csv as strings (labels stay exactly as written) into the long frame."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (expected a header task,annotator,label)") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc.__class__.__name__}: {exc})") from None
    columns = {c.strip().lower(): c for c in frame.columns}
    annotator = next((columns[s] for s in ANNOTATOR_SYNONYMS if s in columns), None)
    missing = [name for name, col in (("task", columns.get("task")), ("annotator (or worker)", annotator),
                                      ("label", columns.get("label"))) if col is None]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {list(frame.columns)}")
    frame = frame.rename(columns={columns["task"]: "task", annotator: "annotator", columns["label"]: "label"})
    frame = frame[["task", "annotator", "label"]]
    if frame["task"].isna().any() or frame["annotator"].isna().any():
        row = int(frame.index[frame["task"].isna() | frame["annotator"].isna()][0]) + 2
        raise InputError(f"{path}: line {row} has an empty task or annotator")
    if frame["label"].notna().sum() == 0:
        raise InputError(f"{path}: no labels (the file has a header but no labelled rows)")
    return frame


def run(args: argparse.Namespace) -> int:
    path = Path(args.labels)
    try:
        frame = read_labels(path)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import pandas as pd

    consensus = _aggregator(args.method).fit_predict(frame)
    # Tasks whose every label was empty still get a row, with no consensus.
    consensus = consensus.reindex(pd.Index(frame["task"].unique(), name="task"))
    out = consensus.rename("label").reset_index()
    try:
        out.to_csv(args.out, index=False)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    n_none = int(consensus.isna().sum())
    print(f"{len(out)} tasks -> {args.out} ({args.method}; {n_none} without consensus)")
    return 0
