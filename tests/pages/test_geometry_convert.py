"""Pure conversions between Label Studio percent geometry and canvas (Fabric.js) pixels."""
from __future__ import annotations

import math

import pytest

from views.widgets import geometry_convert as geo

FITS = [
    geo.ImageFit.stretched(384, 303, 384, 303),     # shown at full size
    geo.ImageFit.stretched(4000, 3000, 760, 570),   # downscaled for display
    geo.ImageFit.stretched(1000, 2000, 360, 720),   # portrait after EXIF transpose
    geo.ImageFit(640, 427, 1.1875, 1.1875, 0.0, 6.46875),  # "contain" with a margin
]


@pytest.mark.parametrize("fit", FITS)
def test_rectangle_percent_survives_a_canvas_round_trip(fit: geo.ImageFit) -> None:
    value = {"x": 5.1193, "y": 12.3248, "width": 11.9313, "height": 12.9135, "rotation": 0}
    box = geo.rect_to_canvas(fit, value)
    back = geo.canvas_to_rect(fit, **box)
    for key in ("x", "y", "width", "height"):
        assert back[key] == pytest.approx(value[key], abs=1e-6)
    assert back["rotation"] == 0


@pytest.mark.parametrize("fit", FITS)
def test_rectangle_read_from_a_fabric_object_round_trips(fit: geo.ImageFit) -> None:
    value = {"x": 33.3, "y": 0.0, "width": 66.7, "height": 100.0, "rotation": 0}
    obj = geo.rect_object(geo.rect_to_canvas(fit, value), label="Coin", stroke="#f00", fill="#0000",
                          stroke_width=2)
    back = geo.canvas_to_rect(fit, **geo.fabric_rect_box(obj))
    assert [back[k] for k in ("x", "y", "width", "height")] == pytest.approx(
        [value[k] for k in ("x", "y", "width", "height")], abs=1e-6)


@pytest.mark.parametrize("fit", FITS)
def test_polygon_and_keypoint_round_trip(fit: geo.ImageFit) -> None:
    points = [[2.0, 2.0], [3.5, 8.1], [3.5, 12.6], [50.25, 99.9]]
    drawn = geo.polygon_object(geo.polygon_to_canvas(fit, points), stroke="#f00", fill="#0000", stroke_width=2)
    back = geo.canvas_to_polygon(fit, geo.fabric_polygon_points(drawn))
    assert [c for p in back for c in p] == pytest.approx([c for p in points for c in p], abs=1e-6)
    centre = geo.keypoint_to_canvas(fit, {"x": 3.1, "y": 8.2})
    circle = geo.point_object(centre, radius=4, stroke="#f00", fill="#f00", stroke_width=2)
    kp = geo.canvas_to_keypoint(fit, *geo.fabric_circle_center(circle), radius=4)
    assert (kp["x"], kp["y"]) == pytest.approx((3.1, 8.2), abs=1e-6)


def test_percent_is_of_the_original_image_whatever_the_display_size() -> None:
    fit = geo.ImageFit.stretched(4000, 3000, 800, 600)  # shown at a fifth of its size
    assert geo.canvas_to_rect(fit, left=80, top=60, width=400, height=300) == pytest.approx(
        {"x": 10.0, "y": 10.0, "width": 50.0, "height": 50.0, "rotation": 0.0})
    # and 10% of the original is 400 original pixels
    assert fit.to_canvas(10, 10) == pytest.approx((80, 60))


def test_display_size_only_ever_downscales_and_keeps_the_aspect_ratio() -> None:
    assert geo.display_size(384, 303, max_width=760) == (384, 303)
    assert geo.display_size(4000, 3000, max_width=800) == (800, 600)
    assert geo.display_size(1000, 2000, max_width=760, max_height=720) == (360, 720)
    with pytest.raises(ValueError, match="positive"):
        geo.display_size(0, 10, max_width=100)


