"""Exports of several annotators mean what they say (issue 13, item 5), on SQLite and PostgreSQL.

Six photos, three annotators (the third skipped one photo): 17 annotations. "Every annotation with its
author" in an image format writes one set per annotator, each image once per set and every annotator's
boxes kept; "consensus and ground truth" writes one entry per photo; image formats offer the consensus
first; the CLI and the download pass the selection.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from core.errors import QuorumError
from core.exports import (
    ALL_ANNOTATIONS,
    ANNOTATORS_FILE,
    CONSENSUS_ONLY,
    annotator_slug,
    default_selection,
    export_for_download,
    export_project,
    one_set_per_annotator,
)
from core.quality import recompute_task
from core.uow import UowFactory
from storage.db import dispose_engines
from storage.models import Task
from tests.core.helpers import import_json, make_project, make_user

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels></View>"""
PHOTOS = [f"/data/upload/photo{i}.jpg" for i in range(6)]
ANNOTATORS = ("ann", "bob", "cy")


def _box(x: float, label: str, region: str) -> dict:
    return {"id": region, "from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": 800,
            "original_height": 600, "value": {"x": x, "y": 20, "width": 30, "height": 40, "rotation": 0,
                                                                  "rectanglelabels": [label]}}


def _tasks() -> list[dict]:
    tasks = []
    for i, photo in enumerate(PHOTOS):
        annotations = []
        for k, name in enumerate(ANNOTATORS):
            if name == "cy" and i == 5:
                continue  # cy did not label the last photo
            # everyone draws the car (slightly apart); bob also draws a person
            boxes = [_box(10 + k, "Car", f"{name}-car-{i}")]
            if name == "bob":
                boxes.append(_box(60, "Person", f"bob-person-{i}"))
            annotations.append({"completed_by": {"email": f"{name}@example.com"}, "result": boxes})
        tasks.append({"data": {"image": photo}, "annotations": annotations})
    tasks.append({"data": {"image": "/data/upload/nobody.jpg"}})  # not annotated by anyone
    return tasks


@pytest.fixture
def photos(make_uow: UowFactory):  # type: ignore[no-untyped-def]
    admin = make_user(make_uow, "admin", admin=True)
    for name in ANNOTATORS:
        make_user(make_uow, name)
    project = make_project(make_uow, admin, title="Street photos", config=CONFIG)
    import_json(make_uow, admin, project.id, _tasks())
    with make_uow() as uow:
        task_ids = list(uow.session.scalars(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)))
        for task_id in task_ids[:6]:
            recompute_task(uow, task_id)
        uow.commit()
    return admin, project


def _export(make_uow: UowFactory, admin, project_id: int, fmt: str, out: Path, selection: str):  # type: ignore[no-untyped-def]
    with make_uow() as uow:
        return export_project(uow, admin, project_id=project_id, fmt=fmt, out=out, selection=selection)


