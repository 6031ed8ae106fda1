"""The per-region panel of a drawn box, in a real browser: the compact answers reuse the whole-task inputs,
and the labeling page's Ctrl+Enter only ever submits, whatever input has the focus."""
from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    AppServer,
    act,
    open_task_id,
    progress_caption,
    run_cli,
    sign_in,
    start_labeling,
    submitted_count,
    wait_for_app_run,
    wait_until_still,
)

PROJECT = "Coins per region"
CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="Coin"/><Label value="Cup"/></RectangleLabels>
  <Header value="How many coins are stacked?"/>
  <Number name="count" toName="image" perRegion="true" min="0" max="20"/>
  <Rating name="shine" toName="image" perRegion="true" maxRating="5" title="Shine"/>
  <Choices name="side" toName="image" perRegion="true" title="Side"><Choice value="Heads"/><Choice value="Tails"/></Choices>
</View>"""
USERS = {"newcomer": "newcomer-demo", "annotator1": "annotator-demo", "annotator2": "annotator-demo",
         "annotator3": "annotator-demo"}


@pytest.fixture(scope="module")
def project(app_server: AppServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("coins-per-region")
    (folder / "config.xml").write_text(CONFIG)
    demo = json.loads(app_server.query(
        "SELECT t.data FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.title = 'Objects in photos' "
        "ORDER BY t.id LIMIT 1")[0]["data"])
    (folder / "tasks.json").write_text(json.dumps([{"data": {"image": demo["image"]}}] * 6))
    run_cli(app_server, "project", "create", PROJECT, "--config", str(folder / "config.xml"))
    run_cli(app_server, "import", PROJECT, str(folder / "tasks.json"))
    for user in USERS:
        run_cli(app_server, "project", "add-member", PROJECT, user, "annotator")
    return PROJECT


def _draw_box(page: Any) -> None:
    canvas = page.locator(".upper-canvas").first
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    wait_until_still(page, canvas)
    box = canvas.bounding_box()
    assert box is not None
    x0, y0, x1, y1 = (box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"],
                      box["x"] + 0.6 * box["width"], box["y"] + 0.6 * box["height"])

    def drag() -> None:
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
        page.mouse.move(x1, y1, steps=4)
        page.mouse.up()

    act(page, drag)
    wait_for_app_run(page)


def _star(page: Any, n: int) -> Any:
    """The ``n``-star option of the per-region Rating (a segmented control: React Aria
    toggle buttons, role radio, pressed on the key *up*)."""
    return page.get_by_test_id("stButtonGroup").get_by_role("radio", name="★" * n, exact=True)


def _focused_option(page: Any, focused: str) -> Any:
    if focused == "star":
        return _star(page, 1)
    return page.get_by_test_id("stButton").filter(has=page.get_by_text("Heads", exact=True)).get_by_role("button")


@pytest.mark.e2e
@pytest.mark.parametrize(("user", "focused"), [("newcomer", "star"), ("annotator1", "choice")])
def test_ctrl_enter_on_a_focused_option_submits_without_choosing_it(app_server, page, shot, project, user, focused):
    """Tab from the Number lands on the first star; Ctrl+Enter there (or on a choice) submits the task and
    gives no rating (no choice): the key is the submit's only."""
    sign_in(page, app_server, user, USERS[user])
    start_labeling(page, project)
    user_id, project_id = app_server.user_id(user), app_server.project_id(project)
    task_id = open_task_id(app_server, user_id, project_id)
    before = submitted_count(page)
    _draw_box(page)
    number = page.get_by_test_id("stNumberInput").locator("input")
    number.fill("4")
    act(page, lambda: number.press("Tab"))
    shot("01-number-answered")
    if focused == "star":
        expect(_star(page, 1)).to_be_focused()  # where Tab from the Number goes
    else:
        _focused_option(page, focused).focus()
        expect(_focused_option(page, focused)).to_be_focused()
    shot(f"02-{focused}-focused")
    act(page, lambda: page.keyboard.press("Control+Enter"))
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)
    rows = app_server.query("SELECT result FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                            (user_id, task_id))
    assert len(rows) == 1, rows
    result = json.loads(rows[0]["result"])
    assert [i["value"]["number"] for i in result if i["from_name"] == "count"] == [4]
    assert not [i for i in result if i["from_name"] in ("shine", "side")], result


@pytest.mark.e2e
def test_the_panel_shows_whole_numbers_the_question_and_a_filled_chosen_rating(app_server, page, shot, project):
    user = "annotator2"
    sign_in(page, app_server, user, USERS[user])
    start_labeling(page, project)
    _draw_box(page)
    number = page.get_by_test_id("stNumberInput").locator("input")
    number.fill("4")
    act(page, lambda: number.press("Enter"))
    expect(number).to_have_value("4")  # a whole-number question: no "4.00"
    # The Number's question is the Header above it in the config (drawn below the image): the panel says it,
    # not the control's name.
    labels = page.get_by_test_id("stWidgetLabel")
    expect(labels.filter(has_text="How many coins are stacked?")).to_have_count(1)
    expect(labels.filter(has_text="count")).to_have_count(0)
    act(page, lambda: _star(page, 3).click())
    chosen = _star(page, 3)
    expect(chosen).to_have_attribute("aria-checked", "true")
    expect(chosen).to_have_css("background-color", "rgb(59, 91, 219)")  # the theme's primary, as a chosen choice
    expect(chosen).to_have_css("color", "rgb(255, 255, 255)")
    expect(_star(page, 2)).not_to_have_css("background-color", "rgb(59, 91, 219)")
    shot("01-panel")
