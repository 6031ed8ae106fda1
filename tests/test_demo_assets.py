"""Checks of the committed demo content in assets/demo (made by scripts/make_demo_assets.py)."""

from __future__ import annotations

import json
import wave
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEMO = ASSETS / "demo"
FOLDERS = ["text-classification", "named-entities", "image-boxes", "audio-transcription"]
LOCAL_FILES_PREFIX = "/data/local-files/?d="
OBJECT_TAGS = {"text", "image", "audio", "hypertext", "video", "paragraphs", "timeseries", "table", "pdf", "list"}


def load_tasks(folder: str) -> list[dict]:
    return json.loads((DEMO / folder / "tasks.json").read_text(encoding="utf-8"))


def media_urls(value):
    if isinstance(value, str):
        if value.startswith(LOCAL_FILES_PREFIX):
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from media_urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from media_urls(v)


def result_signature(ann: dict) -> str:
    """What an annotation says, without region ids, timestamps and box jitter below 1 %."""
    items = []
    for r in ann["result"]:
        v = dict(r["value"])
        for key in ("x", "y", "width", "height"):
            if key in v:
                v[key] = round(v[key] / 5)  # tolerate small jitter
        items.append((r["from_name"], json.dumps(v, sort_keys=True)))
    return json.dumps(sorted(items))


def author(ann: dict) -> str:
    return ann["completed_by"]["email"]


@pytest.fixture(scope="module", params=FOLDERS)
def project(request):
    folder = request.param
    return folder, load_tasks(folder), ET.fromstring((DEMO / folder / "config.xml").read_text(encoding="utf-8"))


def test_projects_json_lists_the_four_projects():
    projects = json.loads((DEMO / "projects.json").read_text(encoding="utf-8"))
    assert [p["folder"] for p in projects] == FOLDERS
    for p in projects:
        assert set(p) >= {"folder", "title", "description", "instructions", "overlap"}
        assert p["overlap"] == 3
        assert p["title"] and p["description"] and p["instructions"].strip()
        assert (DEMO / p["folder"] / "config.xml").is_file()
        assert (DEMO / p["folder"] / "tasks.json").is_file()


def test_readme_exists_and_names_licences():
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "CC0" in text and "public domain" in text
    assert "espeak-ng" in text


def test_tasks_shape_and_config_names(project):
    folder, tasks, config = project
    assert config.tag == "View"
    objects = {el.get("name") for el in config.iter() if el.tag.lower() in OBJECT_TAGS}
    controls = {el.get("name"): el.get("toName") for el in config.iter() if el.get("toName")}
    assert objects and controls
    assert set(controls.values()) <= objects
    assert isinstance(tasks, list) and tasks
    for task in tasks:
        assert set(task) == {"data", "annotations", "predictions"}
        for ann in task["annotations"]:
            assert author(ann).endswith("@demo.quorum.local")
            assert ann["lead_time"] > 0
            assert ann["created_at"].endswith("Z")
            assert ann["result"], "an annotation with an empty result"
        for pred in task["predictions"]:
            assert pred["model_version"]
            assert 0.0 <= pred["score"] <= 1.0
        for ann in task["annotations"] + task["predictions"]:
            for r in ann["result"]:
                assert {"id", "from_name", "to_name", "type", "value"} <= set(r)
                assert r["from_name"] in controls
                assert r["to_name"] == controls[r["from_name"]]
                if r["type"] in ("choices", "labels", "rectanglelabels"):
                    el = next(e for e in config.iter() if e.get("name") == r["from_name"])
                    allowed = {c.get("value") for c in el}
                    assert set(r["value"][r["type"]]) <= allowed


def test_region_ids_unique_within_each_annotation(project):
    _, tasks, _ = project
    for task in tasks:
        for ann in task["annotations"] + task["predictions"]:
            ids = [r["id"] for r in ann["result"]]
            assert len(ids) == len(set(ids))


def test_media_paths_exist(project):
    folder, tasks, _ = project
    urls = [u for t in tasks for u in media_urls(t["data"])]
    if folder in ("image-boxes", "audio-transcription"):
        assert len(urls) == len(tasks)
    for url in urls:
        rel = parse_qs(urlparse(url).query)["d"][0]
        assert rel.startswith("demo/")
        assert (ASSETS / rel).is_file(), url


