"""Image regions: boxes, polygons and key points drawn on streamlit-drawable-canvas 0.13.0.

How a labeler uses it: pick a label (buttons, with the label hotkeys; the coloured edge is the label's
colour), then draw on the image -- drag for a box, click vertices and click the first one again for a
polygon, click for a key point. Delete or Backspace removes the selected region (a new region is
selected; not while typing in a field). The canvas toolbar, above the canvas, has undo/redo, the pencil
(move/resize mode, with "Delete selected") and the bin, which deletes all regions. Zoom (100-400 %, or
Ctrl + wheel over the image) shows a larger canvas in a scrolling view: scroll, or turn on Pan and drag,
to move around. Below, every region has Select/Delete buttons; the selected region is outlined thicker
and its label and per-region answers are edited in the panel. "Undo last change" is a server-side undo
of any change, the keyboard and bin deletions included.

How it works: the canvas is drawn from ``initial_drawing``, rebuilt from the result items whenever
Python changes them (delete, relabel, select, undo); the canvas reloads only when that JSON changes.
Each canvas send is matched to the regions seen last time by geometry
(:func:`geometry_convert.match_shapes`), since Fabric's JSON cannot carry our region ids. Geometry is
converted with :class:`geometry_convert.ImageFit` between canvas pixels of the (resized, EXIF
transposed) display copy and Label Studio percent of the original image; a region whose canvas shape
did not change keeps its stored values exactly. Zooming resizes the display copy (from the original, so
it gets sharper) and the canvas, and so the fit: stored percentages do not depend on the zoom.
The package has no keyboard handling nor parameters for its toolbar: :mod:`canvas_assist` adds them.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image, ImageDraw, ImageFont, ImageOps
from streamlit_drawable_canvas import st_canvas

from core.config import ControlTag, ObjectTag, resolve_value
from core.media import MediaRef
from views.widgets import geometry_convert as geo
from views.widgets.base import ResultItem, WidgetContext, region_widget
from views.widgets.components import canvas_assist
from views.widgets.components.region_tools import (
    RegionState,
    Target,
    finish,
    item_labels,
    label_colors,
    load_state,
    new_region_id,
    option_by_result,
    pick_target,
    region_color,
    region_list,
    selected_region_panel,
    split_controls,
    with_alpha,
)

DEFAULT_MAX_WIDTH = 760
DEFAULT_MAX_HEIGHT = 720
REMOTE_CANVAS_SIZE = (760, 520)
MIN_ZOOMED_VIEW_HEIGHT = 520  # a zoomed canvas scrolls inside a view at least this tall (or its unzoomed height)
POINT_RADIUS_PX = 4.0
SHAPE_OF_TAG = {"RectangleLabels": "rect", "Rectangle": "rect", "PolygonLabels": "polygon",
                "Polygon": "polygon", "KeyPointLabels": "point", "KeyPoint": "point"}
DRAWING_MODE = {"rect": "labeled_rect", "polygon": "polygon", "point": "point"}
ENDS_ON_RELEASE = {"rect": True, "polygon": False, "point": True}  # a polygon ends with its closing click
TOOL_HELP = {"rect": "drag on the image to draw a box",
             "polygon": "click the vertices, then click the first vertex again to close the polygon",
             "point": "click to place a point"}


@dataclass(frozen=True)
class DisplayImage:
    """The image as the canvas shows it: encoded display bytes (or a URL) and the original size."""

    background: bytes | str
    original_width: int
    original_height: int
    display_width: int
    display_height: int


@st.cache_data(max_entries=64, show_spinner=False)
def _display_copy(raw: bytes, max_width: int, max_height: int, zoom: float = 1.0) -> DisplayImage:
    """EXIF-transpose, measure and resize an image for display (cached on its bytes): downscaled to fit
    ``max_width x max_height``, then zoomed by ``zoom`` (resampled from the original)."""
    with Image.open(io.BytesIO(raw)) as opened:
        image = ImageOps.exif_transpose(opened)
        width, height = image.size
        shown_w, shown_h = geo.zoomed_size(
            *geo.display_size(width, height, max_width=max_width, max_height=max_height), zoom)
        if (shown_w, shown_h) != (width, height):
            image = image.resize((shown_w, shown_h), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA", "P"):
            image.convert("RGBA").save(out, format="PNG")
        else:
            image.convert("RGB").save(out, format="JPEG", quality=90)
    return DisplayImage(out.getvalue(), width, height, shown_w, shown_h)


def _region_outline(value: dict[str, Any], width: int, height: int) -> list[tuple[float, float]] | None:
    """A region's outline in display pixels (Label Studio percent coordinates; rectangles rotate about
    their top-left corner, clockwise), or None for a key point or an unreadable value."""
    try:
        if "points" in value:
            return [(float(x) * width / 100, float(y) * height / 100) for x, y in value["points"]]
        if "width" in value and "height" in value:
            x, y = float(value["x"]) * width / 100, float(value["y"]) * height / 100
            w, h = float(value["width"]) * width / 100, float(value["height"]) * height / 100
            angle = math.radians(float(value.get("rotation") or 0.0))
            cos, sin = math.cos(angle), math.sin(angle)
            return [(x + dx * cos - dy * sin, y + dx * sin + dy * cos) for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))]
    except (KeyError, TypeError, ValueError):
        return None
    return None


def annotated_preview(image: DisplayImage, regions: list[tuple[dict[str, Any], str, str]]) -> bytes:
    """The display image with ``regions`` ((value, colour, label) triples) drawn on it, as PNG: a read-only
    view that scales with its column (a drawing canvas has a fixed pixel size and is clipped in narrow columns).

    Lines and labels are sized to the image, not to the screen: side by side in a review, a column shows the
    picture at a third of its width or less, and each box must still say what it is.
    """
    assert isinstance(image.background, bytes)
    with Image.open(io.BytesIO(image.background)) as opened:
        canvas = opened.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(canvas.width / 120))
    font = ImageFont.load_default(size=max(12, round(canvas.width / 22)))
    for value, color, label in regions:
        outline = _region_outline(value, canvas.width, canvas.height)
        if outline is not None:
            draw.polygon(outline, outline=color, width=line)
            anchor = min(outline, key=lambda point: (point[1], point[0]))
        elif "x" in value and "y" in value:
            cx, cy = float(value["x"]) * canvas.width / 100, float(value["y"]) * canvas.height / 100
            radius = max(POINT_RADIUS_PX, line * 2)
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=color)
            anchor = (cx + radius, cy - radius)
        else:
            continue
        if label:  # a tag in the region's colour, above its top edge (inside the picture)
            left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
            x = min(max(0.0, anchor[0]), max(0.0, canvas.width - (right - left) - 2 * line))
            y = max(0.0, anchor[1] - (bottom - top) - 2 * line)
            draw.rectangle((x, y, x + right - left + 2 * line, y + bottom - top + 2 * line), fill=color)
            draw.text((x + line - left, y + line - top), label, fill="white", font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def _read_media(media: MediaRef) -> bytes | None:
    if media.path is not None:
        return media.path.read_bytes()
    if media.url and media.url.startswith("data:") and ";base64," in media.url:
        return base64.b64decode(media.url.split(";base64,", 1)[1])
    return None


def _max_width(obj: ObjectTag) -> int:
    raw = (obj.get("maxWidth") or "").strip().lower()
    if raw.endswith("px") and raw[:-2].replace(".", "", 1).isdigit():
        return max(50, int(float(raw[:-2])))
    return DEFAULT_MAX_WIDTH


def _fit_of(image: DisplayImage | None, background_fit: dict[str, float] | None,
            canvas_size: tuple[int, int]) -> geo.ImageFit | None:
    """Where the image sits on the canvas: a local image fills it; a remote one (its size known once the
    browser loaded it) is contained in a canvas of ``canvas_size``, as the package places it."""
    if image is not None:
        return geo.ImageFit.stretched(image.original_width, image.original_height,
                                      image.display_width, image.display_height)
    if background_fit and background_fit.get("natural_width"):
        return geo.ImageFit.contained(int(background_fit["natural_width"]),
                                      int(background_fit["natural_height"]), *canvas_size)
    return None


def _extra_fields(fit: geo.ImageFit) -> dict[str, Any]:
    return {"original_width": fit.original_width, "original_height": fit.original_height,
            "image_rotation": 0}


def _item_object(item: ResultItem, control: ControlTag, fit: geo.ImageFit, color: str,
                 selected: bool, zoom: float = 1.0) -> dict[str, Any] | None:
    """The Fabric object that draws one region item, or None for shapes this widget cannot draw."""
    shape = SHAPE_OF_TAG.get(control.tag)
    value = item.get("value", {})
    stroke_width = 4 if selected else 2
    fill = with_alpha(color, 0.30 if selected else 0.12)
    if shape == "rect":
        return geo.rect_object(geo.rect_to_canvas(fit, value), label=", ".join(item_labels(item, control)),
                               stroke=color, fill=fill, stroke_width=stroke_width)
    if shape == "polygon" and value.get("points"):
        return geo.polygon_object(geo.polygon_to_canvas(fit, value["points"]), stroke=color, fill=fill,
                                  stroke_width=stroke_width)
    if shape == "point":
        radius = geo.keypoint_radius(fit, value, zoom=zoom) or POINT_RADIUS_PX
        return geo.point_object(geo.keypoint_to_canvas(fit, value), radius=max(2.0, radius),
                                stroke=color, fill=color, stroke_width=stroke_width)
    return None


def _object_geometry(obj: dict[str, Any], fit: geo.ImageFit, zoom: float = 1.0) -> dict[str, Any] | None:
    """Label Studio geometry (percent) of a canvas object."""
    shape = geo.shape_kind(obj)
    if shape == "rect":
        return geo.canvas_to_rect(fit, **geo.fabric_rect_box(obj))
    if shape == "polygon":
        points = geo.fabric_polygon_points(obj)
        return {"points": geo.canvas_to_polygon(fit, points), "closed": True} if len(points) >= 3 else None
    if shape == "point":
        centre = geo.fabric_circle_center(obj)
        return geo.canvas_to_keypoint(fit, *centre, radius=float(obj.get("radius", POINT_RADIUS_PX)), zoom=zoom)
    return None


def _drawing_objects(result_json: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((result_json or {}).get("objects") or [])


def _signature_key(objects: list[dict[str, Any]]) -> str:
    return hashlib.sha1(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()


def _rebuild_drawing(state: RegionState, region_controls: list[ControlTag], fit: geo.ImageFit,
                     colors: dict[tuple[str, str], str], zoom: float = 1.0) -> None:
    """Make ``initial_drawing`` from the items, and remember each object's region id and shape."""
    by_name = {c.name: c for c in region_controls}
    objects: list[dict[str, Any]] = []
    seen: list[tuple[str, geo.Signature]] = []
    for region_id in state.region_ids(set(by_name)):
        item = state.shape_item(region_id, set(by_name))
        if item is None:
            continue
        control = by_name[item["from_name"]]
        drawn = _item_object(item, control, fit, region_color(item, by_name, colors),
                             region_id == state.selected, zoom)
        signature = geo.shape_signature(drawn) if drawn else None
        if drawn is None or signature is None:
            continue
        objects.append(drawn)
        seen.append((region_id, signature))
    # The canvas reloads its drawing only when the JSON it is given changes. An undo can bring back exactly
    # the drawing it was last given (before the labeler drew the shape now undone): without the revision the
    # canvas would keep showing that shape, and send it back with the next drawing.
    state.extra.update(drawing={"objects": objects, "quorumRevision": state.version}, seen=seen,
                       drawn_version=state.version, fit=fit, zoom=zoom, consumed=None)


