"""No silent empties (issue 15, item 5): an export whose files hold nothing useful (COCO, YOLO or VOC without a
box, an ASR manifest without a transcript) says so on stderr and exits 3 in the CLI, the files kept; ``--out`` is
a file or a folder per format exactly as ``cli.py export --help`` says, a wrong kind refused before writing."""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cli
from commands.data import EXIT_NOTHING_USEFUL
from core.bootstrap import make_uow_factory
from core.formats import FORMATS
from core.settings import load_settings
from storage.db import dispose_engines
from tests.core.helpers import import_json, make_project, make_user

IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<Choices name="scene" toName="image"><Choice value="Street"/><Choice value="Park"/></Choices>
<RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels></View>"""
AUDIO_CONFIG = """<View><Audio name="audio" value="$audio"/>
<Choices name="quality" toName="audio"><Choice value="Clean"/><Choice value="Noisy"/></Choices>
<TextArea name="transcription" toName="audio"/></View>"""

SCENE = [{"from_name": "scene", "to_name": "image", "type": "choices", "value": {"choices": ["Street"]}}]
BOX = [{"from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": 640,
        "original_height": 480,
        "value": {"x": 10, "y": 5, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": ["Car"]}}]
CLEAN = [{"from_name": "quality", "to_name": "audio", "type": "choices", "value": {"choices": ["Clean"]}}]
SAID = [{"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": ["hello there"]}}]


def _photo(i: int, result: list[dict[str, Any]]) -> dict[str, Any]:
    """A photo answered by ann (its ground truth, so the consensus export has it too) and by bob."""
    return {"data": {"image": f"/data/upload/p{i}.jpg"},
            "annotations": [{"completed_by": {"email": "ann@example.com"}, "result": result, "ground_truth": True},
                            {"completed_by": {"email": "bob@example.com"}, "result": result}]}


def _clip(i: int, result: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"audio": f"/data/upload/clip{i}.wav"},
            "annotations": [{"completed_by": {"email": "ann@example.com"}, "result": result}]}


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A SQLite portal with four projects: photos with only an image-level choice, photos with a box, clips
    with only a quality choice, clips with a transcript."""
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path / "data"))
    dispose_engines()
    try:
        make_uow = make_uow_factory(load_settings())
        admin = make_user(make_uow, "admin", admin=True)
        for name in ("ann", "bob"):
            make_user(make_uow, name)
        for title, config, tasks in (
            ("No boxes", IMAGE_CONFIG, [_photo(i, SCENE) for i in range(2)]),
            ("Boxes", IMAGE_CONFIG, [_photo(0, SCENE), _photo(1, BOX)]),
            ("No transcripts", AUDIO_CONFIG, [_clip(i, CLEAN) for i in range(2)]),
            ("Transcripts", AUDIO_CONFIG, [_clip(0, CLEAN), _clip(1, SAID)]),
        ):
            project = make_project(make_uow, admin, title=title, config=config)
            import_json(make_uow, admin, project.id, tasks)
        yield
    finally:
        dispose_engines()


def _export(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("fmt", "out_name", "reason"), [
    ("COCO", "coco.json", "COCO export holds nothing: no task has a labelled region (box, polygon or key point)"),
    ("YOLO", "yolo", "YOLO export holds nothing: no task has a labelled region (box, polygon or key point)"),
    ("YOLO_OBB", "obb", "YOLOv8 OBB export holds nothing: no task has a labelled rotated box"),
    ("VOC", "voc", "Pascal VOC XML export holds nothing: no task has a labelled box"),
])
def test_an_image_format_without_a_box_says_so_and_exits_non_zero(
        portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, out_name: str, reason: str) -> None:
    out = tmp_path / out_name
    code, stdout, err = _export(capsys, "No boxes", "--format", fmt, "--out", str(out))
    assert code == EXIT_NOTHING_USEFUL != 0
    assert f"empty export: 'No boxes': {reason}" in err and str(out) in err
    assert "exported 2 tasks" in stdout  # what was written is still reported, and kept
    assert out.exists()
    # every annotation: one set per annotator, none holds a box
    code, _, err = _export(capsys, "No boxes", "--format", fmt, "--out", str(tmp_path / f"all-{out_name}"),
                           "--selection", "all")
    assert code == EXIT_NOTHING_USEFUL and reason in err


@pytest.mark.parametrize(("fmt", "out_name"), [("COCO", "coco.json"), ("YOLO", "yolo"), ("YOLO_OBB", "obb"),
                                                ("VOC", "voc")])
def test_an_image_format_with_a_box_exits_zero(portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               fmt: str, out_name: str) -> None:
    code, stdout, err = _export(capsys, "Boxes", "--format", fmt, "--out", str(tmp_path / out_name))
    assert (code, err) == (0, "")
    assert "exported 2 tasks" in stdout
    # one set per annotator: each set holds the box
    code, _, err = _export(capsys, "Boxes", "--format", fmt, "--out", str(tmp_path / f"all-{out_name}"),
                           "--selection", "all")
    assert (code, err) == (0, "")


