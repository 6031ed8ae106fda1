"""A span marked with the mouse on the NER task is stored with Label Studio offsets (exclusive end)."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    submit_and_read_result,
    act,
    button,
    is_selected,
    open_task_id,
    primary,
    sign_in,
    start_labeling,
    submitted_count,
    wait_for_app_run,
)

PROJECT = "News named entities"
LABEL = "MISC"

# The client rectangle of the text between two global offsets of the span component's text (label chips
# excluded), found inside the component's open shadow root.
RANGE_RECT_JS = """([root, start, end]) => {
  const body = root.querySelector('.qsa-body');
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {acceptNode: (n) =>
    n.parentElement.closest('[data-ignore]') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  let offset = 0, node;
  while ((node = walker.nextNode())) {
    const len = node.data.length;
    if (start >= offset && end <= offset + len) {
      const range = document.createRange();
      range.setStart(node, start - offset);
      range.setEnd(node, end - offset);
      const r = range.getBoundingClientRect();
      return {x: r.x, y: r.y, w: r.width, h: r.height, text: range.toString()};
    }
    offset += len;
  }
  return null;
}"""


def _two_free_words(text: str, taken: list[tuple[int, int]]) -> tuple[int, int]:
    """Offsets of two neighbouring words (one space apart) that no pre-labeled span touches."""
    words = [m for m in re.finditer(r"[A-Za-z]{3,}", text)]
    for first, second in zip(words, words[1:]):
        start, end = first.start(), second.end()
        if text[first.end():second.start()] == " " and all(end <= a or start >= b for a, b in taken):
            return start, end
    raise AssertionError(f"no two free neighbouring words in {text!r}")


def _select_text(page: Any, start: int, end: int) -> dict[str, Any]:
    root = page.locator(".qsa-root").first
    expect(root).to_be_visible()
    rect = root.evaluate(RANGE_RECT_JS.replace("([root, start, end])", "(root, [start, end])"), [start, end])
    assert rect is not None, "the words are not inside one text node"
    y = rect["y"] + rect["h"] / 2

    def drag() -> None:
        page.mouse.move(rect["x"] + 2, y)
        page.mouse.down()
        page.mouse.move(rect["x"] + rect["w"] / 2, y, steps=4)
        page.mouse.move(rect["x"] + rect["w"] - 2, y, steps=4)
        page.mouse.up()

    act(page, drag)
    return rect


@pytest.mark.e2e
def test_a_span_marked_with_the_mouse_is_stored_with_the_offsets_of_the_selected_words(app_server, page, shot):
    user = "newcomer"
    sign_in(page, app_server, user, "newcomer-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(user), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    text = json.loads(app_server.query("SELECT data FROM tasks WHERE id = ?", (task_id,))[0]["data"])["text"]
    predicted = [item for row in app_server.query("SELECT result FROM predictions WHERE task_id = ?", (task_id,))
                 for item in json.loads(row["result"])]
    start, end = _two_free_words(text, [(i["value"]["start"], i["value"]["end"]) for i in predicted])
    before = submitted_count(page)
    shot("01-task")

    label = button(page, LABEL)
    if not is_selected(label):
        act(page, lambda: label.click())
    expect(primary(label)).to_be_visible()
    rect = _select_text(page, start, end)
    assert rect["text"] == text[start:end]
    shown = f'"{text[start:end]}" · characters {start + 1}-{end}'  # 1-based and inclusive, for people
    row = page.get_by_test_id("stMarkdownContainer").filter(has_text=shown)
    expect(row.first).to_be_visible()
    expect(row.first).to_contain_text(LABEL)
    wait_for_app_run(page)
    shot("02-span-marked")

    result = submit_and_read_result(page, app_server, shot, user_id=user_id, task_id=task_id, before=before,
                                    step="03-submitted")
    mine = [i for i in result if i.get("value", {}).get("labels") == [LABEL]
            and i["id"] not in {p.get("id") for p in predicted}]
    assert len(mine) == 1, result
    value = mine[0]["value"]
    assert (value["start"], value["end"]) == (start, end)
    assert value["text"] == text[value["start"]:value["end"]]  # exclusive end, as in Label Studio
