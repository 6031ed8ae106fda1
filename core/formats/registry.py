"""The export formats by name: what each writes, where, and which configs it applies to.

One :class:`ExportFormat` per format, so the export page lists ``supported_formats(schema)`` and the CLI
and export service call ``fmt.export(tasks, out_dir, schema=...)`` without a chain of ``if name == ...``.
The applicability rules are Label Studio's (``Converter._get_supported_formats``, formats doc section d):
Label Studio lists every format and greys out those the config cannot fill; we do the same.
"""
from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any, Literal

from core.formats.asr import export_asr_manifest
from core.formats.coco import export_coco
from core.formats.conll import export_conll
from core.formats.schema import ExportSchema
from core.formats.voc import export_voc
from core.formats.writers_ls import write_csv, write_json, write_json_min, write_tsv
from core.formats.yolo import export_yolo, export_yolo_obb
from core.tags import behaviour_of

Tasks = Iterable[dict[str, Any]]
FolderWriter = Callable[..., list[Path]]


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    ``layout`` is "file" (one file named ``filename`` inside the output folder) or "folder" (several files);
    ``needs`` says in words which tags it needs (shown when it is greyed out); ``applies_to`` decides it.
    ``one_set_per_annotator``: the format has no place for an annotation's author and holds one answer per
    item (COCO, YOLO, YOLO OBB, VOC: per image; CoNLL 2003: per sentence, whose only header line is
    ``-DOCSTART- -X- O``), so an export of every annotation writes one set per annotator (``core.exports``)
    and the export pages offer "consensus and ground truth" first. The writer itself is unchanged: given
    one annotation per task it writes what Label Studio's converter writes.
    """

    name: str
    title: str
    layout: Literal["file", "folder"]
    filename: str | None
    needs: str
    applies_to: Callable[[ExportSchema], bool]
    writer: FolderWriter
    one_set_per_annotator: bool = False
    emptiness: Callable[[list[_Written]], bool] | None = None

    def nothing_useful(self, files: Iterable[Path]) -> str | None:
        """Why the written ``files`` hold nothing useful (an empty COCO, label files without a line, a
        manifest without a transcript), None when they hold something or the format has no such check.

        ``files`` are what :func:`core.exports.export_project` wrote (``ExportResult.files``) or the zip
        :func:`core.exports.export_for_download` made of them. A per-annotator export holds nothing useful when
        no set does (also when there is no set: nobody annotated)."""
        if self.emptiness is None:
            return None
        with contextlib.ExitStack() as stack:
            if not self.emptiness(_written(files, stack)):
                return None
        return f"{self.title} export holds nothing: {_EMPTY_REASONS.get(self.name, 'no item was written')}"

    def export(self, tasks: Tasks, out_dir: Path, *, schema: ExportSchema) -> list[Path]:
        """Write ``tasks`` into ``out_dir`` in this format's layout; return the paths written."""
        return self.writer(tasks, Path(out_dir), schema=schema)


def _file_writer(filename: str, write: Callable[..., int], *, csv_like: bool = False) -> FolderWriter:
    """Adapt a stream writer ``write(tasks, out, schema=...)`` to the folder layout."""

    def export(tasks: Tasks, out_dir: Path, *, schema: ExportSchema) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / filename
        with path.open("w", encoding="utf-8", newline="" if csv_like else None) as out:
            write(tasks, out, schema=schema)
        return [path]

    return export


def _write_json(tasks: Tasks, out: IO[str], *, schema: ExportSchema) -> int:
    return write_json(tasks, out)


def _any(schema: ExportSchema) -> bool:
    return True


def _single_data_key(schema: ExportSchema) -> bool:
    return len(schema.data_keys) <= 1


def _exporting(schema: ExportSchema, fmt: str) -> set[str]:
    """The config's control tags whose tag family exports to ``fmt`` (:attr:`core.tags.TagBehaviour.exports`)."""
    return {tag for tag in schema.control_tags if (b := behaviour_of(tag)) is not None and fmt in b.exports}


def _conll(schema: ExportSchema) -> bool:
    return _single_data_key(schema) and "Text" in schema.object_tags and bool(_exporting(schema, "CONLL2003"))


def _on_one_image(schema: ExportSchema) -> bool:
    return _single_data_key(schema) and not schema.has_value_list and "Image" in schema.object_tags