def test_at_least_three_annotators_disagreement_and_unlabeled(project):
    _, tasks, _ = project
    authors = {author(a) for t in tasks for a in t["annotations"]}
    annotators = {a for a in authors if a.startswith("annotator")}
    assert len(annotators) >= 3
    unlabeled = [t for t in tasks if not t["annotations"]]
    assert unlabeled, "no task left for the newcomer"
    disagreeing = [t for t in tasks if len({result_signature(a) for a in t["annotations"]}) > 1]
    assert disagreeing
    # most labeled tasks carry several annotations (overlap 3)
    labeled = [t for t in tasks if t["annotations"]]
    assert sum(len(t["annotations"]) >= 3 for t in labeled) >= len(labeled) * 0.6


def test_text_classification_content():
    tasks = load_tasks("text-classification")
    assert 35 <= len(tasks) <= 45
    labeled = [t for t in tasks if t["annotations"]]
    disagreeing = [t for t in labeled
                   if len({tuple(r["value"]["choices"]) for a in t["annotations"] for r in a["result"]}) > 1]
    assert 0.1 <= len(disagreeing) / len(labeled) <= 0.35
    assert any(t["predictions"] for t in tasks)


def test_spans_match_text():
    tasks = load_tasks("named-entities")
    assert 20 <= len(tasks) <= 30
    spans = 0
    for task in tasks:
        text = task["data"]["text"]
        for ann in task["annotations"] + task["predictions"]:
            for r in ann["result"]:
                assert r["type"] == "labels"
                v = r["value"]
                assert 0 <= v["start"] < v["end"] <= len(text)
                assert text[v["start"]:v["end"]] == v["text"]
                assert v["text"] == v["text"].strip()
                assert len(v["labels"]) == 1 and v["labels"][0] in {"PER", "ORG", "LOC", "MISC"}
                spans += 1
    assert spans > 100


def test_boxes_within_image():
    tasks = load_tasks("image-boxes")
    boxes = 0
    for task in tasks:
        for ann in task["annotations"] + task["predictions"]:
            for r in ann["result"]:
                assert r["type"] == "rectanglelabels"
                v = r["value"]
                assert v["rotation"] == 0
                assert r["image_rotation"] == 0
                assert r["original_width"] > 0 and r["original_height"] > 0
                assert v["width"] > 0 and v["height"] > 0
                assert 0 <= v["x"] and v["x"] + v["width"] <= 100 + 1e-9
                assert 0 <= v["y"] and v["y"] + v["height"] <= 100 + 1e-9
                boxes += 1
    assert boxes > 50


def test_box_dimensions_match_images():
    from PIL import Image

    for task in load_tasks("image-boxes"):
        rel = parse_qs(urlparse(task["data"]["image"]).query)["d"][0]
        with Image.open(ASSETS / rel) as img:
            size = img.size
            assert img.format == "JPEG"
            assert max(size) <= 640
        for ann in task["annotations"] + task["predictions"]:
            for r in ann["result"]:
                assert (r["original_width"], r["original_height"]) == size


def test_media_budget():
    images = sorted((DEMO / "images").glob("*.jpg"))
    wavs = sorted((DEMO / "audio").glob("*.wav"))
    assert 6 <= len(images) <= 8
    assert len(wavs) == 6
    assert sum(p.stat().st_size for p in images) < 1_000_000
    assert sum(p.stat().st_size for p in wavs) < 1_000_000


def test_wavs_readable_16k_mono():
    for path in sorted((DEMO / "audio").glob("*.wav")):
        with wave.open(str(path)) as w:
            assert w.getframerate() == 16000
            assert w.getnchannels() == 1
            assert w.getsampwidth() == 2
            assert 2.0 <= w.getnframes() / w.getframerate() <= 4.0


def test_audio_results_carry_length():
    for task in load_tasks("audio-transcription"):
        rel = parse_qs(urlparse(task["data"]["audio"]).query)["d"][0]
        with wave.open(str(ASSETS / rel)) as w:
            length = w.getnframes() / w.getframerate()
        for ann in task["annotations"] + task["predictions"]:
            for r in ann["result"]:
                assert r["original_length"] == pytest.approx(length, abs=0.01)
                if r["type"] == "textarea":
                    assert r["value"]["text"] and r["value"]["text"][0].strip()