def _control_for(shape: str, obj: dict[str, Any], target: Target | None,
                 region_controls: list[ControlTag]) -> tuple[ControlTag, list[str]] | None:
    """The control and labels a newly drawn canvas object belongs to."""
    candidates = [c for c in region_controls if SHAPE_OF_TAG.get(c.tag) == shape]
    if not candidates:
        return None
    if target is not None and target.control in candidates:
        control, labels = target.control, target.result_labels
    else:
        control, labels = candidates[0], []
    stamped = str(obj.get("label") or "").strip()
    if stamped and control.options:
        option = option_by_result(control, stamped)
        if option is not None:
            labels = [option.result_value]
    if control.options and not labels:
        labels = [control.all_options()[0].result_value]
    return control, labels


def _apply_canvas(state: RegionState, objects: list[dict[str, Any]], fit: geo.ImageFit,
                  target: Target | None, region_controls: list[ControlTag], zoom: float = 1.0) -> bool:
    """Fold one canvas send into the items; True if anything changed."""
    names = {c.name for c in region_controls}
    by_name = {c.name: c for c in region_controls}
    signatures = [geo.shape_signature(o) for o in objects]
    match = geo.match_shapes(state.extra.get("seen", []), signatures)
    graveyard: list[tuple[geo.Signature, list[ResultItem]]] = state.extra.setdefault("graveyard", [])
    changed = bool(match.moved or match.deleted or any(
        i is None and s is not None for i, s in zip(match.ids, signatures, strict=True)))
    relabels: list[tuple[str, list[str]]] = []
    for region_id, obj in zip(match.ids, objects, strict=True):
        stamped = str(obj.get("label") or "").strip()
        item = state.shape_item(region_id, names) if region_id else None
        if item is None or geo.shape_kind(obj) != "rect" or not stamped:
            continue
        control = by_name[item["from_name"]]
        option = option_by_result(control, stamped) if control.options else None
        if option is not None and item_labels(item, control) != [option.result_value]:
            relabels.append((region_id, [option.result_value]))  # relabelled on the canvas chip
    if not changed and not relabels:
        state.extra["seen"] = [(i, s) for i, s in zip(match.ids, signatures, strict=True) if i and s]
        return False
    state.snapshot()
    for region_id in match.deleted:
        dead = [i for i in state.items if i.get("id") == region_id]
        sig = next((s for rid, s in state.extra.get("seen", []) if rid == region_id), None)
        if sig is not None:
            graveyard.append((sig, copy.deepcopy(dead)))
            del graveyard[:-20]
        state.remove(region_id)
    seen: list[tuple[str, geo.Signature]] = []
    for index, (obj, signature) in enumerate(zip(objects, signatures, strict=True)):
        if signature is None:
            continue
        region_id = match.ids[index]
        if region_id is not None:
            if region_id in match.moved:
                geometry = _object_geometry(obj, fit, zoom)
                if geometry is not None:
                    state.set_geometry(region_id, geometry)
            seen.append((region_id, signature))
            continue
        restored = next((entry for entry in graveyard if geo.same_shape(entry[0], signature)), None)
        if restored is not None:  # the canvas undid a delete: bring the region back with its answers
            graveyard.remove(restored)
            state.items.extend(restored[1])
            seen.append((restored[1][0]["id"], signature))
            continue
        geometry = _object_geometry(obj, fit, zoom)
        owner = _control_for(signature[0], obj, target, region_controls)
        if geometry is None or owner is None:
            continue
        control, labels = owner
        value = dict(geometry)
        if control.kind.value_key:
            value[control.kind.value_key] = labels
        new_id = new_region_id()
        state.items.append({"id": new_id, "from_name": control.name, "to_name": "", "type":
                            control.kind.result_type, "value": value, "origin": "manual",
                            **_extra_fields(fit)})
        state.selected = new_id
        seen.append((new_id, signature))
    for region_id, labels in relabels:
        item = state.shape_item(region_id, names)
        if item is not None:
            item["value"][by_name[item["from_name"]].kind.value_key] = labels
            state.changed_by_python()  # redraw in the label's colour
    state.extra["seen"] = seen
    return True