def test_fabric_rect_with_centre_origin_and_scale_gives_its_top_left_box() -> None:
    obj = {"type": "Rect", "left": 100, "top": 50, "width": 40, "height": 20, "scaleX": 2, "scaleY": 1.5,
           "originX": "center", "originY": "center"}
    assert geo.fabric_rect_box(obj) == pytest.approx(
        {"left": 60, "top": 35, "width": 80, "height": 30, "angle": 0})


def test_rotated_rect_keeps_its_top_left_anchor_like_label_studio() -> None:
    fit = geo.ImageFit.stretched(200, 100, 200, 100)
    value = {"x": 10, "y": 20, "width": 30, "height": 10, "rotation": 30}
    obj = geo.rect_object(geo.rect_to_canvas(fit, value), label="", stroke="#f00", fill="#0000", stroke_width=1)
    assert obj["angle"] == 30 and (obj["originX"], obj["originY"]) == ("left", "top")
    back = geo.canvas_to_rect(fit, **geo.fabric_rect_box(obj))
    assert back == pytest.approx(value)
    # the same rectangle with a centre origin: Fabric's left/top is then the rotated centre
    w, h, a = 60.0, 10.0, math.radians(30)
    cx = 20 + (w / 2) * math.cos(a) - (h / 2) * math.sin(a)
    cy = 20 + (w / 2) * math.sin(a) + (h / 2) * math.cos(a)
    centred = {"type": "Rect", "left": cx, "top": cy, "width": w, "height": h, "angle": 30,
               "originX": "center", "originY": "center"}
    assert geo.fabric_rect_box(centred) == pytest.approx({"left": 20, "top": 20, "width": w, "height": h, "angle": 30})


def test_moved_polygon_points_follow_the_object_position() -> None:
    # Fabric keeps the drawn points and moves the object: left/top is the new bbox centre
    obj = {"type": "Polygon", "points": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}],
           "left": 105, "top": 55, "originX": "center", "originY": "center", "width": 10, "height": 10}
    assert [c for p in geo.fabric_polygon_points(obj) for c in p] == pytest.approx([100, 50, 110, 50, 110, 60])


def test_point_tool_circle_centre_includes_radius_and_half_the_stroke() -> None:
    # measured: a click at x=500 came back as left=493.5 (radius 3, stroke 7, originX left)
    obj = {"type": "Circle", "left": 493.5, "top": 200, "radius": 3, "strokeWidth": 7,
           "originX": "left", "originY": "center"}
    assert geo.fabric_circle_center(obj) == pytest.approx((500, 200))


def test_match_shapes_follows_regions_through_delete_reorder_move_and_add() -> None:
    a, b, c = ("rect", (0.0, 0.0, 10.0, 10.0, 0.0)), ("rect", (20.0, 0.0, 5.0, 5.0, 0.0)), ("point", (3.0, 4.0))
    seen = [("A", a), ("B", b), ("C", c)]
    deleted = geo.match_shapes(seen, [a, c])
    assert deleted.ids == ["A", "C"] and deleted.deleted == ["B"] and not deleted.moved
    reordered = geo.match_shapes(seen, [c, b, a])
    assert reordered.ids == ["C", "B", "A"] and not reordered.deleted
    moved_b = ("rect", (25.0, 2.0, 5.0, 5.0, 0.0))
    moved = geo.match_shapes(seen, [a, moved_b, c])
    assert moved.ids == ["A", "B", "C"] and moved.moved == {"B"}
    new = ("polygon", (1.0, 1.0, 2.0, 2.0, 3.0, 1.0))
    added = geo.match_shapes(seen, [a, b, c, new])
    assert added.ids == ["A", "B", "C", None]
    # Fabric rounds its JSON to 2 decimals: that is not a move
    assert geo.match_shapes(seen, [("rect", (0.004, 0.0, 10.0, 9.996, 0.0)), b, c]).moved == set()