def _family_tags(schema: ExportSchema, family: str) -> set[str]:
    return {tag for tag in schema.control_tags if (b := behaviour_of(tag)) is not None and b.family == family}


# Tools that draw a region a separate ``Labels`` control names (results "rectangle"/"polygon"/"keypoint" plus
# "labels" with the same id), by the formats that can write their regions. VOC holds boxes only; key points go
# to COCO's keypoints annotation (YOLO pose needs a box per object, see _image_format).
_TOOLS_WITH_LABELS = {
    "COCO": {"Rectangle", "Polygon", "KeyPoint"}, "YOLO": {"Rectangle", "Polygon"}, "YOLO_OBB": {"Rectangle"},
    "VOC": {"Rectangle"},
}


def _tool_with_labels(schema: ExportSchema, fmt: str) -> bool:
    """A Rectangle/Polygon/KeyPoint tool and a Labels control on the same Image (Label Studio's converter
    exports those results through their ``labels`` result, which carries the region's geometry)."""
    images = {obj.name for obj in schema.objects if obj.tag == "Image"}
    tools = {name for c in schema.controls if c.tag in _TOOLS_WITH_LABELS.get(fmt, ()) for name in c.to_names}
    labelled = {name for c in schema.controls if c.tag == "Labels" for name in c.to_names}
    return bool(images & tools & labelled)


def _image_format(fmt: str) -> Callable[[ExportSchema], bool]:
    """Image formats: one image per task and a control exporting to ``fmt`` (or a drawing tool with a separate
    Labels control). COCO writes key points alone too (one keypoints annotation per image, bbox around the
    points). YOLO with key points writes pose lines, each a box with its points (``parentID``): it needs a box
    control too (one exporting VOC). A box around all of an image's points is no object's box (it would merge
    every person or object in the image into one), so a keypoints-only config gets no YOLO, as in Label Studio."""

    def applies(schema: ExportSchema) -> bool:
        if not (_on_one_image(schema) and (_exporting(schema, fmt) or _tool_with_labels(schema, fmt))):
            return False
        return (fmt != "YOLO" or not _family_tags(schema, "keypoints") or bool(_exporting(schema, "VOC"))
                or _tool_with_labels(schema, "VOC"))

    return applies


def _asr(schema: ExportSchema) -> bool:
    return (
        _single_data_key(schema)
        and bool(schema.object_tags & {"Audio", "AudioPlus"})
        and bool(_exporting(schema, "ASR_MANIFEST"))
    )


_EMPTY_REASONS = {
    "COCO": "no task has a labelled region (box, polygon or key point)",
    "YOLO": "no task has a labelled region (box, polygon or key point)",
    "YOLO_OBB": "no task has a labelled rotated box",
    "VOC": "no task has a labelled box",
    "ASR_MANIFEST": "no task has a transcript",
}


