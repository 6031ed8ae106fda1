"""`import`, `export` and `import-labels`: moving tasks and labels in and out of a project."""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path

from typing import IO, TYPE_CHECKING

from commands._common import actor, add_actor_option, emit, uow_factory
from core.errors import ImportFormatError, QuorumError

if TYPE_CHECKING:
    from core.formats import ExportFormat
    from core.uow import UnitOfWork

FORMAT_NAMES = "JSON, JSON_MIN, CSV, TSV, CONLL2003, COCO, YOLO, YOLO_OBB, VOC, ASR_MANIFEST"


def _project_id(uow: UnitOfWork, title: str) -> int:
    from core.projects import find_project_id

    project_id = find_project_id(uow, title)
    if project_id is None:
        raise QuorumError(f"no project titled {title!r} (see `python cli.py project list`)")
    return project_id


def _open(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise QuorumError(f"{path}: cannot open ({exc.strerror})") from exc


def _import(args: argparse.Namespace) -> int:
    from core.imports import import_tasks_file, read_user_table

    started = time.perf_counter()
    summaries = []
    users = None
    if args.users:
        with _open(args.users) as stream:
            users = read_user_table(stream, os.path.basename(args.users))
    with uow_factory()() as uow:
        project_id = _project_id(uow, args.project)
        acting = actor(uow, args)
        for path in args.files:
            with _open(path) as stream:
                try:
                    summaries.append(import_tasks_file(
                        uow, acting, project_id=project_id, stream=stream, filename=path, data_key=args.data_key,
                        skip_invalid=args.skip_invalid, users=users,
                    ))
                except ImportFormatError as exc:
                    if args.skip_invalid or "problem(s):" not in str(exc):
                        raise
                    raise ImportFormatError(f"{exc}\n(--skip-invalid imports the valid tasks and lists the skipped "
                                            "ones)") from None
        uow.commit()  # all files or none
    elapsed = time.perf_counter() - started
    lines = []
    for s in summaries:
        drafts = f", {s.n_drafts} drafts" if s.n_drafts else ""
        lines.append(f"{s.filename}: {s.n_tasks} tasks, {s.n_annotations} annotations{drafts}, "
                     f"{s.n_predictions} predictions")
        lines.extend(f"  {note}" for note in s.notes)
        if s.n_rejected:
            lines.append(f"  skipped {s.n_rejected} invalid task(s):")
            lines.extend(f"  skipped {row.where}: {row.reason}" for row in s.rejected)
            if s.n_rejected > len(s.rejected):
                lines.append(f"  ... and {s.n_rejected - len(s.rejected)} more")
    lines.append(f"imported into {args.project!r} in {elapsed:.2f} s")
    emit(args, [s.__dict__ for s in summaries], "\n".join(lines))
    return 0


# Exit status of an export that wrote files holding nothing useful (``ExportFormat.nothing_useful``): not 2, so
# a script can tell "nothing to export yet" from a failed export.
EXIT_NOTHING_USEFUL = 3


def _export_target(fmt: ExportFormat, out_arg: str, selection: str) -> Path:
    """Where ``--out`` puts an export of ``fmt``, as ``--help`` says; QuorumError, before anything is written,
    when ``--out`` is the wrong kind of path.

    One-file exports write that file; given an existing folder (or a path ending in ``/``) they write the
    format's own file name inside it. Folder exports (YOLO, YOLO_OBB, VOC and every per-annotator export)
    write into the folder, created if missing; an existing file there is refused; a path ending in ``.zip`` gets
    the folder packed as that zip (as the Export page hands it out).
    """
    out = Path(out_arg)
    if _is_folder_export(fmt, selection) and out.suffix.lower() == ".zip":
        if out.is_dir():
            raise QuorumError(f"--out {out} is a folder; a .zip --out is the archive to write; nothing was written")
        return out
    if _is_folder_export(fmt, selection):
        folder = out
        if fmt.layout == "file" and out.suffix == Path(fmt.filename or "").suffix:
            folder = out.with_suffix("")  # core.exports: coco.json gives coco/
        if folder.exists() and not folder.is_dir():
            what = (f"{fmt.name} writes a folder ({_FOLDER_LAYOUTS.get(fmt.name, '')})" if fmt.layout == "folder"
                    else f"{fmt.name} with every annotation (--selection all) writes a folder per annotator")
            way_out = ("" if fmt.layout == "folder"
                       else ", or --selection consensus for one file")
            raise QuorumError(f"--out {folder} is a file, and {what}: give a folder (created if missing){way_out}; "
                              "nothing was written")
        return out
    if out.is_dir() or out_arg.endswith(("/", os.sep)):
        return out / (fmt.filename or "result.json")
    if out.parent.exists() and not out.parent.is_dir():
        raise QuorumError(f"--out {out}: {out.parent} is a file, not a folder; nothing was written")
    return out


def _is_folder_export(fmt: ExportFormat, selection: str) -> bool:
    """Whether the export is a folder (a folder format, or one set per annotator)."""
    from core.exports import one_set_per_annotator

    return fmt.layout == "folder" or one_set_per_annotator(fmt, selection)


_FOLDER_LAYOUTS = {
    "YOLO": "classes.txt, notes.json, labels/<image>.txt",
    "YOLO_OBB": "classes.txt, notes.json, labels/<image>.txt",
    "VOC": "Annotations/<image>.xml",
}


def _export(args: argparse.Namespace) -> int:
    from core.exports import CONSENSUS_ONLY, SELECTIONS, default_selection, export_project
    from core.formats import get_format

    started = time.perf_counter()
    try:
        fmt = get_format(args.format)
    except ValueError as exc:
        raise QuorumError(str(exc)) from exc
    selection = args.selection or default_selection(fmt)
    out = _export_target(fmt, args.out, selection)
    zipped = _is_folder_export(fmt, selection) and out.suffix.lower() == ".zip"
    with uow_factory()() as uow:
        project_id = _project_id(uow, args.project)
        try:
            if zipped:  # the folder written beside the zip first, then packed as the Export page packs it
                out.parent.mkdir(parents=True, exist_ok=True)
                folder = Path(tempfile.mkdtemp(prefix=".quorum-export-", dir=out.parent))
                try:
                    written = export_project(uow, actor(uow, args), project_id=project_id, fmt=fmt.name,
                                             out=folder / "export", selection=selection)
                    empty_before_zip = fmt.nothing_useful(written.files)
                    archive = Path(shutil.make_archive(str(out.with_suffix("")), "zip", root_dir=written.path))
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                written = dataclasses.replace(written, path=archive, files=(archive,))
            else:
                written = export_project(uow, actor(uow, args), project_id=project_id, fmt=fmt.name, out=out,
                                         selection=selection)
                empty_before_zip = None
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise QuorumError(f"cannot write the export{where}: {exc.strerror or exc}") from exc
    lines = [f"exported {written.n_tasks} tasks as {fmt.name} ({SELECTIONS[selection].lower()}) to {written.path} "
             f"in {time.perf_counter() - started:.2f} s"]
    if written.sets:
        lines.append(f"one set per annotator under {written.path / 'by_annotator'}: {', '.join(written.sets)}")
    if written.n_left_out:
        why = "without ground truth or consensus" if selection == CONSENSUS_ONLY else "that nobody annotated"
        lines.append(f"{written.n_left_out} tasks {why} were left out")
        if selection == CONSENSUS_ONLY and not written.n_tasks:
            lines.append("no task has a ground truth or consensus yet; --selection all writes every annotation "
                         "(one set per annotator in COCO, YOLO, YOLO_OBB, VOC and CONLL2003)")
    lines.extend(f"left out: {message}" for message in written.regions_left_out)
    print("\n".join(lines))
    empty = empty_before_zip if zipped else fmt.nothing_useful(written.files)
    if empty is not None:
        print(f"empty export: {args.project!r}: {empty}; the files written are kept at {written.path}",
              file=sys.stderr)
        return EXIT_NOTHING_USEFUL
    return 0


def _export_epilog(formats: Iterable[ExportFormat]) -> str:
    """What ``--out`` is for each format and the exit statuses, for ``export --help``."""
    formats = list(formats)
    one_file = [f for f in formats if f.layout == "file"]
    by_name: dict[str, list[str]] = {}
    for f in one_file:
        by_name.setdefault(f.filename or "result.json", []).append(f.name)
    names = ", ".join(f"{filename} ({', '.join(fmts)})" for filename, fmts in by_name.items())
    per_annotator = ", ".join(f.name for f in formats if f.one_set_per_annotator)

    def block(head: str, text: str) -> str:
        return textwrap.fill(text, width=100, initial_indent=f"  {head:<14}", subsequent_indent=" " * 16)

    return "\n".join([
        "--out, by format:",
        block("one file", f"{', '.join(f.name for f in one_file)}: --out is the file (reviews.json), its folder "
                          "created if missing. An existing folder, or a path ending in /, gets the format's own "
                          f"file name inside it: {names}."),
        block("a folder", f"{', '.join(f.name for f in formats if f.layout == 'folder')}: --out is the folder, "
                          "created if missing; a path ending in .zip (yolo.zip) gets the folder packed as that zip, "
                          "as the Export page hands it out (so do per-annotator exports)."),
        block("per annotator", f"--selection all with {per_annotator}: --out is a folder holding annotators.json "
                               "and by_annotator/<annotator>/ in the format's layout; a one-file format's own "
                               "suffix is dropped (--format COCO --out coco.json writes the folder coco/)."),
        block("wrong kind", "a folder asked for where a file exists is refused (exit status 2, nothing written)."),
        "",
        "exit status:",
        block("0", "exported."),
        block("2", "error: unknown project or format, --out of the wrong kind ...; nothing written."),
        block(str(EXIT_NOTHING_USEFUL),
              "exported, but the files hold nothing useful: COCO, YOLO, YOLO_OBB or VOC without a labelled "
              "region, ASR_MANIFEST without a transcript (for a per-annotator export: in no set). The reason "
              "goes to stderr; the files are kept (valid, only empty)."),
    ])


def _import_labels(args: argparse.Namespace) -> int:
    from core.crowd_labels import import_crowd_labels

    with uow_factory()() as uow:
        summary = import_crowd_labels(
            uow,
            actor(uow, args),
            project_title=args.project,
            labels_path=Path(args.labels),
            gold_path=Path(args.gold) if args.gold else None,
        )
        uow.commit()
    emit(
        args,
        summary.__dict__,
        f"{summary.project_title!r}: {summary.n_tasks} tasks, {summary.n_labels} labels by {summary.n_workers} "
        f"workers, {summary.n_gold} gold; labels: {', '.join(summary.labels)}",
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser(
        "import",
        help="import task files into a project (all files or none)",
        description="Import JSON, JSON lines, CSV, TSV, TXT or media files; all-or-nothing.\n\n"
        "example: python cli.py import 'Reviews' tasks.json more.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("project", help="project title")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--data-key", help="data field for TXT lines and media files (default: the config's)")
    imp.add_argument("--skip-invalid", action="store_true",
                     help="import the valid tasks and list the skipped ones with their reason (default: a file "
                          "with any invalid task is refused whole)")
    imp.add_argument("--users", metavar="USERS.json",
                     help="the Label Studio instance's user table (the JSON list GET /api/users gives): annotations "
                          "naming their author by id alone go to the account with that user's e-mail")
    imp.add_argument("--json", action="store_true")
    add_actor_option(imp)
    imp.set_defaults(handler=_import)
    from core.formats import FORMATS

    exp = sub.add_parser(
        "export",
        help="export a project's tasks and annotations",
        description="Export in Label Studio's layouts.\n\nexample: python cli.py export 'Reviews' --format JSON "
        "--out reviews.json\n         python cli.py export 'Street photos' --format YOLO --selection all --out yolo/",
        epilog=_export_epilog(FORMATS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    exp.add_argument("project", help="project title")
    exp.add_argument("--format", default="JSON", type=str.upper, help=f"one of {FORMAT_NAMES}")
    exp.add_argument("--out", required=True,
                     help="output file (one-file formats) or folder (folder formats and every per-annotator "
                          "export): see --out by format below")
    exp.add_argument(
        "--selection", choices=("all", "consensus"),
        help="all: every annotation with its author (COCO, YOLO, YOLO_OBB, VOC and CONLL2003 write one set per "
             "annotator, out/by_annotator/<annotator>/); consensus: one result per task, its ground truth, else its "
             "consensus (tasks with neither are left out). Default: consensus for COCO, YOLO, YOLO_OBB, VOC and "
             "CONLL2003, all for the others",
    )
    add_actor_option(exp)
    exp.set_defaults(handler=_export)
    labels = sub.add_parser(
        "import-labels",
        help="load crowd labels (task,worker,label) into a project, with optional gold",
        description="Load labels made elsewhere; the project is created when missing.\n\n"
        "example: python cli.py import-labels 'RTE' ../shared/datasets/rte/labels.csv "
        "--gold ../shared/datasets/rte/gold.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    labels.add_argument("project", help="project title (created when missing)")
    labels.add_argument("labels", metavar="LABELS.csv")
    labels.add_argument("--gold", metavar="GOLD.csv")
    labels.add_argument("--json", action="store_true")
    add_actor_option(labels)
    labels.set_defaults(handler=_import_labels)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through cli.py")
