"""Boxes drawn on the image task's canvas are stored in Label Studio percent of the original image."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageOps
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
    run_cli,
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


# --- keyboard deletion, the canvas toolbar, zoom and pan (a project of its own: the demo's free task is taken
# by the tests above) ------------------------------------------------------------------------------------------

LARGE_PROJECT = "Large photos"
LARGE_SIZE = (2400, 1600)  # shown 760 px wide at 100 %
LABELERS = {"annotator3": "annotator-demo", "annotator4": "annotator-demo", "newcomer": "newcomer-demo"}


def _large_photo(path: Path) -> None:
    """A big picture with a numbered grid, so a zoomed-in screenshot shows where it is."""
    image = Image.new("RGB", LARGE_SIZE, (200, 214, 229))
    draw = ImageDraw.Draw(image)
    for n, x in enumerate(range(0, LARGE_SIZE[0], 200)):
        for m, y in enumerate(range(0, LARGE_SIZE[1], 200)):
            if (n + m) % 2 == 0:
                draw.rectangle((x, y, x + 199, y + 199), fill=(150, 170, 200))
            draw.text((x + 10, y + 10), f"{n},{m}", fill=(20, 20, 60))
    image.save(path, quality=90)


@pytest.fixture(scope="module")
def large_project(app_server: AppServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("large-photos")
    uploads = app_server.data_dir / "media" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    _large_photo(uploads / "large.jpg")
    (folder / "config.xml").write_text((REPO_ROOT / "assets" / "demo" / "image-boxes" / "config.xml").read_text())
    (folder / "tasks.json").write_text(json.dumps([{"data": {"image": "/data/upload/large.jpg"}}] * 3))
    run_cli(app_server, "project", "create", LARGE_PROJECT, "--config", str(folder / "config.xml"))
    run_cli(app_server, "import", LARGE_PROJECT, str(folder / "tasks.json"))
    for user in LABELERS:
        run_cli(app_server, "project", "add-member", LARGE_PROJECT, user, "annotator")
    return LARGE_PROJECT


def _open_large(app_server: AppServer, page: Any, project: str, user: str) -> tuple[int, int]:
    sign_in(page, app_server, user, LABELERS[user])
    start_labeling(page, project)
    user_id = app_server.user_id(user)
    task_id = open_task_id(app_server, user_id, app_server.project_id(project))
    assert task_id is not None
    expect(page.locator(".upper-canvas").first).to_be_visible()
    return user_id, task_id


def _draft(app_server: AppServer, user_id: int, task_id: int, done: Any, timeout_s: float = 10.0) -> list[Any]:
    """The draft's result once ``done(result)`` (the draft is written during the run a change causes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = app_server.query("SELECT result FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id))
        result = json.loads(rows[0]["result"]) if rows else None
        if (result is not None and done(result)) or time.monotonic() > deadline:
            assert result is not None and done(result), result
            return result
        time.sleep(0.05)


def _box_labels(result: list[Any]) -> list[str]:
    return sorted(i["value"]["rectanglelabels"][0] for i in result if i.get("type") == "rectanglelabels")


def _blur(page: Any) -> None:
    """Click beside the inputs (on the "Label:" caption), as a labeler does between actions."""
    page.get_by_text("Label:", exact=True).first.click()


