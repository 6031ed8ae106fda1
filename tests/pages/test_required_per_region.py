"""The labeling page refuses a submit that leaves a required per-region question unanswered for a region,
naming the question and the region (AppTest on app.py, the demo database; see test_app_shell.py)."""
from __future__ import annotations

import json
from pathlib import Path

from tests.pages.test_app_shell import (  # noqa: F401 - fixtures
    PENDING_SUBMIT_KEY,
    _query,
    _signed_in,
    _user_id,
    data_dir,
    seeded_demo_db,
)
from storage.db import dispose_engines

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="Coin"/><Label value="Cup"/></RectangleLabels>
  <Header value="Condition"/>
  <Choices name="condition" toName="image" perRegion="true" required="true">
    <Choice value="New"/><Choice value="Worn"/>
  </Choices>
</View>"""
BOX = {"id": "coinbox001", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
       "original_width": 384, "original_height": 303, "image_rotation": 0,
       "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "rectanglelabels": ["Coin"]}}


def test_a_box_without_its_required_per_region_answer_is_refused_and_named(data_dir: Path) -> None:  # noqa: F811
    from core.bootstrap import make_uow_factory
    from core.labeling import next_task, save_draft_part
    from core.settings import load_settings
    from core.users import get_user
    from tests.core.helpers import import_json, make_project

    make_uow = make_uow_factory(load_settings())
    with make_uow() as uow:
        me = get_user(uow, _user_id(data_dir, "newcomer"))
        admin = get_user(uow, _user_id(data_dir, "admin"))
    project = make_project(make_uow, admin, title="Coin condition", config=CONFIG, members={"annotator": [me]})
    import_json(make_uow, admin, project.id, [{"image": "/data/local-files/?d=demo/images/coins.jpg"}])
    with make_uow() as uow:  # the labeler drew a box (the canvas's work reaches the server as a draft)
        task = next_task(uow, me, project_id=project.id)
        assert task is not None
        save_draft_part(uow, me, task_id=task.task_id, names=frozenset({"label"}), items=[BOX])
        uow.commit()
    dispose_engines()

    at = _signed_in(data_dir, "newcomer")
    at.button(key=f"start_{project.id}").click().run()
    assert not at.exception, at.exception
    at.session_state[PENDING_SUBMIT_KEY] = (task.task_id, {"seq": 1, "items": [], "names": [], "active_s": 1.0})
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "Please answer “Condition” for box 1 (Coin) before submitting: it is required."]
    assert not _query(data_dir, "SELECT id FROM annotations WHERE task_id = ?", (task.task_id,))

    # Answered for the box (the panel's Choices of the selected region): stored.
    at.button(key=next(b.key for b in at.button if b.key and b.key.endswith("_sel_coinbox001"))).click().run()
    worn = next(b for b in at.button if b.key and b.key.endswith("_pr_condition_coinbox001_1_opt_Worn"))
    worn.click().run()
    at.session_state[PENDING_SUBMIT_KEY] = (task.task_id, {"seq": 2, "items": [], "names": [], "active_s": 1.0})
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    (row,) = _query(data_dir, "SELECT result FROM annotations WHERE task_id = ?", (task.task_id,))
    answer = next(i for i in json.loads(row["result"]) if i["from_name"] == "condition")
    assert answer["id"] == "coinbox001" and answer["value"]["choices"] == ["Worn"]