def test_coco_of_every_annotation_is_one_file_per_annotator_each_photo_once(make_uow: UowFactory, photos,
                                                                             tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project = photos
    written = _export(make_uow, admin, project.id, "COCO", tmp_path / "coco.json", ALL_ANNOTATIONS)
    out = tmp_path / "coco"  # a folder: the format's own suffix dropped
    assert written.path == out and written.sets == ANNOTATORS
    assert (written.n_tasks, written.n_left_out) == (6, 1)
    index = json.loads((out / ANNOTATORS_FILE).read_text())
    assert [(e["folder"], e["username"], e["tasks"]) for e in index] == [
        ("by_annotator/ann", "ann", 6), ("by_annotator/bob", "bob", 6), ("by_annotator/cy", "cy", 5)]
    total_images = 0
    for entry, n_photos in zip(index, (6, 6, 5)):
        coco = json.loads((out / entry["folder"] / "result.json").read_text())
        names = [image["file_name"] for image in coco["images"]]
        assert len(names) == len(set(names)) == n_photos  # each photo once per file
        n_boxes = 2 if entry["username"] == "bob" else 1
        assert len(coco["annotations"]) == n_boxes * n_photos
        total_images += len(names)
    assert total_images == 17  # every annotation is somewhere, none twice in one file
    assert set(written.files) == {out / ANNOTATORS_FILE, *(out / e["folder"] / "result.json" for e in index)}


@pytest.mark.parametrize("fmt", ["YOLO", "YOLO_OBB"])
def test_yolo_of_every_annotation_keeps_every_annotators_boxes(make_uow: UowFactory, photos, tmp_path: Path,
                                                               fmt: str) -> None:  # type: ignore[no-untyped-def]
    admin, project = photos
    written = _export(make_uow, admin, project.id, fmt, tmp_path / "yolo", ALL_ANNOTATIONS)
    sets = tmp_path / "yolo" / "by_annotator"
    assert written.sets == ANNOTATORS
    for name, n_photos in zip(ANNOTATORS, (6, 6, 5)):
        labels = sorted((sets / name / "labels").iterdir())
        assert len(labels) == n_photos
        assert (sets / name / "classes.txt").read_text() == "Car\nPerson\n"
        lines = [line for path in labels for line in path.read_text().splitlines()]
        assert len(lines) == n_photos * (2 if name == "bob" else 1)
        if name == "bob" and fmt == "YOLO":
            assert {line.split()[0] for line in lines} == {"0", "1"}  # bob's person boxes were dropped before
    if fmt == "YOLO":  # each annotator's own car on the first photo, not one annotator's for all
        cars = {(sets / name / "labels" / "photo0.txt").read_text().splitlines()[0] for name in ANNOTATORS}
        assert len(cars) == 3


def test_voc_of_every_annotation_is_one_folder_per_annotator(make_uow: UowFactory, photos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project = photos
    _export(make_uow, admin, project.id, "VOC", tmp_path / "voc", ALL_ANNOTATIONS)
    sets = tmp_path / "voc" / "by_annotator"
    counts = {name: len(list((sets / name / "Annotations").iterdir())) for name in ANNOTATORS}
    assert counts == {"ann": 6, "bob": 6, "cy": 5}
    assert (sets / "bob" / "Annotations" / "photo0.xml").read_text().count("<object>") == 2


def test_consensus_export_has_one_entry_per_photo(make_uow: UowFactory, photos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project = photos
    written = _export(make_uow, admin, project.id, "COCO", tmp_path / "coco.json", CONSENSUS_ONLY)
    assert written.path == tmp_path / "coco.json" and written.sets == ()
    coco = json.loads(written.path.read_text())
    names = [image["file_name"] for image in coco["images"]]
    assert len(names) == len(set(names)) == 6 and written.n_left_out == 1
    yolo = _export(make_uow, admin, project.id, "YOLO", tmp_path / "yolo", CONSENSUS_ONLY)
    assert yolo.n_tasks == 6 and len(list((tmp_path / "yolo" / "labels").iterdir())) == 6
    assert not (tmp_path / "yolo" / "by_annotator").exists()


def test_the_download_zips_the_sets_and_text_formats_keep_one_file(make_uow: UowFactory, photos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project = photos
    seen: list[tuple[int, int]] = []
    exports_dir = tmp_path / "exports"
    with make_uow() as uow:
        result = export_for_download(uow, admin, project_id=project.id, fmt="COCO", exports_dir=exports_dir,
                                     selection=ALL_ANNOTATIONS, progress=lambda d, t: seen.append((d, t)))
    assert result.path.suffix == ".zip" and result.files == (result.path,) and seen[-1] == (7, 7)
    with zipfile.ZipFile(result.path) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        assert names == [ANNOTATORS_FILE, *(f"by_annotator/{a}/result.json" for a in ANNOTATORS)]
    assert [p.name for p in exports_dir.iterdir()] == [result.path.name]  # no folder or spool left behind
    with make_uow() as uow:  # JSON-MIN says who made each row: one file, one row per annotation
        rows = export_for_download(uow, admin, project_id=project.id, fmt="JSON_MIN", exports_dir=tmp_path,
                                   selection=ALL_ANNOTATIONS)
    records = json.loads(rows.path.read_text())
    assert rows.path.suffix == ".json" and len(records) == 17 + 1
    assert len({r["annotator"] for r in records if "box" in r}) == 3


def test_image_formats_offer_the_consensus_first() -> None:
    assert {f: default_selection(f) for f in ("COCO", "YOLO", "YOLO_OBB", "VOC", "CONLL2003")} == dict.fromkeys(
        ("COCO", "YOLO", "YOLO_OBB", "VOC", "CONLL2003"), CONSENSUS_ONLY)
    assert {f: default_selection(f) for f in ("JSON", "JSON_MIN", "CSV", "TSV", "ASR_MANIFEST")} == \
        dict.fromkeys(("JSON", "JSON_MIN", "CSV", "TSV", "ASR_MANIFEST"), ALL_ANNOTATIONS)
    assert one_set_per_annotator("yolo", ALL_ANNOTATIONS) and not one_set_per_annotator("YOLO", CONSENSUS_ONLY)
    assert not one_set_per_annotator("CSV", ALL_ANNOTATIONS)
    with pytest.raises(QuorumError, match="unknown export format"):
        default_selection("PNG")


def test_annotator_folder_names_are_safe() -> None:
    assert annotator_slug("Ann Smith", "user-1") == "ann-smith"
    assert annotator_slug("José@example.com", "user-1") == "jose-example.com"
    assert annotator_slug("../..", "user-7") == "user-7"
    assert annotator_slug("漢字", "user-8") == "user-8"


def test_a_file_where_the_sets_go_is_refused_with_the_way_out(make_uow: UowFactory, photos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, project = photos
    (tmp_path / "yolo").write_text("not a folder")
    with pytest.raises(QuorumError, match="folder per annotator.*consensus and ground truth"):
        _export(make_uow, admin, project.id, "YOLO", tmp_path / "yolo", ALL_ANNOTATIONS)


def test_the_cli_exports_the_consensus_of_an_image_format_unless_told(make_uow: UowFactory, database_url: str, photos,
                                                                      tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import cli

    monkeypatch.setenv("QUORUM_DATABASE_URL", database_url)
    try:
        assert cli.main(["export", "Street photos", "--format", "coco", "--out", str(tmp_path / "c.json")]) == 0
        first = capsys.readouterr().out
        assert cli.main(["export", "Street photos", "--format", "YOLO", "--out", str(tmp_path / "y"),
                         "--selection", "all"]) == 0
        second = capsys.readouterr().out
    finally:
        dispose_engines()
    assert len(json.loads((tmp_path / "c.json").read_text())["images"]) == 6
    assert "consensus and ground truth" in first.lower() and "1 tasks" in first
    assert sorted(p.name for p in (tmp_path / "y" / "by_annotator").iterdir()) == list(ANNOTATORS)
    assert "ann, bob, cy" in second