@pytest.mark.e2e
def test_delete_and_backspace_remove_the_selected_box_but_not_while_typing(app_server, page, shot, large_project):
    user_id, task_id = _open_large(app_server, page, large_project, "annotator3")
    _pick_label(page, "Tower")
    _drag_box(page, BOXES["Tower"])  # a new box is the selected region
    _pick_label(page, "Flag")
    _drag_box(page, BOXES["Flag"])
    assert _box_labels(_draft(app_server, user_id, task_id, lambda r: len(r) == 2)) == ["Flag", "Tower"]
    shot("01-two-boxes")

    # Backspace while typing in a field (the selected region's label) edits the field, it deletes nothing
    field = page.get_by_test_id("stSelectbox").filter(has_text="Label of the selected region").locator("input")
    field.click()
    page.keyboard.type("Fl")
    page.keyboard.press("Backspace")
    page.keyboard.press("Delete")
    page.wait_for_timeout(700)  # time for a run the keys would have caused
    wait_for_app_run(page)
    expect(_regions_heading(page)).to_have_text("Regions (2)")
    page.keyboard.press("Escape")

    _blur(page)
    act(page, lambda: page.keyboard.press("Delete"))
    expect(_regions_heading(page)).to_have_text("Regions (1)")
    assert _box_labels(_draft(app_server, user_id, task_id, lambda r: len(r) == 1)) == ["Tower"]
    shot("02-flag-deleted-by-the-delete-key")

    act(page, lambda: button(page, "Select").first.click())  # select the remaining box in the list
    _blur(page)
    act(page, lambda: page.keyboard.press("Backspace"))
    expect(_regions_heading(page)).to_have_text("Regions (0)")
    assert _draft(app_server, user_id, task_id, lambda r: r == []) == []
    wait_for_app_run(page)
    shot("03-tower-deleted-by-backspace")
    act(page, lambda: button(page, "Undo last change").click())  # a key deletion is undone like any other
    expect(_regions_heading(page)).to_have_text("Regions (1)")
    assert _box_labels(_draft(app_server, user_id, task_id, lambda r: len(r) == 1)) == ["Tower"]

    # in the canvas's edit mode (the pencil), Delete removes the shape picked on the canvas
    page.locator('.dc-toolbar button[aria-label="Edit"]').click()
    canvas = page.locator(".upper-canvas").first
    wait_until_still(page, canvas)
    box = canvas.bounding_box()
    assert box is not None
    x0, y0, x1, y1 = BOXES["Tower"]
    page.mouse.click(box["x"] + (x0 + x1) / 2 * box["width"], box["y"] + (y0 + y1) / 2 * box["height"])
    expect(page.locator('.dc-toolbar button[aria-label="Delete selected"]')).to_be_enabled()
    shot("04-picked-on-the-canvas")
    act(page, lambda: page.keyboard.press("Delete"))
    expect(_regions_heading(page)).to_have_text("Regions (0)")
    assert _draft(app_server, user_id, task_id, lambda r: r == []) == []


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


@pytest.mark.e2e
def test_the_canvas_toolbar_stays_clear_of_the_help_text_and_its_bin_deletes_all_regions(
        app_server, page, shot, large_project):
    user_id, task_id = _open_large(app_server, page, large_project, "annotator4")
    _pick_label(page, "Tower")
    _drag_box(page, BOXES["Tower"])
    _pick_label(page, "Flag")
    _drag_box(page, BOXES["Flag"])
    canvas = page.locator(".upper-canvas").first
    canvas.hover()  # the package shows its toolbar on hover, floated over what is above the canvas
    page.wait_for_timeout(600)
    shot("01-hovering-the-canvas")
    toolbar = page.locator(".dc-toolbar-card").first
    expect(toolbar).to_be_visible()
    assert toolbar.evaluate("el => getComputedStyle(el.parentElement).opacity") == "1"
    card, canvas_box = toolbar.bounding_box(), canvas.bounding_box()
    assert card is not None and canvas_box is not None
    above = [page.get_by_test_id("stCaptionContainer").filter(has_text="Tool:").first,
             page.get_by_test_id("stMarkdownContainer").get_by_text("Zoom:", exact=True).first,
             page.get_by_test_id("stButtonGroup").first]
    for element in above:
        box = element.bounding_box()
        assert box is not None and not _overlap(card, box), (element, card, box)
    assert card["y"] + card["height"] <= canvas_box["y"] + 1  # and it does not cover the picture either
    # upload ("Update the app with this drawing") is pointless: every change is sent already
    upload = page.locator('button[aria-label="Update the app with this drawing"]')
    expect(upload).to_have_count(1)
    expect(upload).to_be_hidden()

    act(page, lambda: page.get_by_role("button", name="Delete all regions").click())
    expect(_regions_heading(page)).to_have_text("Regions (0)")
    assert _draft(app_server, user_id, task_id, lambda r: r == []) == []
    wait_for_app_run(page)
    shot("02-bin-deleted-all")
    act(page, lambda: button(page, "Undo last change").click())
    expect(_regions_heading(page)).to_have_text("Regions (2)")
    assert _box_labels(_draft(app_server, user_id, task_id, lambda r: len(r) == 2)) == ["Flag", "Tower"]


def _view_box(page: Any) -> dict[str, float]:
    """The part of the canvas on screen: its scrolling view, inside the page's viewport."""
    view = page.locator(".dc-scroll").first.bounding_box()
    assert view is not None
    return view


