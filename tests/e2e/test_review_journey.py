"""The review loop in a real browser (issue 13, point 6).

1. Two annotators draw different boxes on one picture; the task lands in the review queue; the reviewer sees
   both annotators overlaid, switches one off, moves one box of the proposed consensus in "Fix and accept" and
   accepts it; the COCO export ("consensus and ground truth") holds the moved box.
2. The reviewer returns one annotator's answer with a comment; that annotator gets the task back first, with
   the comment and their own boxes, moves a box (still not agreeing) and updates; the task is back in the
   review queue as "Back from authors".

Each journey has a project of its own (set up through core services, as a manager would): a 640x480 grid
picture under the uploads folder, RectangleLabels, 2 annotations per task, review first below a high
agreement threshold. The picture is shown 1:1 on every canvas, so a canvas pixel is an image pixel.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.conftest import REPO_ROOT
from tests.e2e.helpers import (
    AppServer,
    act,
    button,
    is_selected,
    run_cli,
    sign_in,
    submit_button,
    wait_for_app_run,
    wait_for_rows,
    wait_until_still,
)

PICTURE_SIZE = (640, 480)
PICTURE_URL = "/data/upload/review-grid.png"
CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="Tower"/><Label value="Flag"/></RectangleLabels>
</View>"""
PASSWORDS = {"reviewer": "reviewer-demo"}  # annotators: annotator-demo
NAMES = {"annotator1": "Ana Annotator", "annotator2": "Ben Annotator", "annotator3": "Chloe Annotator",
         "annotator4": "Dev Annotator"}
# Boxes as fractions of the picture (x0, y0, x1, y1): the Towers agree, the Flags are far apart.
FIRST_BOXES = {"Tower": (0.10, 0.10, 0.40, 0.50), "Flag": (0.60, 0.60, 0.85, 0.85)}
SECOND_BOXES = {"Tower": (0.11, 0.11, 0.41, 0.49), "Flag": (0.50, 0.15, 0.70, 0.35)}
PIXEL_TOLERANCE = 2.5  # a drag lands within a pixel or two of where it was aimed

SETUP_SCRIPT = """
import io, json, sys
from core.bootstrap import make_uow_factory
from core.imports import import_tasks_file
from core.projects import ProjectSettings, add_member, create_project
from core.users import cli_actor, resolve_login

title, config, image, annotators = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
make_uow = make_uow_factory()
with make_uow() as uow:
    admin = cli_actor(uow)
    project = create_project(uow, admin, title=title, config_xml=config, settings=ProjectSettings(
        overlap=2, maximum_annotations=3, agreement_threshold=0.95, escalation_order="review_first"))
    for login in annotators:
        add_member(uow, admin, project_id=project.id, user_id=resolve_login(uow, login).id, role="annotator")
    add_member(uow, admin, project_id=project.id, user_id=resolve_login(uow, "reviewer").id, role="reviewer")
    tasks = json.dumps([{"data": {"image": image}}]).encode()
    import_tasks_file(uow, admin, project_id=project.id, stream=io.BytesIO(tasks), filename="tasks.json")
    uow.commit()
print(project.id)
"""


# --- setting up ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def picture(app_server: AppServer) -> str:
    """A numbered grid picture in the uploads folder (the screenshots show where each box is)."""
    uploads = app_server.data_dir / "media" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", PICTURE_SIZE, (200, 214, 229))
    draw = ImageDraw.Draw(image)
    for n, x in enumerate(range(0, PICTURE_SIZE[0], 80)):
        for m, y in enumerate(range(0, PICTURE_SIZE[1], 80)):
            if (n + m) % 2 == 0:
                draw.rectangle((x, y, x + 79, y + 79), fill=(150, 170, 200))
            draw.text((x + 5, y + 5), f"{n},{m}", fill=(20, 20, 60))
    image.save(uploads / PICTURE_URL.rsplit("/", 1)[-1])
    return PICTURE_URL