class _Written:
    """One file an export wrote, on disk or inside the zip the export page hands out, as the emptiness checks
    read it: its name, suffix and folder, its size, its bytes or their end."""

    def __init__(self, path: PurePath, size: Callable[[], int], opener: Callable[[], IO[bytes]]) -> None:
        self.path, self.name, self.suffix, self.parent = path, path.name, path.suffix, path.parent
        self._size, self._open = size, opener

    @classmethod
    def on_disk(cls, path: Path) -> _Written:
        return cls(path, lambda: path.stat().st_size, lambda: path.open("rb"))

    @classmethod
    def in_zip(cls, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Written:
        return cls(PurePosixPath(info.filename), lambda: info.file_size, lambda: archive.open(info))

    @property
    def size(self) -> int:
        return self._size()

    def read_bytes(self) -> bytes:
        with self._open() as f:
            return f.read()

    def tail(self, n: int) -> bytes:
        with self._open() as f:
            f.seek(max(0, self.size - n))
            return f.read()


def _coco_empty(files: list[_Written]) -> bool:
    """Every COCO file without annotations (:func:`core.formats.coco.write_coco` writes ``\n"annotations": []``;
    no JSON string holds a raw newline, so only that key can match). Every written file is a COCO result: the
    export renames ``result.json`` to the file asked for; a per-annotator export has one per set."""
    return all(b'\n"annotations": []' in path.tail(4096) for path in files)


def _label_files_empty(files: list[_Written]) -> bool:
    """No YOLO label file (``labels/<image>.txt`` beside ``classes.txt``) holds a line."""
    roots = {p.parent for p in files if p.name == "classes.txt"}
    return not any(p.parent.name == "labels" and p.parent.parent in roots and p.size for p in files)


def _voc_empty(files: list[_Written]) -> bool:
    return not any(p.suffix == ".xml" and b"<object>" in p.read_bytes() for p in files)


def _manifest_empty(files: list[_Written]) -> bool:
    """Every manifest written is empty (the export renames ``manifest.json`` to the file asked for)."""
    return not any(p.size for p in files)


def _written(files: Iterable[Path], stack: contextlib.ExitStack) -> list[_Written]:
    """The files an export wrote, those inside a zip (the export page's download) read from it; without the
    per-annotator index ``annotators.json``, which holds no annotation."""
    written: list[_Written] = []
    for path in map(Path, files):
        if path.suffix == ".zip" and zipfile.is_zipfile(path):
            archive = stack.enter_context(zipfile.ZipFile(path))
            written.extend(_Written.in_zip(archive, info) for info in archive.infolist() if not info.is_dir())
        else:
            written.append(_Written.on_disk(path))
    return [w for w in written if w.name != "annotators.json"]


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("JSON", "JSON", "file", "result.json", "any config", _any, _file_writer("result.json", _write_json)),
        ExportFormat(
            "JSON_MIN", "JSON-MIN", "file", "result.json", "any config", _any, _file_writer("result.json", write_json_min)
        ),
        ExportFormat("CSV", "CSV", "file", "result.csv", "any config", _any, _file_writer("result.csv", write_csv, csv_like=True)),
        ExportFormat("TSV", "TSV", "file", "result.tsv", "any config", _any, _file_writer("result.tsv", write_tsv, csv_like=True)),
        ExportFormat(
            "CONLL2003", "CoNLL 2003", "file", "result.conll", "Text + Labels, one data key", _conll, export_conll,
            one_set_per_annotator=True,
        ),
        ExportFormat(
            "COCO", "COCO", "file", "result.json",
            "Image + RectangleLabels, PolygonLabels or KeyPointLabels, or a Rectangle, Polygon or KeyPoint tool with "
            "Labels (key points: one keypoints annotation per image)",
            _image_format("COCO"), export_coco, one_set_per_annotator=True, emptiness=_coco_empty,
        ),
        ExportFormat(
            "YOLO", "YOLO", "folder", None,
            "Image + RectangleLabels or PolygonLabels (or a Rectangle or Polygon tool with Labels); KeyPointLabels "
            "only with RectangleLabels (YOLO pose: each line is a box with its points; key points alone have no "
            "object box)",
            _image_format("YOLO"), export_yolo, one_set_per_annotator=True, emptiness=_label_files_empty,
        ),
        ExportFormat(
            "YOLO_OBB", "YOLOv8 OBB", "folder", None, "Image + RectangleLabels (rotated boxes)", _image_format("YOLO_OBB"),
            export_yolo_obb, one_set_per_annotator=True, emptiness=_label_files_empty,
        ),
        ExportFormat("VOC", "Pascal VOC XML", "folder", None, "Image + RectangleLabels", _image_format("VOC"), export_voc,
                     one_set_per_annotator=True, emptiness=_voc_empty),
        ExportFormat(
            "ASR_MANIFEST", "ASR manifest (NeMo)", "file", "manifest.json", "Audio + TextArea", _asr, export_asr_manifest,
            emptiness=_manifest_empty,
        ),
    )
}


def get_format(name: str) -> ExportFormat:
    """The format called ``name`` (case-insensitive); ValueError listing the valid names otherwise."""
    fmt = FORMATS.get(name.upper())
    if fmt is None:
        raise ValueError(f"unknown export format {name!r}; valid formats: {', '.join(FORMATS)}")
    return fmt


def supported_formats(schema: ExportSchema) -> list[ExportFormat]:
    """The formats this config can fill, in the registry's order."""
    return [fmt for fmt in FORMATS.values() if fmt.applies_to(schema)]


def format_names() -> list[str]:
    return list(FORMATS)

