"""Pure conversions between Label Studio image geometry and streamlit-drawable-canvas (Fabric.js) objects.

Label Studio stores image regions in *percent of the original image* (``x_pct = px / original_width *
100``), after EXIF orientation, with ``rotation`` in degrees clockwise around the rectangle's top-left
corner (``label-studio-formats.md`` section b). The canvas works in *canvas pixels* of a possibly
downscaled display copy, placed by an :class:`ImageFit`. Zooming in only makes that copy and its canvas
larger (:func:`zoomed_size`), so the fit changes and the stored percentages do not. Nothing here imports
Streamlit, so the round trips are unit-tested directly (``tests/pages/test_geometry_convert.py``).

Fabric gotchas handled here (``streamlit-notes.md`` section 2): ``left``/``top`` are the position of
the object's *origin point* (``originX``/``originY``: left|center|right, top|center|bottom), objects
without an origin are placed by their centre, sizes must be multiplied by ``scaleX``/``scaleY``, a
point comes back as a ``Circle`` whose visible centre is ``left + radius*scaleX + strokeWidth/2``, and a
polygon's ``points`` are relative to its own bounding-box centre once it has been moved.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ORIGIN_OFFSET = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}
RECT_TYPES = frozenset({"rect", "labeledrect"})
POLYGON_TYPES = frozenset({"polygon", "polyline"})
POINT_TYPES = frozenset({"circle"})

Point = tuple[float, float]
ZOOM_LEVELS = (1.0, 1.5, 2.0, 3.0, 4.0)
MAX_CANVAS_SIDE = 4096


@dataclass(frozen=True)
class ImageFit:
    """Where the original image sits on the canvas: ``canvas_px = offset + original_px * scale``.

    ``original_width``/``original_height`` are the EXIF-transposed pixel size that Label Studio's
    ``original_width``/``original_height`` hold.
    """

    original_width: int
    original_height: int
    scale_x: float
    scale_y: float
    offset_x: float = 0.0
    offset_y: float = 0.0

    @classmethod
    def stretched(cls, original_width: int, original_height: int, display_width: int,
                  display_height: int) -> ImageFit:
        """The fit of an image drawn over the whole ``display_width x display_height`` canvas."""
        if min(original_width, original_height, display_width, display_height) <= 0:
            raise ValueError(f"sizes must be positive, got original {original_width}x{original_height}, "
                             f"display {display_width}x{display_height}")
        return cls(original_width, original_height, display_width / original_width,
                   display_height / original_height)

    @classmethod
    def contained(cls, original_width: int, original_height: int, canvas_width: int,
                  canvas_height: int) -> ImageFit:
        """The fit of an image scaled to fit inside the canvas, aspect ratio kept, centred: what the canvas
        package's ``background_image_fit="contain"`` does (its ``backgroundFit``), for any canvas size."""
        if min(original_width, original_height, canvas_width, canvas_height) <= 0:
            raise ValueError(f"sizes must be positive, got original {original_width}x{original_height}, "
                             f"canvas {canvas_width}x{canvas_height}")
        scale = min(canvas_width / original_width, canvas_height / original_height)
        return cls(original_width, original_height, scale, scale,
                   (canvas_width - original_width * scale) / 2, (canvas_height - original_height * scale) / 2)

    def to_canvas(self, x_pct: float, y_pct: float) -> Point:
        """Canvas pixels of a point given in percent of the original image."""
        return (self.offset_x + x_pct / 100.0 * self.original_width * self.scale_x,
                self.offset_y + y_pct / 100.0 * self.original_height * self.scale_y)

    def to_pct(self, x: float, y: float) -> Point:
        """Percent of the original image of a point given in canvas pixels."""
        return ((x - self.offset_x) / self.scale_x / self.original_width * 100.0,
                (y - self.offset_y) / self.scale_y / self.original_height * 100.0)

    def width_to_canvas(self, w_pct: float) -> float:
        return w_pct / 100.0 * self.original_width * self.scale_x

    def height_to_canvas(self, h_pct: float) -> float:
        return h_pct / 100.0 * self.original_height * self.scale_y

    def width_to_pct(self, w: float) -> float:
        return w / self.scale_x / self.original_width * 100.0

    def height_to_pct(self, h: float) -> float:
        return h / self.scale_y / self.original_height * 100.0