def _create_project(server: AppServer, title: str, annotators: list[str], image: str) -> tuple[int, int]:
    """A one-task project through core services (the CLI has no escalation settings); (project id, task id)."""
    env = {**os.environ, "QUORUM_DATA_DIR": str(server.data_dir)}
    env.pop("QUORUM_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", SETUP_SCRIPT, title, CONFIG, image, ",".join(annotators)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"setting up {title!r}: {done.stdout}\n{done.stderr}"
    project_id = int(done.stdout.strip().splitlines()[-1])
    task_id = int(server.query("SELECT id FROM tasks WHERE project_id = ?", (project_id,))[0]["id"])
    return project_id, task_id


# --- the browser -------------------------------------------------------------------------------------------


def _sign_in_at(page: Any, server: AppServer, path: str, user: str) -> None:
    """Sign out whoever is signed in, open ``path`` (a page of one project) and sign in there as ``user``."""
    sign_out = page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")
    if page.url.startswith(server.url) and sign_out.count():
        act(page, lambda: sign_out.click())
        expect(page.get_by_test_id("stForm")).to_be_visible()
    page.goto(f"{server.url}{path}")
    sign_in(page, server, user, PASSWORDS.get(user, "annotator-demo"), go=False)


def _canvas(scope: Any) -> Any:
    canvas = scope.locator(".upper-canvas").first
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    return canvas


def _canvas_box(page: Any, canvas: Any) -> dict[str, float]:
    wait_until_still(page, canvas)
    box = canvas.bounding_box()
    assert box is not None
    # shown 1:1: a CSS pixel is a canvas pixel is an image pixel
    assert abs(box["width"] - PICTURE_SIZE[0]) < 1 and abs(box["height"] - PICTURE_SIZE[1]) < 1, box
    return dict(box)


def _drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    def drag() -> None:
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=5)
        page.mouse.move(*end, steps=5)
        page.mouse.up()

    act(page, drag)
    wait_for_app_run(page)


def _regions(scope: Any) -> list[tuple[str, float, float, float, float]]:
    """The region list under a canvas: (label, x, y, w, h) in percent, as listed ("#2 Flag x 50.0% y ...")."""
    rows = scope.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"^#\d+ ")).all_inner_texts()
    found = []
    for row in rows:
        match = re.match(r"#\d+\s+(\w+)\s+x ([\d.]+)% y ([\d.]+)% w ([\d.]+)% h ([\d.]+)%", row.strip())
        if match:
            x, y, w, h = (float(match.group(i)) for i in range(2, 6))
            found.append((match.group(1), x, y, w, h))
    return found


def _label_and_submit(page: Any, server: AppServer, project_id: int, task_id: int, user: str,
                      boxes: dict[str, tuple[float, float, float, float]]) -> None:
    """``user`` draws ``boxes`` on the project's task and submits."""
    _sign_in_at(page, server, f"/label?project={project_id}", user)
    expect(submit_button(page)).to_be_visible()
    wait_for_app_run(page)
    heading = page.get_by_test_id("stMarkdownContainer").get_by_text("Regions (", exact=False).first
    for n, (label, (x0, y0, x1, y1)) in enumerate(boxes.items(), start=1):
        target = button(page, label)
        if not is_selected(target):
            act(page, lambda: target.click())
        box = _canvas_box(page, _canvas(page))
        _drag(page, (box["x"] + x0 * box["width"], box["y"] + y0 * box["height"]),
              (box["x"] + x1 * box["width"], box["y"] + y1 * box["height"]))
        expect(heading).to_have_text(f"Regions ({n})")
    act(page, lambda: submit_button(page).click())
    user_id = server.user_id(user)
    rows = wait_for_rows(server, "SELECT result FROM annotations WHERE task_id = ? AND completed_by_id = ?",
                         (task_id, user_id), lambda r: len(r) == 1)
    stored = {i["value"]["rectanglelabels"][0]: i["value"] for i in json.loads(rows[0]["result"])}
    assert sorted(stored) == sorted(boxes), stored
    for label, (x0, y0, x1, y1) in boxes.items():
        assert abs(stored[label]["x"] - x0 * 100) < 0.5 and abs(stored[label]["y"] - y0 * 100) < 0.5, stored


