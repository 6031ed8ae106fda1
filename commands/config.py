"""``cli.py config``: check a labeling config, or print a sample task for it.

Examples::

    python cli.py config check project.xml          # exit 0 when Quorum can label with it
    python cli.py config check project.xml --format json   # machine-readable: supported, problems, and
                                                            # per control its agreement/consensus/gold/exports
    python cli.py config sample project.xml         # sample task data (JSON) for a preview
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.config import LabelingConfig, config_problems, config_warnings, generate_sample_task, parse_config
from core.errors import ConfigError
from core.tags.plan import quality_plan

EXIT_OK = 0
EXIT_INVALID = 1     # the config was read but has problems
EXIT_UNREADABLE = 2  # the file could not be read as XML text (or is unsafe/malformed XML)


class _Unreadable(Exception):
    """The file cannot be read as text; the message says why."""


def _read_text(path: str) -> str:
    """The file's text (UTF-8, BOM allowed); _Unreadable with a clear reason otherwise."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise _Unreadable(f"{path}: no such file") from None
    except IsADirectoryError:
        raise _Unreadable(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise _Unreadable(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not raw.strip():
        raise _Unreadable(f"{path}: the file is empty; expected a labeling config starting with <View>")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                          "save the config as UTF-8") from None


def _summary(cfg: LabelingConfig) -> dict[str, Any]:
    return {
        "objects": [{"name": o.name, "tag": o.tag, "value": o.value, "line": o.line}
                    for o in cfg.objects.values()],
        "controls": [{**plan.as_json(), **_control_facts(cfg, plan.name)} for plan in quality_plan(cfg)],
        "variables": list(cfg.variables),
    }


def _control_facts(cfg: LabelingConfig, name: str) -> dict[str, Any]:
    control = cfg.controls.get(name)
    if control is None:  # a result-making object (an editable Chat)
        obj = cfg.objects[name]
        return {"to_name": [obj.name], "type": "chatmessage", "labels": [], "dynamic": False, "line": obj.line}
    return {"to_name": list(control.to_names), "type": control.kind.result_type, "labels": cfg.label_names(name),
            "dynamic": control.is_dynamic, "line": control.line}


def _check(args: argparse.Namespace) -> int:
    args.json = args.json or args.format == "json"
    try:
        text = _read_text(args.file)
        cfg, problems = config_problems(text)
    except (_Unreadable, ConfigError) as exc:
        return _fail_unreadable(args, str(exc))
    if problems or cfg is None:
        if args.json:
            print(json.dumps({"supported": False, "ok": False, "file": args.file, "controls": [],
                              "problems": [{"line": p.line, "tag": p.tag, "message": p.message}
                                           for p in problems]}, indent=2))
        else:
            for problem in problems:
                print(f"{args.file}:{problem.line}: {problem.message}")
            print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}: Quorum cannot label "
                  "with this config", file=sys.stderr)
        return EXIT_INVALID
    summary = _summary(cfg)
    warnings = config_warnings(cfg)  # accepted, but read differently from Label Studio: exit 0
    if args.json:
        print(json.dumps({"supported": True, "ok": True, "file": args.file, "problems": [], **summary,
                          "warnings": [{"line": w.line, "tag": w.tag, "message": w.message} for w in warnings]},
                         indent=2))
        return EXIT_OK
    print(f"ok: {args.file}")
    for warning in warnings:
        print(f"{args.file}:{warning.line}: warning: {warning.message}")
    objects = ", ".join(f"{o['name']} ({o['tag']})" for o in summary["objects"]) or "none"
    print(f"objects:   {objects}")
    controls = ", ".join(f"{c['name']} ({c['tag']} -> {','.join(c['to_name']) or 'regions'})"
                         for c in summary["controls"]) or "none"
    print(f"controls:  {controls}")
    for plan in quality_plan(cfg):
        how = (f"agreement {plan.agreement}, consensus {plan.consensus}" if plan.fallback is None
               else f"{plan.fallback}")
        print(f"  {plan.name}: {how}")
    print(f"variables: {', '.join('$' + v for v in summary['variables']) or 'none'}")
    return EXIT_OK


def _sample(args: argparse.Namespace) -> int:
    try:
        cfg = parse_config(_read_text(args.file))
    except (_Unreadable, ConfigError) as exc:
        return _fail_unreadable(args, str(exc))
    data = generate_sample_task(cfg)
    print(json.dumps({"data": data} if args.task else data, indent=2, ensure_ascii=False))
    return EXIT_OK


def _fail_unreadable(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"supported": False, "ok": False, "file": args.file, "controls": [],
                          "problems": [{"line": 0, "tag": None, "message": message}]}, indent=2))
    else:
        for line in message.splitlines():
            print(f"error: {line}", file=sys.stderr)
    return EXIT_UNREADABLE


def register(subparsers: Any) -> None:
    """Add ``config check`` and ``config sample`` to the CLI."""
    parser = subparsers.add_parser(
        "config", help="check a labeling config or print a sample task for it",
        description="Work with Label Studio labeling configs (XML with a <View> root).",
        epilog="examples:\n  python cli.py config check project.xml\n"
               "  python cli.py config sample project.xml > sample.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda _args: (parser.print_help(), EXIT_INVALID)[1])

    check = sub.add_parser(
        "check", help="validate a config; exit 0 when Quorum can label with it",
        description="Validate a labeling config: XML, tags, names, toName targets, options, and that "
                    "Quorum has a widget for every tag. Prints a summary (objects, controls, data "
                    "variables) and exits 0, or prints one line per problem (FILE:LINE: message "
                    "naming the tag) and exits 1. Exit 2 when the file cannot be read as XML.",
        epilog="example:\n  python cli.py config check ../shared/ls-templates/"
               "computer-vision__image-classification.xml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("file", metavar="FILE.xml", help="the labeling config")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="json: {supported, problems, controls: [{name, tag, agreement, consensus, gold, "
                            "exports, fallback, ...}]}")
    check.add_argument("--json", action="store_true", help="the same as --format json")
    check.set_defaults(handler=_check)

    sample = sub.add_parser(
        "sample", help="print sample task data for a config (JSON)",
        description="Print sample task data for previewing a config: the config's trailing "
                    "<!-- {...} --> sample when present, completed with per-tag samples for every "
                    "$variable it reads.",
        epilog="example:\n  python cli.py config sample project.xml > sample.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sample.add_argument("file", metavar="FILE.xml", help="the labeling config")
    sample.add_argument("--task", action="store_true",
                        help='wrap the data as an importable task: {"data": {...}}')
    sample.set_defaults(handler=_sample)