def display_size(original_width: int, original_height: int, *, max_width: int,
                 max_height: int | None = None) -> tuple[int, int]:
    """The size an image is shown at: downscaled (never upscaled) to fit, aspect ratio kept."""
    if original_width <= 0 or original_height <= 0:
        raise ValueError(f"image size must be positive, got {original_width}x{original_height}")
    factor = min(1.0, max_width / original_width)
    if max_height is not None:
        factor = min(factor, max_height / original_height)
    return max(1, round(original_width * factor)), max(1, round(original_height * factor))


def zoomed_size(width: int, height: int, zoom: float, *, max_side: int = MAX_CANVAS_SIDE) -> tuple[int, int]:
    """The canvas size of a ``width x height`` view zoomed by ``zoom``, aspect ratio kept; the zoom is
    lowered so that no side grows past ``max_side`` (a view already larger is never shrunk)."""
    if width <= 0 or height <= 0 or zoom <= 0:
        raise ValueError(f"size and zoom must be positive, got {width}x{height} at {zoom}")
    factor = min(zoom, max(1.0, max_side / max(width, height)))
    return max(1, round(width * factor)), max(1, round(height * factor))


def step_zoom(current: float, step: int, levels: tuple[float, ...] = ZOOM_LEVELS) -> float:
    """The zoom level ``step`` levels above (below, when negative) ``current``, kept within ``levels``."""
    ordered = sorted(levels)
    here = min(range(len(ordered)), key=lambda i: abs(ordered[i] - current))
    return ordered[min(len(ordered) - 1, max(0, here + step))]


def clamp_pct(value: float) -> float:
    return min(100.0, max(0.0, value))


# --- rectangles -----------------------------------------------------------------------------------

def rect_to_canvas(fit: ImageFit, value: dict[str, Any]) -> dict[str, float]:
    """A Label Studio rectangle value -> ``{left, top, width, height, angle}`` in canvas pixels.

    The result is top-left anchored (``originX="left"``, ``originY="top"``), so Fabric rotates it
    around the same corner Label Studio does.
    """
    left, top = fit.to_canvas(float(value.get("x", 0)), float(value.get("y", 0)))
    return {"left": left, "top": top,
            "width": fit.width_to_canvas(float(value.get("width", 0))),
            "height": fit.height_to_canvas(float(value.get("height", 0))),
            "angle": float(value.get("rotation", 0) or 0)}


def canvas_to_rect(fit: ImageFit, *, left: float, top: float, width: float, height: float,
                   angle: float = 0.0) -> dict[str, float]:
    """A top-left anchored canvas box -> Label Studio ``{x, y, width, height, rotation}`` in percent."""
    x, y = fit.to_pct(left, top)
    return {"x": x, "y": y, "width": fit.width_to_pct(width), "height": fit.height_to_pct(height),
            "rotation": angle % 360}


def fabric_rect_box(obj: dict[str, Any]) -> dict[str, float]:
    """The top-left anchored ``{left, top, width, height, angle}`` of a Fabric Rect/LabeledRect.

    Applies ``scaleX``/``scaleY`` and moves ``left``/``top`` from the object's origin point to its
    top-left corner, rotating the offset by ``angle`` (Fabric rotates about the origin point). The
    stroke is ignored, as ``CanvasResult.boxes`` does.
    """
    width = float(obj.get("width", 0)) * float(obj.get("scaleX", 1))
    height = float(obj.get("height", 0)) * float(obj.get("scaleY", 1))
    angle = float(obj.get("angle", 0) or 0)
    dx = -ORIGIN_OFFSET[obj.get("originX", "left")] * width
    dy = -ORIGIN_OFFSET[obj.get("originY", "top")] * height
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return {"left": float(obj.get("left", 0)) + dx * cos - dy * sin,
            "top": float(obj.get("top", 0)) + dx * sin + dy * cos,
            "width": width, "height": height, "angle": angle}


# --- polygons -------------------------------------------------------------------------------------

def polygon_to_canvas(fit: ImageFit, points_pct: list[list[float]]) -> list[Point]:
    return [fit.to_canvas(float(x), float(y)) for x, y in points_pct]


def canvas_to_polygon(fit: ImageFit, points: list[Point]) -> list[list[float]]:
    return [list(fit.to_pct(x, y)) for x, y in points]


