"""What goes out of an export: every annotation with its author, or one result per task (ground truth, else
consensus), on SQLite and PostgreSQL; and CSV cells that look like formulas are neutralised end to end."""
from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import update

from core.errors import PermissionDeniedError, QuorumError
from core.exports import ALL_ANNOTATIONS, CONSENSUS_ONLY, export_for_download, export_project
from core.quality import recompute_task
from core.uow import UowFactory
from storage.models import Annotation
from tests.core.helpers import import_json, make_project, make_user


def _choice(value: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]


TASKS = [
    {  # two annotators agree: a consensus
        "data": {"text": "great"},
        "annotations": [
            {"completed_by": {"email": "ann@example.com"}, "result": _choice("Positive")},
            {"completed_by": {"email": "bob@example.com"}, "result": _choice("Positive")},
        ],
    },
    {  # a ground truth wins over the consensus
        "data": {"text": "meh"},
        "annotations": [
            {"completed_by": {"email": "ann@example.com"}, "result": _choice("Neutral"), "ground_truth": True},
            {"completed_by": {"email": "bob@example.com"}, "result": _choice("Negative")},
        ],
    },
    {"data": {"text": "not labeled yet"}},  # neither: left out
]


@pytest.fixture
def labeled(make_uow: UowFactory):  # type: ignore[no-untyped-def]
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    import_json(make_uow, admin, project.id, TASKS)
    with make_uow() as uow:
        from sqlalchemy import select

        from storage.models import Task

        task_ids = list(uow.session.scalars(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)))
        for task_id in task_ids[:2]:
            recompute_task(uow, task_id)
        uow.commit()
    return admin, project, task_ids


def _export_json(make_uow: UowFactory, admin, project_id: int, tmp_path: Path, selection: str) -> tuple[list, object]:  # type: ignore[no-untyped-def]
    out = tmp_path / f"{selection}.json"
    with make_uow() as uow:
        written = export_project(uow, admin, project_id=project_id, fmt="JSON", out=out, selection=selection)
    return json.loads(out.read_text()), written


def test_every_annotation_with_its_author_is_the_default(make_uow: UowFactory, labeled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project, task_ids = labeled
    default, written = _export_json(make_uow, admin, project.id, tmp_path, ALL_ANNOTATIONS)
    assert [t["id"] for t in default] == task_ids and written.n_left_out == 0
    assert [len(t["annotations"]) for t in default] == [2, 2, 0]
    authors = {a["completed_by"]["id"] for a in default[0]["annotations"]}
    assert len(authors) == 2 and None not in authors
    with make_uow() as uow:  # no selection given: the same bytes
        export_project(uow, admin, project_id=project.id, fmt="JSON", out=tmp_path / "plain.json")
    assert (tmp_path / "plain.json").read_text() == (tmp_path / "all.json").read_text()


def test_consensus_export_gives_one_result_per_task_ground_truth_first(make_uow: UowFactory, labeled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project, task_ids = labeled
    tasks, written = _export_json(make_uow, admin, project.id, tmp_path, CONSENSUS_ONLY)
    assert [t["id"] for t in tasks] == task_ids[:2]
    assert written.n_tasks == 2 and written.n_left_out == 1 and written.selection == CONSENSUS_ONLY
    first, second = tasks
    assert [len(t["annotations"]) for t in tasks] == [1, 1]
    consensus, truth = first["annotations"][0], second["annotations"][0]
    assert consensus["result"][0]["value"] == {"choices": ["Positive"]}
    assert consensus["ground_truth"] is False and consensus["quorum_source"] == "consensus"
    assert consensus["completed_by"] is None and consensus["task"] == task_ids[0]
    assert truth["result"][0]["value"] == {"choices": ["Neutral"]}
    assert truth["ground_truth"] is True and truth["quorum_source"] == "ground_truth"
    assert first["data"] == {"text": "great"} and first["total_annotations"] == 1


def test_consensus_selection_reaches_every_format_and_the_progress_bar(make_uow: UowFactory, labeled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project, _ = labeled
    seen: list[tuple[int, int]] = []
    with make_uow() as uow:
        result = export_for_download(
            uow, admin, project_id=project.id, fmt="CSV", exports_dir=tmp_path, selection=CONSENSUS_ONLY,
            progress=lambda done, total: seen.append((done, total)),
        )
    rows = list(csv.DictReader(result.path.open(encoding="utf-8")))
    assert [r["sentiment"] for r in rows] == ["Positive", "Neutral"]
    assert result.n_left_out == 1 and seen[-1] == (3, 3)


def test_unknown_selection_is_refused(make_uow: UowFactory, labeled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project, _ = labeled
    with make_uow() as uow, pytest.raises(QuorumError, match="unknown export selection 'best'"):
        export_project(uow, admin, project_id=project.id, fmt="JSON", out=tmp_path / "x.json", selection="best")


def test_csv_export_neutralises_formula_cells(make_uow: UowFactory, tmp_path: Path) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    evil = ["=HYPERLINK(\"http://x\")", "+1+2", "-3+4", "@SUM(A1)", "plain"]
    import_json(make_uow, admin, project.id, [
        {"data": {"text": text}, "annotations": [{"completed_by": None, "result": _choice("Positive")}]}
        for text in evil
    ])
    with make_uow() as uow:
        export_project(uow, admin, project_id=project.id, fmt="CSV", out=tmp_path / "out.csv")
    cells = [row["text"] for row in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))]
    assert cells == ["'" + e for e in evil[:4]] + ["plain"]


def test_annotator_cannot_export(make_uow: UowFactory, tmp_path: Path) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    annotator = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"annotator": [annotator]})
    with make_uow() as uow, pytest.raises(PermissionDeniedError):
        export_project(uow, annotator, project_id=project.id, fmt="JSON", out=tmp_path / "x.json",
                       selection=CONSENSUS_ONLY)


BOX_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels></View>"""


def test_a_region_a_format_cannot_write_is_left_out_and_the_person_exporting_is_told(make_uow: UowFactory,
                                                                                      tmp_path: Path) -> None:
    """A box with text coordinates, stored before values were checked at the boundary (an import now refuses
    it, naming task, control and field): COCO leaves it out (as Label Studio's converter does) and the
    export's result says which and why, so the Data page can show it, not only the server log."""
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin, config=BOX_CONFIG)
    good = {"from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
            "original_height": 50, "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["Car"]}}
    bad = {**good, "id": "bad1", "value": {**good["value"], "x": "ten"}}
    task = {"data": {"image": "/data/upload/a.png"}, "annotations": [{"result": [good, bad]}]}
    with pytest.raises(QuorumError, match=r"task 1.*RectangleLabels 'box'.*x: 'ten' is not a number"):
        import_json(make_uow, admin, project.id, [task])
    import_json(make_uow, admin, project.id, [{**task, "annotations": [{"result": [good]}]}])
    with make_uow() as uow:  # the older version's row
        uow.session.execute(update(Annotation).values(result=[good, bad]))
        uow.commit()
    with make_uow() as uow:  # every annotation: one COCO file per annotator, in a zip
        result = export_for_download(uow, admin, project_id=project.id, fmt="COCO", exports_dir=tmp_path,
                                     selection=ALL_ANNOTATIONS)
    assert len(result.regions_left_out) == 1
    assert "bad1" in result.regions_left_out[0] and "x" in result.regions_left_out[0]
    with zipfile.ZipFile(result.path) as archive:
        (author,) = json.loads(archive.read("annotators.json"))
        coco = json.loads(archive.read(f"{author['folder']}/result.json"))
    assert len(coco["annotations"]) == 1  # the good box is written
