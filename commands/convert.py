"""``cli.py convert``: turn a Label Studio export into another format without a database.

The same writers as the export page (``core.formats``), in the folder layout of Label Studio's converter
(COCO: result.json; YOLO: classes.txt + labels/; VOC: Annotations/; CSV: result.csv ...), so its output
can be compared file for file with ``label-studio-converter``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.config import parse_config
from core.errors import ConfigError
from core.formats.readers import iter_task_dicts
from core.formats.registry import FORMATS, get_format
from core.formats.schema import schema_from_config

EXAMPLE = """\
example:
  python cli.py convert export.json --config config.xml --to YOLO --out out/
  -> out/classes.txt, out/notes.json, out/labels/<image>.txt

formats (file or folder written inside --out):
""" + "\n".join(
    f"  {f.name:<13} {f.filename or 'folder':<14} needs {f.needs}" for f in FORMATS.values()
)


def register(subparsers: Any) -> None:
    """Add the ``convert`` sub-command."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a Label Studio export (JSON) to COCO, YOLO, VOC, CSV ... without a database",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, help="Label Studio export: a JSON list of tasks, one task, or JSON lines")
    parser.add_argument("--config", required=True, type=Path, help="the project's labeling config (XML)")
    parser.add_argument(
        "--to", required=True, type=str.upper, choices=list(FORMATS), metavar="FORMAT",
        help="export format: " + ", ".join(FORMATS),
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Convert; print what was written. Domain errors propagate to ``cli.main`` (exit code 2)."""
    try:
        xml = args.config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the labeling config {args.config}: {exc.strerror}") from None
    schema = schema_from_config(parse_config(xml))
    fmt = get_format(args.to)
    if not fmt.applies_to(schema):
        raise ConfigError(f"{fmt.name} needs {fmt.needs}; the config {args.config} does not have it")
    if not args.input.is_file():
        raise ConfigError(f"no such input file: {args.input}")
    tasks = iter_task_dicts(args.input, filename=args.input.name)
    written = fmt.export(tasks, args.out, schema=schema)
    if args.json:
        print(json.dumps({"format": fmt.name, "out": str(args.out), "files": [str(p) for p in written]}))
    else:
        print(f"{fmt.name}: wrote {len(written)} file(s) to {args.out}")
    return 0
