"""Pascal VOC export: ``Annotations/<image>.xml`` per image, as label-studio-sdk 2.1.2's ``convert_to_voc``.

Pixel coordinates are truncated with ``int()`` and rotation is ignored, as in Label Studio; the image size
is the first sized region's ``original_width/height`` (images are not downloaded, so ``depth`` is 3).
"""
from __future__ import annotations

import posixpath
import xml.dom.minidom
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.formats.geometry import IMAGES_DIR, UniqueStems, exported_image_path, image_stem
from core.formats.records import (
    AnnotationRecord,
    UnusableRegion,
    annotator_of,
    finite,
    iter_annotation_records,
    label_names,
    number_of,
    skip_annotation,
    skip_region,
)
from core.formats.schema import ExportSchema

IMAGE_DEPTH = 3


def voc_document(record: AnnotationRecord, image_name: str, regions: list[dict[str, Any]]) -> xml.dom.minidom.Document:
    """The VOC ``<annotation>`` of one annotation's rectangles (``regions`` must have a size: the first sized
    one's ``original_width/height``, numbers). A rectangle whose label or box is not usable is left out (and
    logged)."""
    sized = _sized(regions)
    assert sized is not None, "voc_document needs a region with the image's size"
    width, height = sized["original_width"], sized["original_height"]
    doc = xml.dom.minidom.getDOMImplementation().createDocument(None, "annotation", None)
    root = doc.documentElement

    def child(parent: Any, tag: str, text: str) -> None:
        node = doc.createElement(tag)
        node.appendChild(doc.createTextNode(text))
        parent.appendChild(node)

    def group(parent: Any, tag: str) -> Any:
        node = doc.createElement(tag)
        parent.appendChild(node)
        return node

    child(root, "folder", IMAGES_DIR)
    child(root, "filename", image_name)
    source = group(root, "source")
    for tag, text in (("database", "MyDatabase"), ("annotation", "COCO2017"), ("image", "flickr"), ("flickrid", "NULL")):
        child(source, tag, text)
    child(source, "annotator", str(annotator_of(record, "")))
    owner = group(root, "owner")
    child(owner, "flickrid", "NULL")
    child(owner, "name", "Label Studio")
    size = group(root, "size")
    child(size, "width", str(width))
    child(size, "height", str(height))
    child(size, "depth", str(IMAGE_DEPTH))
    child(root, "segmented", "0")
    for region in regions:
        key = "rectanglelabels" if "rectanglelabels" in region else ("labels" if "labels" in region else None)
        if key is None or not region[key] or not all(k in region for k in ("x", "y", "width", "height")):
            continue
        try:
            label_names(region, key)
            x, y, w, h = _pixel_box(region, width, height)
        except UnusableRegion as problem:
            skip_region("VOC", record, region, problem)
            continue
        obj = group(root, "object")
        child(obj, "name", region[key][0])
        child(obj, "pose", "Unspecified")
        child(obj, "truncated", "0")
        child(obj, "difficult", "0")
        box = group(obj, "bndbox")
        for tag, number in (("xmin", x), ("ymin", y), ("xmax", x + w), ("ymax", y + h)):
            child(box, tag, str(number))
    return doc


def _sized(regions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first region that carries the image's ``original_width/height`` (None without one)."""
    return next((r for r in regions if "original_width" in r and "original_height" in r), None)


def _pixel_box(region: dict[str, Any], width: float, height: float) -> tuple[int, int, int, int]:
    """``x, y, w, h`` in whole pixels (truncated, as the converter does); UnusableRegion for non-numbers."""
    px, py, pw, ph = (number_of(region, key) for key in ("x", "y", "width", "height"))
    box = (px / 100 * width, py / 100 * height, pw / 100 * width, ph / 100 * height)
    finite("x, y, width, height", *box)
    x, y, w, h = (int(n) for n in box)
    return x, y, w, h


def export_voc(tasks: Iterable[dict[str, Any]], out_dir: Path, *, schema: ExportSchema) -> list[Path]:
    """Write ``out_dir/Annotations/<image>.xml`` for each annotated image; return the written paths.

    An image annotated several times keeps the file of the last annotation written (the oldest), as in
    Label Studio.
    """
    annotations_dir = out_dir / "Annotations"
    annotations_dir.mkdir(parents=True, exist_ok=True)
    data_key = schema.data_keys[0] if schema.data_keys else None
    written: dict[Path, None] = {}
    stems = UniqueStems()
    for record in iter_annotation_records(tasks, schema):
        regions = [value for values in record.outputs.values() for value in values]
        # The image's size, which every box is scaled by: the first region that has one. (The converter reads
        # only the first region's, so a task whose first result is an image-level choice lost all its boxes.)
        sized = _sized(regions)
        if sized is None:
            continue
        try:
            number_of(sized, "original_width"), number_of(sized, "original_height")
        except UnusableRegion as problem:
            skip_annotation("VOC", record, sized, problem)
            continue
        image_name = posixpath.basename(exported_image_path(record.data.get(data_key, "") if data_key else ""))
        # cut to fit a file name, like YOLO's; unique per task (UniqueStems)
        path = annotations_dir / (stems.stem(record.task_id, image_stem(image_name)) + ".xml")
        with path.open("w", encoding="utf-8") as out:
            voc_document(record, image_name, regions).writexml(out, addindent="", newl="\n", encoding="utf-8")
        written[path] = None
    return list(written)