def test_an_asr_manifest_without_a_transcript_says_so_and_exits_non_zero(
        portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "manifest.jsonl"
    code, _, err = _export(capsys, "No transcripts", "--format", "ASR_MANIFEST", "--out", str(out))
    assert code == EXIT_NOTHING_USEFUL
    assert "empty export: 'No transcripts': ASR manifest (NeMo) export holds nothing: no task has a transcript" in err
    assert out.read_text() == ""
    code, _, err = _export(capsys, "Transcripts", "--format", "ASR_MANIFEST", "--out", str(out))
    assert (code, err) == (0, "")
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == ["hello there"]


def test_formats_without_an_emptiness_check_exit_zero(portal: None, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("JSON", "JSON_MIN", "CSV", "TSV"):
        code, _, err = _export(capsys, "No boxes", "--format", fmt, "--out", str(tmp_path / f"out.{fmt.lower()}"))
        assert (code, err) == (0, ""), fmt


@pytest.mark.parametrize(("fmt", "filename"), [
    (f.name, f.filename) for f in FORMATS.values() if f.layout == "file" and f.name in ("JSON", "CSV", "COCO")
])
def test_a_one_file_format_given_a_folder_writes_its_own_file_name_inside(
        portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, filename: str) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    code, stdout, _ = _export(capsys, "Boxes", "--format", fmt, "--out", str(folder))
    assert code == 0
    assert (folder / filename).is_file() and f"to {folder / filename}" in stdout
    # a path ending in / is a folder too, created if missing
    code, _, _ = _export(capsys, "Boxes", "--format", fmt, "--out", f"{tmp_path / 'new'}/")
    assert code == 0 and (tmp_path / "new" / filename).is_file()
    # any other path is the file itself
    code, _, _ = _export(capsys, "Boxes", "--format", fmt, "--out", str(tmp_path / "named.out"))
    assert code == 0 and (tmp_path / "named.out").is_file()


@pytest.mark.parametrize("fmt", ["YOLO", "YOLO_OBB", "VOC"])
def test_a_folder_format_given_a_file_is_refused_and_writes_nothing(
        portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    existing = tmp_path / "labels.txt"
    existing.write_text("keep me")
    before = sorted(tmp_path.iterdir())
    code, stdout, err = _export(capsys, "Boxes", "--format", fmt, "--out", str(existing))
    assert code == 2 and stdout == ""
    assert f"--out {existing} is a file, and {fmt} writes a folder" in err and "nothing was written" in err
    assert existing.read_text() == "keep me" and sorted(tmp_path.iterdir()) == before
    # a folder, existing or not, is what it takes
    code, _, _ = _export(capsys, "Boxes", "--format", fmt, "--out", str(tmp_path / "made"))
    assert code == 0 and (tmp_path / "made").is_dir()


@pytest.mark.parametrize("fmt", ["YOLO", "VOC"])
def test_a_folder_format_given_a_zip_path_writes_that_zip(
        portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    import zipfile

    code, stdout, _ = _export(capsys, "Boxes", "--format", fmt, "--out", str(tmp_path / "out" / "labels.zip"))
    assert code == 0 and f"to {tmp_path / 'out' / 'labels.zip'}" in stdout
    with zipfile.ZipFile(tmp_path / "out" / "labels.zip") as archive:
        names = archive.namelist()
    assert any(name.endswith((".txt", ".xml")) for name in names)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["labels.zip"]  # no folder left beside it


def test_a_per_annotator_export_given_a_file_is_refused_with_the_way_out(
        portal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "coco").write_text("keep me")
    code, _, err = _export(capsys, "Boxes", "--format", "COCO", "--selection", "all", "--out",
                           str(tmp_path / "coco.json"))
    assert code == 2
    assert f"--out {tmp_path / 'coco'} is a file" in err and "--selection consensus for one file" in err
    assert (tmp_path / "coco").read_text() == "keep me" and not (tmp_path / "coco.json").exists()
    # the format's own suffix is dropped: coco.json gives the folder coco/
    code, stdout, _ = _export(capsys, "Boxes", "--format", "COCO", "--selection", "all", "--out",
                              str(tmp_path / "sets.json"))
    assert code == 0 and (tmp_path / "sets" / "annotators.json").is_file() and "ann, bob" in stdout


def test_a_one_file_format_whose_folder_is_a_file_is_refused(portal: None, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain").write_text("keep me")
    code, _, err = _export(capsys, "Boxes", "--format", "JSON", "--out", str(tmp_path / "plain" / "x.json"))
    assert code == 2 and "is a file, not a folder" in err
    assert (tmp_path / "plain").read_text() == "keep me"


def test_the_help_says_what_out_is_for_each_format_and_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in FORMATS.values():
        assert f.name in text
        if f.layout == "file":
            assert f"{f.filename} (" in text
    assert "YOLO, YOLO_OBB, VOC: --out is the folder, created if missing" in text
    assert f"{EXIT_NOTHING_USEFUL} exported, but the files hold nothing useful" in text
    assert "the files are kept" in text


def test_nothing_useful_reads_the_zip_the_export_page_hands_out(tmp_path: Path) -> None:
    """The export page zips folder and per-annotator exports: the check looks inside."""
    empty, full = tmp_path / "empty.zip", tmp_path / "full.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("annotators.json", "[]")
        archive.writestr("by_annotator/ann/classes.txt", "Car\n")
        archive.writestr("by_annotator/ann/labels/p0.txt", "")
    with zipfile.ZipFile(full, "w") as archive:
        archive.writestr("classes.txt", "Car\n")
        archive.writestr("labels/p0.txt", "")
        archive.writestr("labels/p1.txt", "0 0.2 0.15 0.2 0.2\n")
    assert FORMATS["YOLO"].nothing_useful([empty]) is not None
    assert FORMATS["YOLO"].nothing_useful([full]) is None
    with zipfile.ZipFile(coco := tmp_path / "coco.zip", "w") as archive:
        archive.writestr("annotators.json", "[]")
        archive.writestr("by_annotator/ann/result.json", '{\n"images": [],\n"annotations": []\n}\n')
        archive.writestr("by_annotator/bob/result.json", '{\n"images": [],\n"annotations": [{"id": 0}]\n}\n')
    assert FORMATS["COCO"].nothing_useful([coco]) is None  # one set holds a box
