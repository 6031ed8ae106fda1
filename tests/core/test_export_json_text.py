"""The Label Studio JSON export embeds stored JSON text instead of decoding and re-encoding it
(core.exports.iter_ls_task_json, orjson with fragments); every line must hold exactly the task dict of the
generic path (iter_ls_tasks), annotations and predictions included, values and key order, on both databases.
Lines are compared after one decode and encode with the json module, which spells numbers one way."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from core.exports import iter_ls_task_json, iter_ls_tasks
from core.labeling import next_task, skip_task, submit_annotation
from tests.core.helpers import import_json, make_project, make_user

BOXES = """<View>
  <Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Café “crème”"/><Label value="Dog"/></RectangleLabels>
  <TextArea name="note" toName="img"/>
</View>"""


def _canonical(lines: list[str]) -> list[str]:
    """Each line decoded and encoded again by the json module: same values in the same key order give the same
    text, however the numbers were spelled (jsonb writes 0.00001 where Python writes 1e-05)."""
    return [json.dumps(json.loads(line), ensure_ascii=False) for line in lines]


def _box(x: float, label: str) -> dict:
    return {"id": f"r{x}", "from_name": "box", "to_name": "img", "type": "rectanglelabels",
            "original_width": 640, "original_height": 480,
            "value": {"x": x, "y": 1e-05, "width": 12.000001, "height": 0.1, "rotation": 0,
                      "rectanglelabels": [label]}}


def test_the_json_export_writes_exactly_what_json_dumps_writes_for_every_field(make_uow) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    annotator = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=BOXES, members={"annotator": [annotator]})
    note = {"from_name": "note", "to_name": "img", "type": "textarea",
            "value": {"text": ["ligne\u2028deux – «ok» \\ \"q\" \t"]}}
    import_json(make_uow, admin, project.id, [
        {"data": {"image": "https://example.com/a.jpg", "n": 1.5e16, "tiny": 0.00001},
         "annotations": [{"result": [_box(10.5, "Dog"), note], "completed_by": 3, "lead_time": 4.25,
                          "ground_truth": True, "created_at": "2025-05-01T10:00:00.123456Z"},
                         {"result": [], "completed_by": 4, "was_cancelled": True}],
         "predictions": [{"result": [_box(1.0, "Café “crème”")], "model_version": "modèle “v2”", "score": 0.93},
                         {"result": [_box(2.0, "Dog")], "model_version": "undefined"}],
         "meta": {"source": "é"}},
        {"data": {"image": "https://example.com/b.jpg"}},
        {"data": {"image": "https://example.com/c.jpg"}},
    ])
    with make_uow() as uow:  # the labeling path writes annotations its own way (PostgreSQL: one CTE)
        task = next_task(uow, annotator, project_id=project.id)
        submit_annotation(uow, annotator, task_id=task.task_id, result=[_box(33.3, "Dog")], lead_time_s=2.0,
                          active_time_s=1.5)
        uow.commit()
    with make_uow() as uow:
        task = next_task(uow, annotator, project_id=project.id)
        skip_task(uow, annotator, task_id=task.task_id, reason="blurry")
        uow.commit()
    with make_uow() as uow:
        expected = [json.dumps(t, ensure_ascii=False) for t in iter_ls_tasks(uow, admin, project_id=project.id)]
        written = list(iter_ls_task_json(uow, admin, project_id=project.id, page_size=2))
    assert _canonical(written) == _canonical(expected)
    exported = [json.loads(line) for line in written]
    assert [len(t["annotations"]) for t in exported] == [2, 1, 1]
    assert exported[0]["annotations"][0]["result_count"] == 2
    assert exported[0]["cancelled_annotations"] == 1 and exported[2]["cancelled_annotations"] == 1
    assert exported[0]["predictions"][0]["model_version"] == "modèle “v2”"


def test_lines_the_database_writes_whole_match_json_dumps_too(make_uow) -> None:
    """Every scalar the export encodes itself — floats (integral, tiny, large, negative zero), timestamps with
    and without microseconds, quotes, control characters and non-ASCII in strings — holds the generic path's
    value."""
    from sqlalchemy import update

    from storage.models import Annotation, Prediction

    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    choice = [{"id": "c1", "from_name": "sentiment", "to_name": "text", "type": "choices",
               "value": {"choices": ["Positive"]}}]
    tasks = [{"data": {"text": f'Review «{i}» said "fine"\n\tok'}, "meta": {"source": "é"} if i == 1 else {},
              "annotations": [{"result": choice, "completed_by": 7, "lead_time": lead}],
              "predictions": [{"result": choice, "model_version": 'modèle "v2" \u2028', "score": score}]}
             for i, (lead, score) in enumerate([(100.0, 0.93), (4.25, None), (0.0001, 1.0), (2.5, -0.0)])]
    import_json(make_uow, admin, project.id, tasks)
    with make_uow() as uow:  # values an import cannot write: extreme floats and whole-second timestamps
        first = min(uow.session.scalars(select(Annotation.id)))
        uow.session.execute(update(Annotation).where(Annotation.id == first).values(
            active_time_s=1e-05, lead_time_s=123456789012345.6, created_at=dt.datetime(2025, 1, 2, 3, 4, 5)))
        uow.session.execute(update(Prediction).values(created_at=dt.datetime(2025, 1, 2, 3, 4, 5, 120000)))
        uow.commit()
    with make_uow() as uow:
        expected = [json.dumps(t, ensure_ascii=False) for t in iter_ls_tasks(uow, admin, project_id=project.id)]
        written = list(iter_ls_task_json(uow, admin, project_id=project.id, page_size=3))
    assert _canonical(written) == _canonical(expected)