def _describe(item: ResultItem) -> str:
    value = item.get("value", {})
    if "points" in value:
        return f"polygon, {len(value['points'])} points"
    if "width" in value and "height" in value:
        return (f"x {value.get('x', 0):.1f}%  y {value.get('y', 0):.1f}%  "
                f"w {value['width']:.1f}%  h {value['height']:.1f}%")
    return f"point x {value.get('x', 0):.1f}%  y {value.get('y', 0):.1f}%"


def _remove_regions(state: RegionState, region_ids: list[str]) -> bool:
    """Remove regions (their shape and per-region items) the way the list's Delete does: one undo step, and
    the canvas redrawn. False when none of them exists."""
    ids = [i for i in dict.fromkeys(region_ids) if i and any(item.get("id") == i for item in state.items)]
    if not ids:
        return False
    state.snapshot()
    for region_id in ids:
        state.remove(region_id)
    state.changed_by_python()
    return True


def _zoomable(obj: ObjectTag) -> bool:
    """Label Studio's ``zoom`` attribute of ``<Image>`` (zooming is on unless ``zoom="false"``)."""
    return (obj.get("zoom") or "true").strip().lower() != "false"


def _zoom_label(zoom: float) -> str:
    return f"{zoom:.0%}"


def _keep_a_zoom(key: str, last_key: str) -> None:
    """Clicking the active zoom level deselects it in a segmented control: keep the zoom instead."""
    if st.session_state.get(key) is None:
        st.session_state[key] = st.session_state.get(last_key, 1.0)
    st.session_state[last_key] = st.session_state[key]


