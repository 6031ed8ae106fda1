"""Boxes drawn on the image task's canvas are stored in Label Studio percent of the original image."""
from __future__ import annotations

import json
from typing import Any

import pytest
from PIL import Image, ImageOps
from playwright.sync_api import expect

from tests.e2e.conftest import REPO_ROOT
from tests.e2e.helpers import (
    submit_and_read_result,
    AppServer,
    act,
    button,
    is_selected,
    open_task_id,
    primary,
    sign_in,
    start_labeling,
    submitted_count,
    wait_for_app_run,
    wait_until_still,
)

PROJECT = "Objects in photos"
TOLERANCE_PCT = 0.5
# Two boxes in canvas pixels (x0, y0, x1, y1), in the right part of the picture, clear of the pre-labels
# the demo's first free task carries (they sit in the left two thirds of the camera-man photo).
BOXES = {"Tower": (0.70, 0.12, 0.82, 0.38), "Flag": (0.84, 0.51, 0.97, 0.64)}


def _regions_heading(page: Any) -> Any:
    return page.get_by_test_id("stMarkdownContainer").get_by_text("Regions (", exact=False).first


def _region_count(page: Any) -> int:
    text = _regions_heading(page).inner_text()
    return int(text.split("(")[1].split(")")[0])


def _drag_box(page: Any, frac_box: tuple[float, float, float, float]) -> dict[str, float]:
    """Drag a box on the canvas; returns where, in canvas pixels, plus the canvas's displayed size."""
    canvas = page.locator(".upper-canvas").first
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    wait_until_still(page, canvas)
    box = canvas.bounding_box()
    assert box is not None
    width_attr = float(canvas.get_attribute("width") or box["width"])
    # The canvas is shown 1:1 (no CSS scaling), so a CSS pixel is a canvas pixel.
    assert abs(width_attr - box["width"]) < 1, (width_attr, box)
    x0, y0, x1, y1 = (frac_box[0] * box["width"], frac_box[1] * box["height"],
                      frac_box[2] * box["width"], frac_box[3] * box["height"])
    before = _region_count(page)

    def drag() -> None:
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        page.mouse.move(box["x"] + (x0 + x1) / 2, box["y"] + (y0 + y1) / 2, steps=4)
        page.mouse.move(box["x"] + x1, box["y"] + y1, steps=4)
        page.mouse.up()

    act(page, drag)
    # act() waited for the run the drawing caused, so the count is final by now: no long wait.
    expect(_regions_heading(page)).to_have_text(f"Regions ({before + 1})", timeout=5_000)
    wait_for_app_run(page)
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "display_w": box["width"], "display_h": box["height"]}


def _pick_label(page: Any, label: str) -> None:
    target = button(page, label)
    if not is_selected(target):
        act(page, lambda: target.click())
    expect(primary(target)).to_be_visible()


def _expected_pct(drag: dict[str, float], original_w: int, original_h: int) -> dict[str, float]:
    """Label Studio geometry of a drag: canvas px -> original px (scale original/displayed) -> percent."""
    sx, sy = original_w / drag["display_w"], original_h / drag["display_h"]
    x = min(drag["x0"], drag["x1"]) * sx
    y = min(drag["y0"], drag["y1"]) * sy
    w = abs(drag["x1"] - drag["x0"]) * sx
    h = abs(drag["y1"] - drag["y0"]) * sy
    return {"x": x / original_w * 100, "y": y / original_h * 100,
            "width": w / original_w * 100, "height": h / original_h * 100}


def _image_size(server: AppServer, task_id: int) -> tuple[int, int]:
    data = json.loads(server.query("SELECT data FROM tasks WHERE id = ?", (task_id,))[0]["data"])
    name = str(data["image"]).rsplit("/", 1)[-1].split("=")[-1]
    with Image.open(REPO_ROOT / "assets" / "demo" / "images" / name) as image:
        return ImageOps.exif_transpose(image).size