def fabric_polygon_points(obj: dict[str, Any]) -> list[Point]:
    """Absolute canvas points of a Fabric Polygon, after any move, scale or rotation.

    Fabric keeps ``points`` as drawn and positions the shape by its bounding-box centre; the absolute
    point is ``centre + R(angle) * (scale * (p - bbox_centre(points)))``.
    """
    raw = [(float(p["x"]), float(p["y"])) for p in obj.get("points", [])]
    if not raw:
        return []
    xs, ys = [p[0] for p in raw], [p[1] for p in raw]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    sx, sy = float(obj.get("scaleX", 1)), float(obj.get("scaleY", 1))
    angle = math.radians(float(obj.get("angle", 0) or 0))
    cos, sin = math.cos(angle), math.sin(angle)
    # Full box size as Fabric measures it (stroke included); only matters for non-centre origins.
    stroke = float(obj.get("strokeWidth", 0) or 0)
    box_w = float(obj.get("width", max(xs) - min(xs))) * sx + stroke
    box_h = float(obj.get("height", max(ys) - min(ys))) * sy + stroke
    ox = (0.5 - ORIGIN_OFFSET[obj.get("originX", "center")]) * box_w
    oy = (0.5 - ORIGIN_OFFSET[obj.get("originY", "center")]) * box_h
    centre_x = float(obj.get("left", cx)) + ox * cos - oy * sin
    centre_y = float(obj.get("top", cy)) + ox * sin + oy * cos
    out = []
    for x, y in raw:
        dx, dy = (x - cx) * sx, (y - cy) * sy
        out.append((centre_x + dx * cos - dy * sin, centre_y + dx * sin + dy * cos))
    return out


# --- key points -----------------------------------------------------------------------------------

def keypoint_to_canvas(fit: ImageFit, value: dict[str, Any]) -> Point:
    return fit.to_canvas(float(value.get("x", 0)), float(value.get("y", 0)))


def canvas_to_keypoint(fit: ImageFit, x: float, y: float, *, radius: float,
                       zoom: float = 1.0) -> dict[str, float]:
    """A canvas point -> Label Studio ``{x, y, width}``; ``width`` is the point size in percent.

    ``fit`` places the image on a canvas zoomed by ``zoom``, where a point is drawn with the same
    on-screen ``radius`` at every zoom: its size is stored as seen unzoomed, so it does not depend on the
    zoom it was drawn at.
    """
    x_pct, y_pct = fit.to_pct(x, y)
    return {"x": x_pct, "y": y_pct, "width": fit.width_to_pct(radius * zoom)}


def keypoint_radius(fit: ImageFit, value: dict[str, Any], *, zoom: float = 1.0) -> float | None:
    """The canvas radius that shows a key point's stored ``width`` on a canvas zoomed by ``zoom`` (the
    inverse of :func:`canvas_to_keypoint`), or None when the point has no width."""
    width = value.get("width")
    return fit.width_to_canvas(float(width)) / zoom if width else None


def fabric_circle_center(obj: dict[str, Any]) -> Point:
    """The visible centre of a Fabric Circle (the canvas's ``point`` tool draws one).

    The point tool returns ``originX="left"``, ``originY="center"``; a click at x=500 gave
    ``left=493.5`` with radius 3 and stroke 7, so the centre is ``left + radius*scaleX + stroke/2``.
    """
    radius = float(obj.get("radius", 0))
    stroke = float(obj.get("strokeWidth", 0) or 0)
    full_w = 2 * radius * float(obj.get("scaleX", 1)) + stroke
    full_h = 2 * radius * float(obj.get("scaleY", 1)) + stroke
    return (float(obj.get("left", 0)) + (0.5 - ORIGIN_OFFSET[obj.get("originX", "left")]) * full_w,
            float(obj.get("top", 0)) + (0.5 - ORIGIN_OFFSET[obj.get("originY", "top")]) * full_h)


# --- Fabric objects and their comparison ----------------------------------------------------------

def shape_kind(obj: dict[str, Any]) -> str | None:
    """``"rect"``, ``"polygon"`` or ``"point"`` for a Fabric object; None for anything else."""
    kind = str(obj.get("type", "")).lower()
    if kind in RECT_TYPES:
        return "rect"
    if kind in POLYGON_TYPES:
        return "polygon"
    if kind in POINT_TYPES:
        return "point"
    return None