def _handle_assist_event(event: dict[str, Any], state: RegionState, obj: ObjectTag,
                         region_controls: list[ControlTag], ctx: WidgetContext) -> None:
    """Apply one event of the canvas helper: Delete key, the toolbar's bin, Ctrl + wheel."""
    kind = event.get("type")
    if kind == "delete":
        names = {c.name for c in region_controls}
        if state.selected and state.shape_item(state.selected, names) is not None:
            _remove_regions(state, [state.selected])
        else:
            st.toast("Select a region first (its Select button below the image), then press Delete.")
    elif kind == "clear":
        _remove_regions(state, [str(item.get("id")) for item in state.items if item.get("id")])
    elif kind == "zoom" and _zoomable(obj):
        zoom_key = ctx.key(obj.name, "zoom")
        zoom = geo.step_zoom(float(st.session_state.get(zoom_key) or 1.0), int(event.get("step") or 0))
        st.session_state[zoom_key] = st.session_state[ctx.key(obj.name, "zoom_last")] = zoom


def _zoom_controls(obj: ObjectTag, ctx: WidgetContext) -> float:
    """The zoom row (levels, and Pan once zoomed in); returns the chosen zoom."""
    zoom_key, last_key = ctx.key(obj.name, "zoom"), ctx.key(obj.name, "zoom_last")
    if st.session_state.get(zoom_key) not in geo.ZOOM_LEVELS:
        st.session_state[zoom_key] = st.session_state[last_key] = 1.0
    zoom = float(st.session_state[zoom_key])
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown("**Zoom:**", width="content")
        st.segmented_control("Zoom", geo.ZOOM_LEVELS, format_func=_zoom_label, key=zoom_key,
                             label_visibility="collapsed", on_change=_keep_a_zoom, args=(zoom_key, last_key),
                             help="Or Ctrl + mouse wheel over the image. Coordinates are stored in percent "
                                  "of the original image at every zoom.")
        if zoom > 1:
            st.toggle("Pan", key=ctx.key(obj.name, "pan"),
                      help="Drag the image to move around it (instead of drawing). Scrolling works too.")
    return zoom