def _open_a_task(app_server: AppServer, page: Any, user: str) -> tuple[int, int, set[Any], int]:
    """Sign ``user`` in and start labeling: (user id, task id, the ids of the task's pre-labelled regions,
    how many tasks the user had submitted)."""
    sign_in(page, app_server, user, "annotator-demo" if user.startswith("annotator") else f"{user}-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(user), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    prediction_ids = {item.get("id") for row in app_server.query(
        "SELECT result FROM predictions WHERE task_id = ?", (task_id,)) for item in json.loads(row["result"])}
    return user_id, task_id, prediction_ids, submitted_count(page)


def _label_then_submit(app_server: AppServer, page: Any, shot: Any, user: str, *, redraw_between: bool) -> None:
    user_id, task_id, prediction_ids, submitted_before = _open_a_task(app_server, page, user)
    shot("01-task")
    drags: dict[str, dict[str, float]] = {}
    for n, (label, frac_box) in enumerate(BOXES.items(), start=1):
        _pick_label(page, label)
        drags[label] = _drag_box(page, frac_box)
        shot(f"{n + 1:02d}-drew-{label}")
        if redraw_between and n == 1:
            # Selecting the new region in the list makes Python redraw the canvas from its regions.
            # The new region is the last row, shown as "Selected"; pressing it again deselects it.
            act(page, lambda: button(page, "Selected").last.click())
            expect(button(page, "Selected")).to_have_count(0)
    expect(_regions_heading(page)).to_have_text(f"Regions ({len(prediction_ids) + 2})")
    shot("04-before-submit")
    result = submit_and_read_result(page, app_server, shot, user_id=user_id, task_id=task_id,
                                    before=submitted_before, step="05-submitted")
    new_items = [i for i in result if i.get("id") not in prediction_ids]
    by_label = {i["value"]["rectanglelabels"][0]: i for i in new_items}
    assert sorted(by_label) == sorted(BOXES), new_items
    original = _image_size(app_server, task_id)
    for label, item in by_label.items():
        assert (item["original_width"], item["original_height"]) == original
        expected = _expected_pct(drags[label], *original)
        for field, want in expected.items():
            got = item["value"][field]
            assert abs(got - want) <= TOLERANCE_PCT, f"{label} {field}: stored {got:.3f}, expected {want:.3f}"


@pytest.mark.e2e
def test_two_boxes_with_different_labels_are_stored_in_percent_of_the_original_image(app_server, page, shot):
    """The labeler selects the new box in the region list before switching labels."""
    _label_then_submit(app_server, page, shot, "newcomer", redraw_between=True)


@pytest.mark.e2e
def test_drawing_a_second_box_right_after_switching_labels_keeps_the_first_box(app_server, page, shot):
    _label_then_submit(app_server, page, shot, "annotator2", redraw_between=False)


@pytest.mark.e2e
def test_ctrl_z_undoes_a_drawn_box_and_it_stays_gone(app_server, page, shot):
    """Undo (its key, Ctrl+Z) removes the box from the list *and* from the canvas: the next drawing the canvas
    sends must not bring the undone box back."""
    user_id, task_id, prediction_ids, submitted_before = _open_a_task(app_server, page, "annotator1")
    _pick_label(page, "Tower")
    _drag_box(page, BOXES["Tower"])
    expect(_regions_heading(page)).to_have_text(f"Regions ({len(prediction_ids) + 1})")
    page.get_by_text("Label:", exact=True).first.click()  # focus off the canvas, as after any click
    act(page, lambda: page.keyboard.press("Control+z"))
    expect(_regions_heading(page)).to_have_text(f"Regions ({len(prediction_ids)})")
    wait_for_app_run(page)
    shot("02-undone")
    _pick_label(page, "Flag")
    _drag_box(page, BOXES["Flag"])
    expect(_regions_heading(page)).to_have_text(f"Regions ({len(prediction_ids) + 1})")
    shot("03-second-box")
    result = submit_and_read_result(page, app_server, shot, user_id=user_id, task_id=task_id,
                                    before=submitted_before, step="04-submitted")
    labels = [i["value"]["rectanglelabels"][0] for i in result if i.get("id") not in prediction_ids]
    assert labels == ["Flag"], result
