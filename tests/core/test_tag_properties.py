"""Property tests per tag family: for any 1-4 annotations of values the family's validator accepts,

* ``validate`` returns [] for each value and ``check_result`` accepts each annotation;
* ``compute_consensus`` runs and gives an agreement in [0, 1] (None for a single annotation);
* every consensus item passes ``check_result``;
* the family's gold scorer (``behaviour.gold.evidence`` / ``summarise``, as ``core.analytics`` calls them)
  runs against the first annotation as the truth;
* every export format that applies to the config writes a task carrying those annotations.

One strategy per family writes values as Label Studio does (core/tags/*.py, ../shared/reference/
label-studio-formats.md section b).
"""
from __future__ import annotations

import math
import string
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from core.analytics import values_by_control
from core.config import LabelingConfig, parse_config
from core.formats.registry import supported_formats
from core.formats.schema import schema_from_config
from core.quality import compute_consensus
from core.results import check_result
from core.tags import behaviour_of
from core.tags.spec import ValueContext

Item = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]
IMG = {"original_width": 640, "original_height": 480, "image_rotation": 0}
LETTERS = string.ascii_letters + "  .,"


def pct(low: int = 0, high: int = 10000) -> st.SearchStrategy[float]:
    """A percentage with two decimals in [low/100, high/100]."""
    return st.integers(low, high).map(lambda n: n / 100)


def maybe(draw: Draw) -> bool:
    return draw(st.booleans())


# --- strategies per family --------------------------------------------------------------------------------


def draw_box(draw: Draw) -> dict[str, Any]:
    x, y = draw(st.integers(0, 9900)), draw(st.integers(0, 9900))
    w, h = draw(st.integers(10, 10000 - x)), draw(st.integers(10, 10000 - y))
    return {"x": x / 100, "y": y / 100, "width": w / 100, "height": h / 100,
            "rotation": draw(st.sampled_from([0, 0, 0, 15, 90, 270]))}


def draw_polygon(draw: Draw) -> dict[str, Any]:
    points = draw(st.lists(st.tuples(pct(), pct()), min_size=3, max_size=6))
    return {"points": [[x, y] for x, y in points], "closed": True}


def draw_point(draw: Draw) -> dict[str, Any]:
    return {"x": draw(pct()), "y": draw(pct()), "width": draw(st.sampled_from([0.5, 1, 2.5]))}


def regions(draw: Draw, name: str, type_: str, shape: Callable[[Draw], dict[str, Any]], labels: list[str] | None,
            prefix: str, max_size: int = 3) -> list[Item]:
    out = []
    for i in range(draw(st.integers(0, max_size))):
        value = shape(draw)
        if labels:
            value[type_] = [draw(st.sampled_from(labels))]
        out.append({"id": f"{prefix}{i}", "from_name": name, "to_name": "img", "type": type_, "value": value, **IMG})
    return out


def image_labels(draw: Draw, data: dict[str, Any]) -> list[Item]:
    labels = ["Car", "Person"]
    return (regions(draw, "box", "rectanglelabels", draw_box, labels, "b")
            + regions(draw, "poly", "polygonlabels", draw_polygon, labels, "p")
            + regions(draw, "kp", "keypointlabels", draw_point, ["Nose", "Eye"], "k"))


def image_plain(draw: Draw, data: dict[str, Any]) -> list[Item]:
    boxes = regions(draw, "box", "rectangle", draw_box, None, "b")
    notes = [{**box, "from_name": "note", "type": "textarea",
              "value": {**box["value"], "text": [draw(st.text(LETTERS, min_size=1, max_size=20))]}}
             for box in boxes if maybe(draw)]
    return (boxes + notes + regions(draw, "poly", "polygon", draw_polygon, None, "p")
            + regions(draw, "kp", "keypoint", draw_point, None, "k"))


def draw_text(min_size: int = 5) -> st.SearchStrategy[str]:
    return st.text(LETTERS, min_size=min_size, max_size=60)