@pytest.mark.parametrize("zoom", [1.5, 2.0, 3.0, 4.0])
@pytest.mark.parametrize("original", [(4000, 3000), (512, 512), (1000, 2000)])
def test_a_box_drawn_zoomed_in_stores_the_same_percent_as_the_same_box_drawn_unzoomed(
        zoom: float, original: tuple[int, int]) -> None:
    base = geo.display_size(*original, max_width=760, max_height=720)
    zoomed = geo.zoomed_size(*base, zoom)
    unzoomed_fit = geo.ImageFit.stretched(*original, *base)
    zoomed_fit = geo.ImageFit.stretched(*original, *zoomed)
    # the same place on the picture is that many times further on the zoomed canvas (its rounded size)
    kx, ky = zoomed[0] / base[0], zoomed[1] / base[1]
    box = {"left": 31.0, "top": 47.5, "width": 120.25, "height": 66.0}
    at_zoom = {"left": box["left"] * kx, "top": box["top"] * ky, "width": box["width"] * kx,
               "height": box["height"] * ky}
    assert geo.canvas_to_rect(zoomed_fit, **at_zoom) == pytest.approx(geo.canvas_to_rect(unzoomed_fit, **box))
    # and a stored box is drawn where it belongs at every zoom
    value = {"x": 12.5, "y": 40.0, "width": 20.0, "height": 10.0, "rotation": 0}
    drawn = geo.rect_to_canvas(zoomed_fit, value)
    assert drawn["left"] == pytest.approx(geo.rect_to_canvas(unzoomed_fit, value)["left"] * kx)
    assert geo.canvas_to_rect(zoomed_fit, **drawn) == pytest.approx(value)
    # a key point keeps its stored size: drawn with the same on-screen radius, stored as seen unzoomed
    point = geo.canvas_to_keypoint(zoomed_fit, 100 * kx, 80 * ky, radius=4, zoom=kx)
    assert point == pytest.approx(geo.canvas_to_keypoint(unzoomed_fit, 100, 80, radius=4))
    assert geo.keypoint_radius(zoomed_fit, point, zoom=kx) == pytest.approx(4)


def test_zoomed_size_scales_both_sides_and_caps_very_large_canvases() -> None:
    assert geo.zoomed_size(384, 303, 1.0) == (384, 303)
    assert geo.zoomed_size(384, 303, 2.0) == (768, 606)
    assert geo.zoomed_size(760, 570, 1.5) == (1140, 855)
    assert geo.zoomed_size(3000, 1500, 4.0, max_side=4096) == (4096, 2048)  # capped, aspect kept
    assert geo.zoomed_size(5000, 100, 2.0, max_side=4096) == (5000, 100)  # never shrunk
    with pytest.raises(ValueError, match="positive"):
        geo.zoomed_size(10, 10, 0)


def test_step_zoom_moves_one_level_and_stays_in_range() -> None:
    assert geo.step_zoom(1.0, 1) == 1.5 and geo.step_zoom(1.5, 1) == 2.0 and geo.step_zoom(3.0, -1) == 2.0
    assert geo.step_zoom(1.0, -1) == 1.0 and geo.step_zoom(4.0, 1) == 4.0
    assert geo.step_zoom(1.7, 1) == 2.0  # from the nearest level


def test_contained_fit_is_the_canvas_package_contain_placement_at_any_canvas_size() -> None:
    # the package's backgroundFit for a 640x427 image in a 760x520 canvas (frontend Zn(): min scale, centred)
    fit = geo.ImageFit.contained(640, 427, 760, 520)
    assert (fit.scale_x, fit.scale_y, fit.offset_x) == pytest.approx((1.1875, 1.1875, 0.0))
    assert fit.offset_y == pytest.approx((520 - 427 * 1.1875) / 2)
    zoomed = geo.ImageFit.contained(640, 427, 1520, 1040)
    box = geo.rect_to_canvas(fit, {"x": 10, "y": 20, "width": 30, "height": 40})
    twice = {k: box[k] * 2 for k in ("left", "top", "width", "height")}
    assert geo.canvas_to_rect(zoomed, **twice) == pytest.approx(
        {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0})