def _open_the_next_task(page: Any, task_id: int, reason: str, shot: Any, step: str) -> None:
    """On the review queue: the task's row says why it waits (screenshot ``step``); "Open the next task"
    opens it."""
    row = page.get_by_test_id("stHorizontalBlock").filter(has=page.get_by_text(f"Task {task_id}", exact=True)) \
        .filter(has=page.get_by_role("button", name="Open"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(reason)
    expect(page.get_by_test_id("stMetric").filter(has_text="Waiting for review")).to_contain_text("1")
    wait_for_app_run(page)
    shot(step)
    act(page, lambda: button(page, re.compile(r"^Open the next task")).click())
    expect(page.get_by_role("heading", name=f"Task {task_id} · waiting for review")).to_be_visible()
    wait_for_app_run(page)


def _differences(page: Any) -> Any:
    """The "Where the answers differ" expander, once both of its pictures are drawn."""
    expander = page.get_by_test_id("stExpander").filter(has_text="Where the answers differ")
    expect(expander.locator(".js-plotly-plot")).to_have_count(2)
    return expander


def _traces(expander: Any) -> list[list[dict[str, Any]]]:
    """The regions drawn on the overlay and on the consensus picture: one trace per region, with its name
    (the annotator's, or the label's), x corners and dash."""
    traces: list[list[dict[str, Any]]] = expander.locator(".js-plotly-plot").evaluate_all(
        """plots => plots.map(p => p.data.map(t => ({name: t.name, x: t.x, y: t.y,
                                                     dash: (t.line || {}).dash || 'solid'})))""")
    return traces


def _scroll_to_top_of(locator: Any) -> None:
    locator.evaluate("el => el.scrollIntoView({block: 'start'})")
    locator.page.wait_for_timeout(300)  # the scroll lands before the screenshot (no app run to wait for)


def _box_of(trace: dict[str, Any]) -> tuple[float, float, float, float]:
    return min(trace["x"]), min(trace["y"]), max(trace["x"]), max(trace["y"])


def _near(a: tuple[float, ...], b: tuple[float, ...], tolerance: float = PIXEL_TOLERANCE) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=True))