def char_spans(draw: Draw, text: str, name: str, to_name: str, labels: list[str], prefix: str,
               max_size: int = 4) -> list[Item]:
    out = []
    for i in range(draw(st.integers(0, max_size))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        out.append({"id": f"{prefix}{i}", "from_name": name, "to_name": to_name, "type": "labels",
                    "value": {"start": start, "end": end, "text": text[start:end],
                              "labels": [draw(st.sampled_from(labels))]}})
    return out


def text_spans(draw: Draw, data: dict[str, Any]) -> list[Item]:
    spans = char_spans(draw, data["text"], "ner", "text", ["PER", "ORG", "LOC"], "s")
    sure = [{**span, "from_name": "sure", "type": "choices",
             "value": {k: span["value"][k] for k in ("start", "end", "text")} | {"choices": [draw(st.sampled_from(["yes", "no"]))]}}
            for span in spans if maybe(draw)]
    relations = []
    if len(spans) >= 2:
        for _ in range(draw(st.integers(0, 3))):
            a, b = draw(st.sampled_from(spans)), draw(st.sampled_from(spans))
            if a is b:
                continue
            relations.append({"type": "relation", "from_id": a["id"], "to_id": b["id"],
                              "direction": draw(st.sampled_from(["right", "left", "bi"])),
                              "labels": draw(st.lists(st.sampled_from(["works_for", "lives_in"]), max_size=2, unique=True))})
    return spans + sure + relations


def audio(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out: list[Item] = []
    for i in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 60000)) / 1000
        end = start + draw(st.integers(1, 30000)) / 1000
        out.append({"id": f"a{i}", "from_name": "events", "to_name": "audio", "type": "labels", "original_length": 90.0,
                    "value": {"start": start, "end": end, "channel": 0,
                              "labels": [draw(st.sampled_from(["Speech", "Noise"]))]}})
    if maybe(draw):
        out.append({"from_name": "transcription", "to_name": "audio", "type": "textarea",
                    "value": {"text": draw(st.lists(st.text(LETTERS, min_size=1, max_size=30), min_size=1, max_size=2))}})
    return out


HTML = "<p>Ann Smith works at Acme in Oslo.</p>"
HTML_TEXT = "Ann Smith works at Acme in Oslo."


def hypertext(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out = []
    for i in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(HTML_TEXT) - 1))
        end = draw(st.integers(start + 1, len(HTML_TEXT)))
        out.append({"id": f"h{i}", "from_name": "ents", "to_name": "page", "type": "hypertextlabels",
                    "value": {"start": "/p[1]/text()[1]", "end": "/p[1]/text()[1]", "startOffset": start,
                              "endOffset": end, "globalOffsets": {"start": start, "end": end},
                              "text": HTML_TEXT[start:end],
                              "hypertextlabels": [draw(st.sampled_from(["Person", "Org"]))]}})
    return out


def paragraphs(draw: Draw, data: dict[str, Any]) -> list[Item]:
    texts = [p["text"] for p in data["dialogue"]]
    out = []
    for i in range(draw(st.integers(0, 3))):
        first = draw(st.integers(0, len(texts) - 1))
        last = draw(st.integers(first, len(texts) - 1))
        start = draw(st.integers(0, len(texts[first]) - 1))
        end = draw(st.integers(start + 1 if last == first else 0, len(texts[last])))
        out.append({"id": f"g{i}", "from_name": "tone", "to_name": "dialogue", "type": "paragraphlabels",
                    "value": {"start": str(first), "end": str(last), "startOffset": start, "endOffset": end,
                              "paragraphlabels": [draw(st.sampled_from(["Angry", "Polite"]))]}})
    return out


def timeseries(draw: Draw, data: dict[str, Any]) -> list[Item]:
    iso = maybe(draw)
    base = datetime(2024, 1, 1)
    out = []
    for i in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 95))
        end = draw(st.integers(start, 99))
        value: dict[str, Any] = ({"start": (base + timedelta(hours=start)).isoformat(sep=" "),
                                  "end": (base + timedelta(hours=end)).isoformat(sep=" ")} if iso
                                 else {"start": start, "end": end})
        value |= {"instant": start == end, "timeserieslabels": [draw(st.sampled_from(["Run", "Walk"]))]}
        out.append({"id": f"t{i}", "from_name": "activity", "to_name": "ts", "type": "timeserieslabels",
                    "value": value})
    return out


