"""Image geometry shared by the COCO, YOLO and VOC writers, and the exported names of images.

Coordinates follow Label Studio (formats doc section b): percentages of the original image, rectangle
``x, y`` the top-left corner before a clockwise ``rotation`` in degrees about that corner.
"""
from __future__ import annotations

import hashlib
import math
import posixpath
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

IMAGES_DIR = "images"
# URLs the converter can only resolve through a running Label Studio (uploads, local and cloud storage);
# without one it keeps them as they are.
_SERVER_ONLY_PREFIXES = ("/data/upload", "s3:", "gs:", "azure-blob:", "/storage-data/uploaded", "storage-data/uploaded")


def exported_image_path(url: Any, images_dir: str = IMAGES_DIR) -> str:
    """The image's path as Label Studio's converter writes it when it does not download images.

    Plain URLs and paths are cached as ``images/<md5(url)[:8]>__<basename>``; uploads (``/data/upload/...``),
    local-storage, cloud and storage-proxy URLs stay as they are. A list (``valueList``) uses its last item,
    like the YOLO converter.
    """
    if isinstance(url, list):
        url = url[-1] if url else ""
    url = str(url)
    fixed = "/data" + ("" if url.startswith("/") else "/") + url if url.startswith(("upload", "/upload")) else url
    is_local_storage = fixed.startswith("/data/") and "?d=" in fixed
    if is_local_storage or fixed.startswith(_SERVER_ONLY_PREFIXES) or urlparse(fixed).path.startswith(
        _SERVER_ONLY_PREFIXES[-2:]
    ):
        return url
    digest = hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()[:8]
    return posixpath.join(images_dir, f"{digest}__{posixpath.basename(urlparse(url).path)}")


def image_stem(path: str, limit: int = 251) -> str:
    """File name of ``path`` without extension, cut to ``limit`` bytes of UTF-8 (255 minus ".txt": file systems
    count a name's bytes, so 251 characters of "é" or "日" would not fit), never inside a character."""
    stem = posixpath.splitext(posixpath.basename(path))[0][:limit]
    encoded = stem.encode("utf-8", "surrogatepass")
    return stem if len(encoded) <= limit else encoded[:limit].decode("utf-8", "ignore")


class UniqueStems:
    """File stems (YOLO's ``labels/<stem>.txt``, VOC's ``Annotations/<stem>.xml``) unique per task.

    The converter names a task's file after its image alone, so two tasks whose images share a file name
    (``s3://b/set1/img.jpg``, ``s3://b/set2/img.jpg``) write the same file and the second overwrites the
    first. Here the first task keeps the converter's name; a later task whose name is taken gets its task id
    in front (``<task id>__<stem>``, then ``-2``, ``-3`` ... should that be taken too). Annotations of one
    task share their task's name, as in Label Studio (the oldest annotation's file remains).
    """

    def __init__(self) -> None:
        self._owner: dict[str, Any] = {}
        self._of_task: dict[tuple[Any, str], str] = {}

    def stem(self, task_id: Any, stem: str) -> str:
        key = (task_id if isinstance(task_id, (str, int)) else repr(task_id), stem)
        if key in self._of_task:
            return self._of_task[key]
        name = stem
        if name in self._owner:
            name = image_stem(f"{task_id}__{stem}")
            n = 2
            while name in self._owner:
                name = image_stem(f"{task_id}__{stem}-{n}")
                n += 1
        self._owner[name] = key
        self._of_task[key] = name
        return name


def rotated_rectangle_aabb(value: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """Axis-aligned ``(x, y, w, h)`` in percent enclosing a possibly rotated rectangle; None without x/y/w/h.

    This is the converter's ``rotated_rectangle`` formula verbatim (it rotates in percent space, which is
    exact only for square images), kept for output parity with Label Studio's COCO export. The values must be
    numbers (the writers check them); OverflowError for numbers whose squares pass the float range.
    """
    if not all(key in value for key in ("x", "y", "width", "height")):
        return None
    return box_aabb(value["x"], value["y"], value["width"], value["height"], value.get("rotation", 0.0))


def box_aabb(x: float, y: float, w: float, h: float, rotation: float) -> tuple[float, float, float, float]:
    """:func:`rotated_rectangle_aabb` of a box given by its numbers."""
    if abs(rotation) > 0:
        # atan(h / w) as the converter computes it; a box of zero width (where it divides by zero) stands upright.
        alpha = math.atan(h / w) if w else math.copysign(math.pi / 2, h)
        beta = math.pi * (rotation / 180)
        radius = math.sqrt((w / 2) ** 2 + (h / 2) ** 2)
        x0 = x - radius * (math.cos(math.pi - alpha - beta) - math.cos(math.pi - alpha)) + w / 2
        y0 = y + radius * (math.sin(math.pi - alpha - beta) - math.sin(math.pi - alpha)) + h / 2
        thetas = (alpha + beta, math.pi - alpha + beta, math.pi + alpha + beta, 2 * math.pi - alpha + beta)
        xs = [x0 + radius * math.cos(t) for t in thetas]
        ys = [y0 + radius * math.sin(t) for t in thetas]
        x, y = min(xs), min(ys)
        w, h = max(xs) - x, max(ys) - y
    return x, y, w, h


def rectangle_corners(value: dict[str, Any]) -> list[tuple[float, float]] | None:
    """The four corners, normalised 0-1, starting at the rotation anchor (YOLO OBB order).

    Rotation is applied in pixel space, as it must be for non-square images. None when the value lacks
    ``original_width/height``, ``x/y/width/height`` or ``rotation`` (the converter skips such boxes).
    """
    needed = ("original_width", "original_height", "x", "y", "width", "height", "rotation")
    if not all(key in value for key in needed):
        return None
    ow, oh = value["original_width"], value["original_height"]
    x, y = value["x"] / 100 * ow, value["y"] / 100 * oh
    w, h = value["width"] / 100 * ow, value["height"] / 100 * oh
    theta = math.radians(value.get("rotation", 0))
    cos, sin = math.cos(theta), math.sin(theta)
    corners = [(x, y), (x + w * cos, y + w * sin), (x + w * cos - h * sin, y + w * sin + h * cos), (x - h * sin, y + h * cos)]
    return [(cx / ow, cy / oh) for cx, cy in corners]


def polygon_area(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Shoelace area of a polygon given its vertex coordinates.

    The two dot products are summed separately, as the converter's numpy version does, so the floats agree
    to the last bit with Label Studio's export.
    """
    n = len(xs)
    forward = math.fsum(xs[i] * ys[i - 1] for i in range(n))
    backward = math.fsum(ys[i] * xs[i - 1] for i in range(n))
    return abs(forward - backward) / 2


def polygon_bbox(xs: Sequence[float], ys: Sequence[float]) -> list[float]:
    """``[x, y, w, h]`` of a polygon's axis-aligned bounding box."""
    x1, y1 = min(xs), min(ys)
    return [x1, y1, max(xs) - x1, max(ys) - y1]