def _pixels(frac: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    w, h = PICTURE_SIZE
    return frac[0] * w, frac[1] * h, frac[2] * w, frac[3] * h


# --- journey 1: overlay, toggle, fix from the consensus, export ------------------------------------------------

FIX_PROJECT = "Review journey: fix"
FLAG_MOVE = (-0.40, 0.05)  # the reviewer moves the first annotator's Flag this far (fractions of the picture)


@pytest.mark.e2e
def test_the_reviewer_compares_two_annotators_fixes_a_box_of_the_consensus_and_coco_exports_it(
        app_server: AppServer, page: Any, shot: Any, picture: str, tmp_path: Path) -> None:
    project_id, task_id = _create_project(app_server, FIX_PROJECT, ["annotator1", "annotator2"], picture)
    _label_and_submit(page, app_server, project_id, task_id, "annotator1", FIRST_BOXES)
    _label_and_submit(page, app_server, project_id, task_id, "annotator2", SECOND_BOXES)
    shot("01-second-annotator-submitted")
    task = app_server.query("SELECT state, review_reason FROM tasks WHERE id = ?", (task_id,))[0]
    assert (task["state"], task["review_reason"]) == ("review", "disagreement"), dict(task)

    # The reviewer: the task waits in the queue because the annotators disagree.
    _sign_in_at(page, app_server, f"/review?project={project_id}", "reviewer")
    _open_the_next_task(page, task_id, "Disagreement", shot, "02-review-queue")

    # Both annotators' boxes on one picture, each annotator in their own colour.
    ana, ben = NAMES["annotator1"], NAMES["annotator2"]
    differences = _differences(page)
    pills = differences.get_by_test_id("stButtonGroup").filter(has_text="Annotators shown")
    for name in (ana, ben):
        expect(pills.get_by_role("button", name=name)).to_have_attribute("aria-pressed", "true")
    overlay, consensus = _traces(differences)
    drawn = {(t["name"], _box_of(t)) for t in overlay}
    assert {name for name, _ in drawn} == {ana, ben}, overlay
    for name, boxes in ((ana, FIRST_BOXES), (ben, SECOND_BOXES)):
        mine = [box for who, box in drawn if who == name]
        assert len(mine) == 2 and all(any(_near(box, _pixels(want)) for box in mine) for want in boxes.values()), \
            (name, mine)
    # The proposed consensus: one Tower (both drew it) and the two Flags nobody else drew, dashed.
    assert sorted((t["name"], t["dash"]) for t in consensus) == [("Flag", "dash"), ("Flag", "dash"),
                                                                  ("Tower", "solid")], consensus
    _scroll_to_top_of(differences)
    shot("03-both-annotators-overlaid")

    # One annotator switched off: only the other's boxes stay on the overlay; the consensus is unchanged.
    act(page, lambda: pills.get_by_role("button", name=ben).click())
    expect(pills.get_by_role("button", name=ben)).to_have_attribute("aria-pressed", "false")
    expect(pills.get_by_role("button", name=ana)).to_have_attribute("aria-pressed", "true")
    differences = _differences(page)
    page.wait_for_function(
        """([el, name]) => { const p = el.querySelector('.js-plotly-plot');
                             return p && p.data && p.data.length > 0 && p.data.every(t => t.name === name); }""",
        arg=[differences.element_handle(), ana])
    overlay, consensus_after = _traces(differences)
    assert [t["name"] for t in overlay] == [ana, ana], overlay
    assert len(consensus_after) == 3, consensus_after
    _scroll_to_top_of(differences)
    shot("04-second-annotator-switched-off")

    # Fix and accept, starting from the consensus: move the first annotator's Flag elsewhere.
    fix = page.get_by_test_id("stExpander").filter(has_text="Fix and accept")
    act(page, lambda: fix.locator("summary").first.click())
    expect(fix.get_by_role("radio", name="Consensus")).to_be_checked()
    expect(fix.get_by_test_id("stMarkdownContainer").get_by_text("Regions (3)", exact=True)).to_be_visible()
    before = _regions(fix)
    flag = FIRST_BOXES["Flag"]
    assert any(r[0] == "Flag" and _near(r[1:3], (flag[0] * 100, flag[1] * 100), 0.5) for r in before), before
    canvas = _canvas(fix)
    fix.locator('.dc-toolbar button[aria-label="Edit"]').click()  # the pencil: move and resize shapes
    box = _canvas_box(page, canvas)
    centre = (box["x"] + (flag[0] + flag[2]) / 2 * box["width"], box["y"] + (flag[1] + flag[3]) / 2 * box["height"])
    _drag(page, centre, (centre[0] + FLAG_MOVE[0] * box["width"], centre[1] + FLAG_MOVE[1] * box["height"]))
    after = _regions(fix)
    moved = [r for r in after if r not in before]
    assert len(after) == 3 and len(moved) == 1 and moved[0][0] == "Flag", (before, after)
    assert _near(moved[0][1:3], ((flag[0] + FLAG_MOVE[0]) * 100, (flag[1] + FLAG_MOVE[1]) * 100), 0.5), moved
    _scroll_to_top_of(fix)
    shot("05-flag-moved-in-fix-and-accept")

    act(page, lambda: button(page, "Accept the fixed answer").click())
    expect(page.get_by_text(f"Stored your answer for task {task_id}")).to_be_visible()
    wait_for_app_run(page)
    shot("06-accepted")
    task = app_server.query("SELECT state FROM tasks WHERE id = ?", (task_id,))[0]
    assert task["state"] == "done"
    verdicts = [r["verdict"] for r in app_server.query("SELECT verdict FROM reviews WHERE task_id = ?", (task_id,))]
    assert verdicts == ["fixed"], verdicts

    # The ground truth goes out in the COCO export ("consensus and ground truth") with the moved box.
    out = tmp_path / "coco.json"
    run_cli(app_server, "export", FIX_PROJECT, "--format", "COCO", "--selection", "consensus", "--out", str(out))
    coco = json.loads(out.read_text())
    assert [(i["width"], i["height"]) for i in coco["images"]] == [PICTURE_SIZE], coco["images"]
    names = {c["id"]: c["name"] for c in coco["categories"]}
    bboxes = sorted((names[a["category_id"]], tuple(a["bbox"])) for a in coco["annotations"])
    assert [label for label, _ in bboxes] == ["Flag", "Flag", "Tower"], bboxes
    w, h = PICTURE_SIZE
    x0, y0, x1, y1 = _pixels(flag)
    dx, dy = FLAG_MOVE[0] * w, FLAG_MOVE[1] * h
    want_moved = (x0 + dx, y0 + dy, x1 - x0, y1 - y0)
    flags = [bbox for label, bbox in bboxes if label == "Flag"]
    assert any(_near(bbox, want_moved) for bbox in flags), (flags, want_moved)
    assert not any(_near(bbox[:2], (x0, y0), 10) for bbox in flags), ("the Flag was exported unmoved", flags)
    bx0, by0, bx1, by1 = _pixels(SECOND_BOXES["Flag"])
    assert any(_near(bbox, (bx0, by0, bx1 - bx0, by1 - by0)) for bbox in flags), flags  # the other Flag kept


# --- journey 2: sent back to one author, corrected, back in review ---------------------------------------------

BACK_PROJECT = "Review journey: send back"
COMMENT = "The flag hangs at the bottom: move your Flag box down there."
CORRECTED_FLAG = (0.05, 0.60, 0.25, 0.80)  # still not where the other annotator drew it: no agreement yet


@pytest.mark.e2e
def test_a_returned_answer_reaches_its_author_who_corrects_it_and_the_task_comes_back_to_review(
        app_server: AppServer, page: Any, shot: Any, picture: str) -> None:
    project_id, task_id = _create_project(app_server, BACK_PROJECT, ["annotator3", "annotator4"], picture)
    _label_and_submit(page, app_server, project_id, task_id, "annotator3", FIRST_BOXES)
    _label_and_submit(page, app_server, project_id, task_id, "annotator4", SECOND_BOXES)
    dev_id = app_server.user_id("annotator4")
    dev_annotation = int(app_server.query("SELECT id FROM annotations WHERE task_id = ? AND completed_by_id = ?",
                                          (task_id, dev_id))[0]["id"])

    # The reviewer sends the second annotator's answer back to them, with a comment.
    _sign_in_at(page, app_server, f"/review?project={project_id}", "reviewer")
    _open_the_next_task(page, task_id, "Disagreement", shot, "00-review-queue")
    back = page.get_by_test_id("stExpander").filter(has_text="Send back")
    act(page, lambda: back.locator("summary").first.click())
    expect(back.get_by_role("radio", name="Their authors, to correct their answer")).to_be_checked()
    chooser = back.get_by_test_id("stMultiSelect")
    chooser.locator("input").click()
    page.keyboard.type("Dev")
    # The one option left is highlighted: Enter takes it (a click could meet the list while it re-renders under
    # load, "element was detached from the DOM" for 20 s in a CI rehearsal).
    expect(page.get_by_role("option", name=NAMES["annotator4"])).to_be_visible()
    act(page, lambda: page.keyboard.press("Enter"))
    page.keyboard.press("Escape")
    expect(chooser).to_contain_text(NAMES["annotator4"])
    expect(chooser).not_to_contain_text(NAMES["annotator3"])
    back.get_by_role("textbox", name=re.compile(r"^What should they do differently")).fill(COMMENT)
    _scroll_to_top_of(back)
    shot("01-send-back-to-one-author")
    act(page, lambda: back.get_by_role("button", name="Send back").click())
    expect(page.get_by_text(f"Task {task_id} went back to 1 author(s) to correct")).to_be_visible()
    wait_for_app_run(page)
    shot("02-sent-back")
    returned = [dict(r) for r in app_server.query("SELECT annotation_id, verdict, comment FROM reviews WHERE task_id = ?",
                                                  (task_id,))]
    assert returned == [{"annotation_id": dev_annotation, "verdict": "returned", "comment": COMMENT}], returned
    assert app_server.query("SELECT state FROM tasks WHERE id = ?", (task_id,))[0]["state"] == "open"

    # The author: their next task is this one, with the comment and their own boxes, to update.
    _sign_in_at(page, app_server, f"/label?project={project_id}", "annotator4")
    expect(page.get_by_test_id("stAlert").filter(has_text=f"A reviewer sent this task back: “{COMMENT}”")) \
        .to_be_visible()
    expect(submit_button(page)).to_contain_text("Update")
    expect(page.get_by_text("1 new review", exact=True)).to_be_visible()  # the badge on "My earlier tasks"
    expect(page.get_by_test_id("stMarkdownContainer").get_by_text("Regions (2)", exact=True)).to_be_visible()
    wait_for_app_run(page)
    own = _regions(page)
    flag = SECOND_BOXES["Flag"]
    assert sorted(r[0] for r in own) == ["Flag", "Tower"], own
    assert any(r[0] == "Flag" and _near(r[1:3], (flag[0] * 100, flag[1] * 100), 0.5) for r in own), own
    shot("03-returned-task-on-the-label-page")

    canvas = _canvas(page)
    page.locator('.dc-toolbar button[aria-label="Edit"]').first.click()
    box = _canvas_box(page, canvas)
    centre = (box["x"] + (flag[0] + flag[2]) / 2 * box["width"], box["y"] + (flag[1] + flag[3]) / 2 * box["height"])
    target = ((CORRECTED_FLAG[0] + CORRECTED_FLAG[2]) / 2, (CORRECTED_FLAG[1] + CORRECTED_FLAG[3]) / 2)
    _drag(page, centre, (box["x"] + target[0] * box["width"], box["y"] + target[1] * box["height"]))
    corrected = [r for r in _regions(page) if r[0] == "Flag"]
    assert len(corrected) == 1 and _near(corrected[0][1:3], (CORRECTED_FLAG[0] * 100, CORRECTED_FLAG[1] * 100), 0.5), \
        corrected
    shot("04-flag-corrected")
    act(page, lambda: submit_button(page).click())
    rows = wait_for_rows(app_server, "SELECT result FROM annotations WHERE id = ?", (dev_annotation,),
                         lambda r: any(i["value"]["x"] < 10 for i in json.loads(r[0]["result"])))
    stored = {i["value"]["rectanglelabels"][0]: i["value"] for i in json.loads(rows[0]["result"])}
    assert _near((stored["Flag"]["x"], stored["Flag"]["y"]), (CORRECTED_FLAG[0] * 100, CORRECTED_FLAG[1] * 100), 0.5)
    task = wait_for_rows(app_server, "SELECT state, review_reason FROM tasks WHERE id = ?", (task_id,),
                         lambda r: r[0]["state"] == "review")[0]
    assert task["review_reason"] == "returned", dict(task)
    wait_for_app_run(page)
    shot("05-author-updated")

    # The reviewer finds it in the queue again, with the corrected box on the overlay.
    _sign_in_at(page, app_server, f"/review?project={project_id}", "reviewer")
    _open_the_next_task(page, task_id, "Back from authors", shot, "06-back-in-the-review-queue")
    differences = _differences(page)
    overlay, _ = _traces(differences)
    devs = [_box_of(t) for t in overlay if t["name"] == NAMES["annotator4"]]
    assert any(_near(b, _pixels(CORRECTED_FLAG)) for b in devs), devs
    _scroll_to_top_of(differences)
    shot("07-corrected-answer-overlaid")
