"""The rows of the review queue (views/widgets/review_queue.py) through AppTest on a copy of the demo database:
an image task is named by its file, not its raw URL, and each row's "Open" comes first at its own width."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.pages.test_app_shell import (  # noqa: F401 - fixtures shared with the app shell tests
    _project_id,
    _query,
    _user_id,
    data_dir,
    seeded_demo_db,
)
from tests.pages.test_review_queue_widget import TIMEOUT_S, _queue_script, _to_review

PHOTOS = "Objects in photos"


def test_a_photo_task_shows_its_file_name_and_every_row_opens_from_its_first_column(data_dir: Path) -> None:
    project_id = _project_id(data_dir, PHOTOS)
    ids = _to_review(data_dir, project_id, 2)
    urls = {int(r["id"]): r["data"] for r in _query(data_dir, "SELECT id, data FROM tasks WHERE id IN (?, ?)",
                                                    tuple(ids))}
    at = AppTest.from_function(_queue_script, default_timeout=TIMEOUT_S)
    at.session_state["test_user_id"] = _user_id(data_dir, "reviewer")
    at.session_state["test_project_id"] = project_id
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    for data in urls.values():
        assert "/data/" in data and "/data/" not in shown  # the raw media URL is not shown ...
    assert shown.count(".jpg") >= 2  # ... its file name is
    # Each row: a horizontal container whose first element is its Open button (its own width: never cut to
    # "O…"), then the text, which starts with the task.
    rows = [block for block in at.get("flex_container")
            if [c.type for c in block.children.values()] == ["button", "markdown"]]
    assert len(rows) == 2
    for row in rows:
        button, text = row.children.values()
        assert button.label == "Open"
        assert text.value.startswith("**Task ")