def timeline(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out = []
    for i in range(draw(st.integers(0, 3))):
        start = draw(st.integers(1, 500))
        out.append({"id": f"v{i}", "from_name": "actions", "to_name": "video", "type": "timelinelabels",
                    "value": {"ranges": [{"start": start, "end": draw(st.integers(start, 600))}],
                              "timelinelabels": [draw(st.sampled_from(["Jump", "Fall"]))]}})
    return out


TAXONOMY = [["Science"], ["Science", "Biology"], ["Science", "Physics"], ["Arts"], ["Arts", "Music"], ["Sports"]]


def choices(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out = []
    if maybe(draw):
        out.append({"from_name": "sentiment", "to_name": "text", "type": "choices",
                    "value": {"choices": [draw(st.sampled_from(["Positive", "Negative", "Neutral"]))]}})
    if maybe(draw):
        out.append({"from_name": "tags", "to_name": "text", "type": "choices",
                    "value": {"choices": draw(st.lists(st.sampled_from(["news", "sport", "tech"]), min_size=1,
                                                       max_size=3, unique=True))}})
    if maybe(draw):
        out.append({"from_name": "topic", "to_name": "text", "type": "taxonomy",
                    "value": {"taxonomy": draw(st.lists(st.sampled_from(TAXONOMY), min_size=1, max_size=3,
                                                        unique_by=tuple))}})
    return out


def scalars(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out = []
    if maybe(draw):
        out.append({"from_name": "stars", "to_name": "text", "type": "rating",
                    "value": {"rating": draw(st.integers(1, 10))}})
    if maybe(draw):
        number = draw(st.one_of(st.integers(-5, 5), st.floats(-5, 5.5, allow_nan=False).map(lambda x: round(x, 3))))
        out.append({"from_name": "score", "to_name": "text", "type": "number", "value": {"number": number}})
    if maybe(draw):
        day = draw(st.dates(date(1990, 1, 1), date(2030, 12, 31)))
        text = day.isoformat() if maybe(draw) else f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        out.append({"from_name": "when", "to_name": "text", "type": "datetime", "value": {"datetime": text}})
    return out


RANK_ITEMS = ["a", "b", "c", "d", "e"]


def ordering(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out = []
    if maybe(draw):
        out.append({"from_name": "pw", "to_name": "left,right", "type": "pairwise",
                    "value": {"selected": draw(st.sampled_from(["left", "right"]))}})
    if maybe(draw):
        order = draw(st.permutations(RANK_ITEMS))
        buckets: dict[str, list[str]] = {"good": [], "ok": [], "bad": []}
        for x in order[: draw(st.integers(1, len(order)))]:
            buckets[draw(st.sampled_from(list(buckets)))].append(x)
        out.append({"from_name": "rank", "to_name": "answers", "type": "ranker", "value": {"ranker": buckets}})
    return out


ROLES = ["user", "assistant"]


def chat(draw: Draw, data: dict[str, Any]) -> list[Item]:
    out: list[Item] = [{"id": f"m{i}", "from_name": "chat", "to_name": "chat", "type": "chatmessage",
                        "value": {"chatmessage": {"role": draw(st.sampled_from(ROLES)),
                                                  "content": draw(st.text(LETTERS, min_size=1, max_size=20)).strip() or "ok"}}}
                       for i in range(draw(st.integers(0, 2)))]
    for index in range(len(data["chat"])):
        if maybe(draw):
            out.append({"id": f"msg-{index}", "from_name": "accuracy", "to_name": "chat", "type": "rating",
                        "value": {"rating": draw(st.integers(1, 5))}})
    return out


# --- the families -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    config: str
    data: st.SearchStrategy[dict[str, Any]]
    annotation: Callable[[Draw, dict[str, Any]], list[Item]]


IMAGE_DATA = st.just({"image": "https://example.com/photos/street.jpg"})
FAMILIES: dict[str, Family] = {
    "choices": Family(
        '<View><Text name="text" value="$text"/>'
        '<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/>'
        '<Choice value="Neutral"/></Choices>'
        '<Choices name="tags" toName="text" choice="multiple"><Choice value="news"/><Choice value="sport"/>'
        '<Choice value="tech"/></Choices>'
        '<Taxonomy name="topic" toName="text"><Choice value="Science"><Choice value="Biology"/>'
        '<Choice value="Physics"/></Choice><Choice value="Arts"><Choice value="Music"/></Choice>'
        '<Choice value="Sports"/></Taxonomy></View>',
        st.fixed_dictionaries({"text": draw_text()}), choices),
    "shapes+keypoints (labelled)": Family(
        '<View><Image name="img" value="$image"/>'
        '<RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Person"/></RectangleLabels>'
        '<PolygonLabels name="poly" toName="img"><Label value="Car"/><Label value="Person"/></PolygonLabels>'
        '<KeyPointLabels name="kp" toName="img"><Label value="Nose" model_index="0"/>'
        '<Label value="Eye" model_index="1"/></KeyPointLabels></View>',
        IMAGE_DATA, image_labels),
    "shapes+keypoints (plain, perRegion TextArea)": Family(
        '<View><Image name="img" value="$image"/><Rectangle name="box" toName="img"/>'
        '<Polygon name="poly" toName="img"/><KeyPoint name="kp" toName="img"/>'
        '<TextArea name="note" toName="img" perRegion="true"/></View>',
        IMAGE_DATA, image_plain),
    "spans (Text) + perRegion Choices + relations": Family(
        '<View><Relations><Relation value="works_for"/><Relation value="lives_in"/></Relations>'
        '<Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/><Label value="LOC"/></Labels>'
        '<Text name="text" value="$text"/>'
        '<Choices name="sure" toName="text" perRegion="true"><Choice value="yes"/><Choice value="no"/></Choices>'
        '</View>',
        st.fixed_dictionaries({"text": draw_text()}), text_spans),
    "spans (Audio, seconds) + TextArea": Family(
        '<View><Audio name="audio" value="$audio"/><Labels name="events" toName="audio">'
        '<Label value="Speech"/><Label value="Noise"/></Labels>'
        '<TextArea name="transcription" toName="audio"/></View>',
        st.just({"audio": "https://example.com/clips/call.wav"}), audio),
    "spans (HyperText)": Family(
        '<View><HyperText name="page" value="$html"/><HyperTextLabels name="ents" toName="page">'
        '<Label value="Person"/><Label value="Org"/></HyperTextLabels></View>',
        st.just({"html": HTML}), hypertext),
    "spans (Paragraphs)": Family(
        '<View><Paragraphs name="dialogue" value="$dialogue" layout="dialogue" nameKey="author" textKey="text"/>'
        '<ParagraphLabels name="tone" toName="dialogue"><Label value="Angry"/><Label value="Polite"/>'
        '</ParagraphLabels></View>',
        st.fixed_dictionaries({"dialogue": st.lists(
            st.fixed_dictionaries({"author": st.sampled_from(["A", "B"]), "text": draw_text(1)}),
            min_size=1, max_size=4)}), paragraphs),
    "time ranges (TimeSeries)": Family(
        '<View><TimeSeries name="ts" value="$ts" valueType="json" timeColumn="time"><Channel column="velocity"/>'
        '</TimeSeries><TimeSeriesLabels name="activity" toName="ts"><Label value="Run"/><Label value="Walk"/>'
        '</TimeSeriesLabels></View>',
        st.just({"ts": {"time": list(range(100)), "velocity": [float(i % 7) for i in range(100)]}}), timeseries),
    "time ranges (Timeline)": Family(
        '<View><Video name="video" value="$video" frameRate="25"/><TimelineLabels name="actions" toName="video">'
        '<Label value="Jump"/><Label value="Fall"/></TimelineLabels></View>',
        st.just({"video": "https://example.com/videos/skate.mp4"}), timeline),
    "scalars": Family(
        '<View><Text name="text" value="$text"/><Rating name="stars" toName="text" maxRating="10"/>'
        '<Number name="score" toName="text" min="-5" max="5.5"/>'
        '<DateTime name="when" toName="text"/></View>',
        st.fixed_dictionaries({"text": draw_text()}), scalars),
    "ordering": Family(
        '<View><Text name="left" value="$left"/><Text name="right" value="$right"/>'
        '<Pairwise name="pw" toName="left,right"/><List name="answers" value="$items" title="Answers"/>'
        '<Ranker name="rank" toName="answers"><Bucket name="good" title="Good"/><Bucket name="ok" title="OK"/>'
        '<Bucket name="bad" title="Bad"/></Ranker></View>',
        st.just({"left": "one", "right": "two",
                 "items": [{"id": x, "title": x.upper(), "body": f"answer {x}"} for x in RANK_ITEMS]}), ordering),
    "chat messages + perRegion Rating": Family(
        '<View><Chat name="chat" value="$chat" editable="true"/>'
        '<Rating name="accuracy" toName="chat" perRegion="true"/></View>',
        st.fixed_dictionaries({"chat": st.lists(st.fixed_dictionaries(
            {"role": st.sampled_from(ROLES), "content": draw_text(1)}), min_size=1, max_size=3)}), chat),
}
CONFIGS: dict[str, LabelingConfig] = {name: parse_config(f.config) for name, f in FAMILIES.items()}


def _export_task(data: dict[str, Any], annotations: list[list[Item]]) -> dict[str, Any]:
    return {"id": 1, "data": data, "predictions": [], "annotations": [
        {"id": i + 1, "completed_by": i + 1, "result": result, "was_cancelled": False, "ground_truth": False,
         "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z", "lead_time": 2.0}
        for i, result in enumerate(annotations)]}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_valid_values_survive_consensus_gold_and_every_export(family: str, data: st.DataObject) -> None:
    spec, cfg = FAMILIES[family], CONFIGS[family]
    task_data = data.draw(spec.data, label="data")
    n = data.draw(st.integers(1, 4), label="n annotations")
    annotations = [spec.annotation(data.draw, task_data) for _ in range(n)]
    for i, result in enumerate(annotations):
        note(f"annotation {i}: {result}")

    # 1. the family validators accept what the strategies make, and so does check_result
    for result in annotations:
        for entry in result:
            control = (next(c for c in cfg.controls.values() if c.kind.result_type == "relation")
                       if entry.get("type") == "relation" else cfg.controls.get(entry["from_name"]))
            if control is None:  # a Chat message
                behaviour = behaviour_of(cfg.objects[entry["from_name"]].tag)
                control = cfg.objects[entry["from_name"]]
            else:
                behaviour = behaviour_of(control.tag)
            assert behaviour is not None
            value = entry.get("value", {})
            assert behaviour.validate(control, value, ValueContext(cfg, entry, task_data)) == [], entry
        check_result(cfg, result, task_data)

    # 2. consensus and agreement
    outcome = compute_consensus(cfg, task_data, annotations)
    if n == 1:
        assert outcome.agreement is None
    else:
        assert outcome.agreement is None or (0.0 <= outcome.agreement <= 1.0 and not math.isnan(outcome.agreement)), \
            f"agreement {outcome.agreement}"
    note(f"consensus: {outcome.result}")

    # 3. the consensus is a result the config accepts
    check_result(cfg, outcome.result, task_data)

    # 4. gold scoring against the first annotation, as core.analytics does it
    scored = dict(cfg.controls)
    truth = values_by_control(cfg, annotations[0], scored)
    for result in annotations:
        mine = values_by_control(cfg, result, scored)
        for name, control in scored.items():
            behaviour = behaviour_of(control.tag)
            if behaviour is None or behaviour.gold is None or (name not in mine and name not in truth):
                continue
            piece = behaviour.gold.evidence(control, mine.get(name) or [], truth.get(name) or [])
            summary = behaviour.gold.summarise([piece, piece])
            assert isinstance(summary, dict) and summary, f"{control.tag} gold summary {summary!r}"
            for column, number in summary.items():
                assert isinstance(number, float), f"{control.tag} gold {column}={number!r}"
                # char_accuracy is 1 - CER, below 0 when the hypothesis is much longer than the truth
                low = -math.inf if column == "char_accuracy" else -1e-9
                assert math.isnan(number) or low <= number <= 1 + 1e-9, f"{control.tag} gold {column}={number}"

    # 5. every applicable export format writes the task
    schema = schema_from_config(cfg)
    with tempfile.TemporaryDirectory() as out:
        for fmt in supported_formats(schema):
            written = fmt.export([_export_task(task_data, annotations)], Path(out) / fmt.name, schema=schema)
            assert all(Path(p).exists() for p in written), fmt.name
            assert written or fmt.layout == "folder", f"{fmt.name} wrote nothing"