@region_widget("Image")
def render_image_regions(obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem],
                         ctx: WidgetContext) -> list[ResultItem]:
    """Show ``obj``'s image on a drawing canvas and edit the regions of ``controls`` on it."""
    region_controls, per_region_controls = split_controls(controls)
    region_controls = [c for c in region_controls if c.tag in SHAPE_OF_TAG]
    state_key, state = load_state(ctx, obj, region_controls + per_region_controls, items)
    for item in state.items:
        item["to_name"] = obj.name
    media = ctx.resolve_media(resolve_value(obj.value, ctx.data))
    if not media.available:
        st.warning(f"The image of {obj.name!r} is not available (not an allowed location).")
        return finish(state)
    raw = _read_media(media)
    colors = label_colors(region_controls)
    if ctx.disabled:  # read-only (review, data browser): a picture that fits its column
        image = _display_copy(raw, _max_width(obj), DEFAULT_MAX_HEIGHT) if raw is not None else None
        if image is not None:
            by_name = {c.name: c for c in region_controls}
            st.image(annotated_preview(image, [
                (item.get("value", {}), region_color(item, by_name, colors),
                 ", ".join(item_labels(item, by_name.get(item.get("from_name", "")))))
                for item in state.items if item.get("from_name") in by_name]), width="stretch")
            region_list(obj, state_key, state, region_controls, ctx, colors, _describe)
            selected_region_panel(obj, state_key, state, region_controls, per_region_controls, ctx)
            return finish(state)

    # Events of the canvas helper (Delete key, the toolbar's bin, Ctrl + wheel), before anything is drawn.
    assist_key, seen_key = ctx.key(obj.name, "assist"), ctx.key(obj.name, "assist_seen")
    event = canvas_assist.pending_event(assist_key)
    if event is not None and event.get("id") != st.session_state.get(seen_key) and not ctx.disabled:
        st.session_state[seen_key] = event.get("id")
        _handle_assist_event(event, state, obj, region_controls, ctx)

    target = pick_target(obj, region_controls, ctx, colors)
    shape = SHAPE_OF_TAG.get(target.control.tag, "rect") if target else "rect"
    if not ctx.disabled:
        st.caption(f"Tool: **{shape}** -- {TOOL_HELP[shape]}. **Delete** or **Backspace** removes the "
                   "selected region. In the toolbar above the image: undo/redo, the pencil moves and resizes "
                   "shapes, the bin deletes all regions.")
    zoom = _zoom_controls(obj, ctx) if _zoomable(obj) and not ctx.disabled else 1.0
    image = _display_copy(raw, _max_width(obj), DEFAULT_MAX_HEIGHT, zoom) if raw is not None else None
    if image is not None:
        base_w, base_h = geo.display_size(image.original_width, image.original_height,
                                          max_width=_max_width(obj), max_height=DEFAULT_MAX_HEIGHT)
        width, height = image.display_width, image.display_height
    else:
        base_w, base_h = REMOTE_CANVAS_SIZE
        width, height = geo.zoomed_size(base_w, base_h, zoom)
    shown_zoom = width / base_w  # the zoom actually applied (capped for very large canvases)
    view_height = max(base_h, MIN_ZOOMED_VIEW_HEIGHT)

    canvas_key = ctx.key(obj.name, "canvas")
    previous = state.extra.get("fit")
    fit = _fit_of(image, state.extra.get("background_fit"), (width, height))
    if fit is not None and (state.extra.get("drawn_version") != state.version or previous != fit
                            or state.extra.get("zoom") != shown_zoom):
        _rebuild_drawing(state, region_controls, fit, colors, shown_zoom)
    color = colors.get((target.control.name, target.label_value)) if target else None
    result = st_canvas(
        fill_color=with_alpha(color or "#ff0000", 0.12), stroke_width=2, stroke_color=color or "#ff0000",
        background_image=image.background if image else media.url,
        background_image_fit="stretch" if image else "contain",
        update_streamlit=True, width=width, height=height, drawing_mode=DRAWING_MODE[shape],
        initial_drawing=state.extra.get("drawing", {"objects": []}), point_display_radius=int(POINT_RADIUS_PX),
        key=canvas_key, disabled=ctx.disabled, font_size=14,
        max_display_height=view_height if height > view_height else None,
        label=target.label_value if target and shape == "rect" else "")
    canvas_assist.canvas_assist(key=assist_key, canvas_key=canvas_key, zoom=shown_zoom, canvas_width=width,
                                canvas_height=height,
                                pan=zoom > 1 and bool(st.session_state.get(ctx.key(obj.name, "pan"))),
                                zoomable=_zoomable(obj), disabled=ctx.disabled, send_on_release=ENDS_ON_RELEASE[shape])
    natural = result.background_fit
    if image is None and natural and natural.get("natural_width"):
        known = state.extra.get("background_fit") or {}
        if (known.get("natural_width"), known.get("natural_height")) != (
                natural["natural_width"], natural["natural_height"]):
            state.extra["background_fit"] = natural
            st.rerun()  # now the original size is known: draw the regions

    objects = _drawing_objects(result.json_data)
    consumed = _signature_key(objects)
    if state.extra.get("consumed") is None:
        state.extra["consumed"] = consumed  # the value the canvas held when it was (re)drawn
    elif consumed != state.extra["consumed"] and fit is not None and not ctx.disabled:
        state.extra["consumed"] = consumed
        if _apply_canvas(state, objects, fit, target, region_controls, shown_zoom):
            for item in state.items:
                item["to_name"] = obj.name

    version = state.version
    region_list(obj, state_key, state, region_controls, ctx, colors, _describe)
    selected_region_panel(obj, state_key, state, region_controls, per_region_controls, ctx,
                          extra_fields=_extra_fields(fit) if fit else None)
    if state.version != version:
        st.rerun()  # a relabel in the panel: redraw the canvas in the new colour
    return finish(state)