def shape_signature(obj: dict[str, Any]) -> tuple[str, tuple[float, ...]] | None:
    """``(kind, canvas coordinates)`` of a Fabric object, comparable across canvas round trips."""
    kind = shape_kind(obj)
    if kind == "rect":
        box = fabric_rect_box(obj)
        return kind, (box["left"], box["top"], box["width"], box["height"], box["angle"])
    if kind == "polygon":
        return kind, tuple(c for p in fabric_polygon_points(obj) for c in p)
    if kind == "point":
        return kind, fabric_circle_center(obj)
    return None


def same_shape(a: tuple[str, tuple[float, ...]], b: tuple[str, tuple[float, ...]], *,
               tolerance_px: float = 0.6) -> bool:
    """Whether two signatures are the same shape; Fabric rounds its JSON to 2 decimals."""
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(
        abs(x - y) <= tolerance_px for x, y in zip(a[1], b[1], strict=True))


def rect_object(box: dict[str, float], *, label: str, stroke: str, fill: str, stroke_width: float,
                font_size: int = 14) -> dict[str, Any]:
    """A top-left anchored Fabric ``LabeledRect`` (see ``boxes_to_drawing`` in the canvas package)."""
    return {"type": "LabeledRect", "label": label, "left": box["left"], "top": box["top"],
            "width": box["width"], "height": box["height"], "angle": box.get("angle", 0.0),
            "originX": "left", "originY": "top", "scaleX": 1, "scaleY": 1, "stroke": stroke,
            "strokeWidth": stroke_width, "fill": fill, "strokeUniform": True, "lockRotation": True,
            "fontSize": font_size}


def polygon_object(points: list[Point], *, stroke: str, fill: str, stroke_width: float) -> dict[str, Any]:
    """A Fabric ``Polygon`` placed by its bounding-box centre, so ``points`` are absolute."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return {"type": "Polygon", "points": [{"x": x, "y": y} for x, y in points],
            "left": (min(xs) + max(xs)) / 2, "top": (min(ys) + max(ys)) / 2,
            "originX": "center", "originY": "center", "scaleX": 1, "scaleY": 1, "angle": 0,
            "stroke": stroke, "strokeWidth": stroke_width, "fill": fill, "strokeUniform": True}


def point_object(centre: Point, *, radius: float, stroke: str, fill: str,
                 stroke_width: float) -> dict[str, Any]:
    """A Fabric ``Circle`` centred on ``centre``."""
    return {"type": "Circle", "left": centre[0], "top": centre[1], "radius": radius,
            "originX": "center", "originY": "center", "scaleX": 1, "scaleY": 1, "angle": 0,
            "stroke": stroke, "strokeWidth": stroke_width, "fill": fill}


# --- following canvas objects across reruns -------------------------------------------------------

Signature = tuple[str, tuple[float, ...]]


@dataclass(frozen=True)
class ShapeMatch:
    """How the canvas objects of this run relate to the ones seen last run.

    ``ids[i]`` is the region id of current object ``i`` (None: a new object); ``moved`` the ids whose
    geometry changed; ``deleted`` the ids no current object stands for.
    """

    ids: list[str | None]
    moved: set[str]
    deleted: list[str]


def match_shapes(seen: list[tuple[str, Signature]], current: list[Signature | None]) -> ShapeMatch:
    """Follow regions through one canvas change, without relying on object order.

    Fabric's JSON has no room for our ids, and the toolbar can delete, reorder (bring forward / send
    backward), undo and redo. Each canvas send carries one user change, so: objects whose geometry is
    unchanged keep their id (in order among equals); of the rest, same-kind objects pair up in order
    (a move or resize); leftovers are new objects or deleted regions.
    """
    ids: list[str | None] = [None] * len(current)
    free = list(range(len(seen)))
    for i, sig in enumerate(current):
        if sig is None:
            continue
        for j in free:
            if same_shape(seen[j][1], sig):
                ids[i] = seen[j][0]
                free.remove(j)
                break
    moved: set[str] = set()
    for i, sig in enumerate(current):
        if sig is None or ids[i] is not None:
            continue
        for j in free:
            if seen[j][1][0] == sig[0]:
                ids[i] = seen[j][0]
                moved.add(seen[j][0])
                free.remove(j)
                break
    return ShapeMatch(ids=ids, moved=moved, deleted=[seen[j][0] for j in free])
