"""An import scores the tasks it brings complete (core.imports.score_imported): the consensus export and the
review queue have them at once, no "Score them now" needed; and the batched scoring (core.quality.recompute_tasks)
routes every task exactly as scoring it alone (recompute_task) would. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import delete, select, update

from core.exports import CONSENSUS_ONLY, export_project
from core.projects import ProjectSettings, add_member, create_project
from core.quality import recompute_task
from core.uow import UowFactory
from storage.models import Consensus, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_user

BOX_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels></View>"""


def _box(x: float) -> list[dict]:
    return [{"id": f"car{x}", "from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": 800,
             "original_height": 600, "value": {"x": x, "y": 20, "width": 30, "height": 40, "rotation": 0,
                                               "rectanglelabels": ["Car"]}}]


def _choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def test_an_image_import_with_several_annotators_exports_its_consensus_at_once(make_uow: UowFactory,
                                                                               tmp_path: Path) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    with make_uow() as uow:
        project = create_project(uow, admin, title="Photos", config_xml=BOX_CONFIG,
                                 settings=ProjectSettings(overlap=3, maximum_annotations=3))
        uow.commit()
    photos = [{"data": {"image": f"/data/upload/photo{i}.jpg"},
               "annotations": [{"completed_by": {"email": f"{who}@example.com"}, "result": _box(10 + k)}
                               for k, who in enumerate(("ann", "bob", "cy"))]} for i in range(5)]
    photos.append({"data": {"image": "/data/upload/half.jpg"},  # two of three: still being labeled, not scored
                   "annotations": [{"completed_by": {"email": "ann@example.com"}, "result": _box(10)},
                                   {"completed_by": {"email": "bob@example.com"}, "result": _box(11)}]})
    import_json(make_uow, admin, project.id, photos)  # no "Score them now" afterwards
    with make_uow() as uow:
        states = dict(uow.session.execute(select(Task.id, Task.state).where(Task.project_id == project.id)).all())
        n_consensus = len(uow.session.scalars(select(Consensus.task_id)).all())
        written = export_project(uow, admin, project_id=project.id, fmt="COCO", out=tmp_path / "coco.json",
                                 selection=CONSENSUS_ONLY)
    assert sorted(states.values()) == ["done"] * 5 + ["open"] and n_consensus == 5
    coco = json.loads(written.path.read_text())
    assert (written.n_tasks, written.n_left_out) == (5, 1) and len(coco["images"]) == 5
    assert len(coco["annotations"]) == 5  # one fused car per photo


def test_scoring_an_import_in_batches_routes_every_task_as_scoring_it_alone(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    helper = make_user(make_uow, "helper")  # someone left to ask: disagreements escalate
    with make_uow() as uow:
        project = create_project(uow, admin, title="Batch", config_xml=TEXT_CONFIG,
                                 settings=ProjectSettings(overlap=2, maximum_annotations=3, verify_rate=0.3))
        add_member(uow, admin, project_id=project.id, user_id=helper.id, role="annotator")
        uow.commit()

    def by(who: str, label: str, **extra: object) -> dict:
        return {"completed_by": {"email": f"{who}@example.com"}, "result": _choice(label), **extra}

    tasks = []
    for i in range(60):
        kind = i % 5
        answers = [[by("ann", "Positive"), by("bob", "Positive")],  # agree: done, or sampled for verification
                   [by("ann", "Positive"), by("bob", "Negative")],  # disagree: one more annotator
                   [by("ann", "Positive"), by("bob", "Negative"), by("cy", "Negative")],  # at the maximum: review
                   [by("gold", "Neutral", ground_truth=True), by("bob", "Negative")],  # gold is no vote
                   [by("ann", "Neutral")]][kind]  # below the overlap: not scored
        tasks.append({"data": {"text": f"task {i}"}, "annotations": answers})
    import_json(make_uow, admin, project.id, tasks)

    def snapshot() -> list[tuple]:
        with make_uow() as uow:
            rows = uow.session.execute(
                select(Task.id, Task.state, Task.review_reason, Task.overlap, Consensus.result, Consensus.agreement,
                       Consensus.n_annotations)
                .outerjoin(Consensus, Consensus.task_id == Task.id).where(Task.project_id == project.id)
                .order_by(Task.id)).all()
        return [tuple(r) for r in rows]

    batched = snapshot()
    assert {r[1] for r in batched} == {"done", "review", "open"}
    assert {r[2] for r in batched} >= {"verification", "disagreement"}
    scored = [r[0] for r in batched if r[4] is not None]
    with make_uow() as uow:  # undo the import's scoring, then score each task alone
        uow.session.execute(update(Task).where(Task.id.in_(scored)).values(state="completed", overlap=2,
                                                                          review_reason=None))
        uow.session.execute(delete(Consensus).where(Consensus.task_id.in_(scored)))
        for task_id in scored:
            recompute_task(uow, task_id)
        uow.commit()
    assert snapshot() == batched