def _drag_in_view(page: Any, frac: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Drag a box at fractions of the canvas's visible view; returns its corners in fractions of the whole
    canvas, i.e. of the image (the image fills the canvas)."""
    canvas = page.locator(".upper-canvas").first
    wait_until_still(page, canvas)
    view, whole = _view_box(page), canvas.bounding_box()
    assert whole is not None
    x0, y0 = view["x"] + frac[0] * view["width"], view["y"] + frac[1] * view["height"]
    x1, y1 = view["x"] + frac[2] * view["width"], view["y"] + frac[3] * view["height"]
    before = _region_count(page)

    def drag() -> None:
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
        page.mouse.move(x1, y1, steps=4)
        page.mouse.up()

    act(page, drag)
    expect(_regions_heading(page)).to_have_text(f"Regions ({before + 1})", timeout=5_000)
    wait_for_app_run(page)
    return ((x0 - whole["x"]) / whole["width"], (y0 - whole["y"]) / whole["height"],
            (x1 - whole["x"]) / whole["width"], (y1 - whole["y"]) / whole["height"])


def _assert_percent(item: dict[str, Any], frac: tuple[float, float, float, float]) -> None:
    want = {"x": frac[0] * 100, "y": frac[1] * 100, "width": (frac[2] - frac[0]) * 100,
            "height": (frac[3] - frac[1]) * 100}
    for field, value in want.items():
        got = item["value"][field]
        assert abs(got - value) <= 0.25, f"{item['value']['rectanglelabels']} {field}: {got:.3f} != {value:.3f}"


@pytest.mark.e2e
def test_a_box_drawn_zoomed_in_and_panned_stores_the_percent_it_has_unzoomed(app_server, page, shot, large_project):
    user_id, task_id = _open_large(app_server, page, large_project, "newcomer")
    canvas = page.locator(".upper-canvas").first
    assert canvas.get_attribute("width") == "760"
    # the same place on the picture, drawn at 100 % ...
    _pick_label(page, "Tower")
    unzoomed = _drag_in_view(page, (0.40, 0.40, 0.60, 0.58))
    shot("01-unzoomed-box")

    # ... and at 200 %: a twice larger canvas (a sharper picture) in a scrolling view, centred where it was
    act(page, lambda: page.get_by_test_id("stButtonGroup").get_by_text("200%", exact=True).click())
    expect(canvas).to_have_attribute("width", "1520")
    wait_until_still(page, canvas)
    view, whole = _view_box(page), canvas.bounding_box()
    assert whole is not None and whole["width"] == pytest.approx(1520, abs=1) and view["width"] < whole["width"]
    page.wait_for_function("el => el.scrollLeft > 0", arg=page.locator(".dc-scroll").first.element_handle())
    shot("02-zoomed-200")
    _pick_label(page, "Flag")
    # the Tower box's place on the zoomed canvas, in fractions of the view
    same = tuple(((whole["x"] + f * whole["width"]) - view["x"]) / view["width"] if i % 2 == 0 else
                 ((whole["y"] + f * whole["height"]) - view["y"]) / view["height"] for i, f in enumerate(unzoomed))
    assert all(0 < f < 1 for f in same), same
    zoomed = _drag_in_view(page, same)  # type: ignore[arg-type]
    shot("03-same-box-zoomed")

    # Pan: a drag moves the view instead of drawing; then a box drawn there is stored where it is on the image
    act(page, lambda: page.get_by_test_id("stCheckbox").filter(has_text="Pan").locator("label").click())
    scroll = page.locator(".dc-scroll").first
    left_before = scroll.evaluate("el => el.scrollLeft")
    view = _view_box(page)
    page.mouse.move(view["x"] + view["width"] * 0.7, view["y"] + view["height"] * 0.7)
    page.mouse.down()
    page.mouse.move(view["x"] + view["width"] * 0.2, view["y"] + view["height"] * 0.3, steps=6)
    page.mouse.up()
    assert scroll.evaluate("el => el.scrollLeft") > left_before + 100
    wait_for_app_run(page)
    expect(_regions_heading(page)).to_have_text("Regions (2)")  # the drag drew nothing
    act(page, lambda: page.get_by_test_id("stCheckbox").filter(has_text="Pan").locator("label").click())
    _pick_label(page, "Camera")
    panned = _drag_in_view(page, (0.55, 0.55, 0.75, 0.8))
    assert panned[2] > 0.75, panned  # far right on the picture: only reachable by panning at 200 %
    shot("04-panned-box")

    result = _draft(app_server, user_id, task_id, lambda r: len(r) == 3)
    by_label = {i["value"]["rectanglelabels"][0]: i for i in result}
    assert all((i["original_width"], i["original_height"]) == LARGE_SIZE for i in result)
    _assert_percent(by_label["Tower"], unzoomed)
    _assert_percent(by_label["Flag"], zoomed)
    _assert_percent(by_label["Camera"], panned)
    for field in ("x", "y", "width", "height"):  # the same box, zoomed or not: the same percentages
        assert abs(by_label["Tower"]["value"][field] - by_label["Flag"]["value"][field]) <= 0.25, field
