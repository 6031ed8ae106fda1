"""Every labelable kind (and Chat) from first answer to settled, through the real services on both databases.

For each kind a minimal config and realistic Label Studio values: three annotators (overlap 3,
``review_first``, threshold 0.8) submit

* three identical answers: agreement 1.0, state ``done``, consensus equal to the answer (region ids aside);
* three fully different answers (Pairwise has two sides only: left, right, left): agreement below the
  threshold, state ``review``.

Chat messages (fallback REVIEW) go to ``review`` even when identical; a perRegion TextArea on boxes is settled
per consensus region (core.quality.per_region_consensus) like any other control.
One database per backend for the module; one project per (kind, case).
"""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from core.labeling import submit_annotation
from core.projects import ProjectSettings, add_member, create_project
from core.uow import UnitOfWork
from storage.db import make_engine, session_factory, upgrade_to_head
from storage.models import Consensus, Task
from tests.conftest import _truncate_postgres
from tests.core.helpers import import_json, make_user

Item = dict[str, Any]
IMG = {"original_width": 640, "original_height": 480, "image_rotation": 0}


def item(from_name: str, to_name: str, type_: str, value: dict[str, Any], id_: str | None = None, **extra: Any) -> Item:
    out: Item = {"from_name": from_name, "to_name": to_name, "type": type_, "value": value, **extra}
    if id_ is not None:
        out["id"] = id_
    return out


@dataclass(frozen=True)
class Case:
    config: str
    data: dict[str, Any]
    same: list[Item]  # one answer, given by all three annotators
    different: tuple[list[Item], list[Item], list[Item]]
    fallback: bool = False  # an answered control with no consensus: review even when identical


def box(name: str, type_: str, x: float, y: float, w: float, h: float, label: str | None, rid: str) -> Item:
    value: dict[str, Any] = {"x": x, "y": y, "width": w, "height": h, "rotation": 0}
    if label:
        value[type_] = [label]
    return item(name, "img", type_, value, rid, **IMG)


def poly(name: str, type_: str, points: list[list[float]], label: str | None, rid: str) -> Item:
    value: dict[str, Any] = {"points": points, "closed": True}
    if label:
        value[type_] = [label]
    return item(name, "img", type_, value, rid, **IMG)


def point(name: str, type_: str, x: float, y: float, label: str | None, rid: str) -> Item:
    value: dict[str, Any] = {"x": x, "y": y, "width": 1.0}
    if label:
        value[type_] = [label]
    return item(name, "img", type_, value, rid, **IMG)


IMAGE = {"image": "https://example.com/photos/street.jpg"}
TEXT = "Ann Smith lives in Oslo and works for Acme in Bergen."
HTML = "<div><p>Ann Smith works at <b>Acme</b> in Oslo.</p></div>"
PARAGRAPHS = [{"author": "Customer", "text": "My order never arrived."},
              {"author": "Agent", "text": "Sorry, let me check that."},
              {"author": "Customer", "text": "Thanks, order 1234."}]
CHAT = [{"role": "user", "content": "What is the capital of Norway?"},
        {"role": "assistant", "content": "Oslo."}]


def _span(name: str, type_: str, start: int, end: int, label: str, rid: str) -> Item:
    return item(name, "text", type_, {"start": start, "end": end, "text": TEXT[start:end], type_: [label]}, rid)


def _html_span(start_offset: int, end_offset: int, label: str, rid: str) -> Item:
    # text nodes of HTML: "Ann Smith works at " (0-19), "Acme" (19-23), " in Oslo." (23-32)
    return item("ents", "page", "hypertextlabels", {
        "start": "/div[1]/p[1]/text()[1]", "end": "/div[1]/p[1]/text()[1]", "startOffset": start_offset,
        "endOffset": end_offset, "globalOffsets": {"start": start_offset, "end": end_offset},
        "text": "Ann Smith works at "[start_offset:end_offset], "hypertextlabels": [label]}, rid)


def _paragraph(index: int, start: int, end: int, label: str, rid: str) -> Item:
    return item("tone", "dialogue", "paragraphlabels", {
        "start": str(index), "end": str(index), "startOffset": start, "endOffset": end,
        "text": PARAGRAPHS[index]["text"][start:end], "paragraphlabels": [label]}, rid)


def _message(content: str, rid: str) -> Item:
    return item("chat", "chat", "chatmessage", {"chatmessage": {"role": "user", "content": content}}, rid)


CASES: dict[str, Case] = {
    "Choices": Case(
        '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
        '<Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View>',
        {"text": "Great service, would buy again."},
        [item("sentiment", "text", "choices", {"choices": ["Positive"]})],
        tuple([item("sentiment", "text", "choices", {"choices": [c]})] for c in ("Positive", "Negative", "Neutral")),
    ),
    "Labels": Case(
        '<View><Labels name="ner" toName="text"><Label value="PER"/><Label value="LOC"/><Label value="ORG"/></Labels>'
        '<Text name="text" value="$text"/></View>',
        {"text": TEXT},
        [_span("ner", "labels", 0, 9, "PER", "s1"), _span("ner", "labels", 19, 23, "LOC", "s2")],
        ([_span("ner", "labels", 0, 9, "PER", "a")], [_span("ner", "labels", 19, 23, "LOC", "b")],
         [_span("ner", "labels", 38, 42, "ORG", "c")]),
    ),
    "RectangleLabels": Case(
        '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img">'
        '<Label value="Car"/><Label value="Person"/></RectangleLabels></View>',
        IMAGE,
        [box("box", "rectanglelabels", 10, 20, 30, 40, "Car", "b1"),
         box("box", "rectanglelabels", 60, 10, 15.5, 25.25, "Person", "b2")],
        ([box("box", "rectanglelabels", 1, 1, 10, 10, "Car", "a")],
         [box("box", "rectanglelabels", 40, 40, 10, 10, "Car", "b")],
         [box("box", "rectanglelabels", 80, 80, 10, 10, "Person", "c")]),
    ),
    "Rectangle": Case(
        '<View><Image name="img" value="$image"/><Rectangle name="box" toName="img"/></View>',
        IMAGE,
        [box("box", "rectangle", 10, 20, 30, 40, None, "b1")],
        ([box("box", "rectangle", 1, 1, 10, 10, None, "a")], [box("box", "rectangle", 40, 40, 10, 10, None, "b")],
         [box("box", "rectangle", 80, 80, 10, 10, None, "c")]),
    ),
    "PolygonLabels": Case(
        '<View><Image name="img" value="$image"/><PolygonLabels name="poly" toName="img">'
        '<Label value="Road"/><Label value="Tree"/></PolygonLabels></View>',
        IMAGE,
        [poly("poly", "polygonlabels", [[10, 10], [40, 12], [35, 45], [12, 40]], "Road", "p1")],
        ([poly("poly", "polygonlabels", [[1, 1], [10, 1], [5, 10]], "Road", "a")],
         [poly("poly", "polygonlabels", [[50, 50], [60, 50], [55, 60]], "Road", "b")],
         [poly("poly", "polygonlabels", [[80, 80], [90, 80], [85, 90]], "Tree", "c")]),
    ),
    "Polygon": Case(
        '<View><Image name="img" value="$image"/><Polygon name="poly" toName="img"/></View>',
        IMAGE,
        [poly("poly", "polygon", [[10, 10], [40, 12], [35, 45]], None, "p1")],
        ([poly("poly", "polygon", [[1, 1], [10, 1], [5, 10]], None, "a")],
         [poly("poly", "polygon", [[50, 50], [60, 50], [55, 60]], None, "b")],
         [poly("poly", "polygon", [[80, 80], [90, 80], [85, 90]], None, "c")]),
    ),
    "KeyPointLabels": Case(
        '<View><Image name="img" value="$image"/><KeyPointLabels name="kp" toName="img">'
        '<Label value="Nose"/><Label value="Eye"/></KeyPointLabels></View>',
        IMAGE,
        [point("kp", "keypointlabels", 50.5, 40.25, "Nose", "k1"), point("kp", "keypointlabels", 45, 30, "Eye", "k2")],
        ([point("kp", "keypointlabels", 10, 10, "Nose", "a")], [point("kp", "keypointlabels", 50, 50, "Nose", "b")],
         [point("kp", "keypointlabels", 90, 90, "Eye", "c")]),
    ),
    "KeyPoint": Case(
        '<View><Image name="img" value="$image"/><KeyPoint name="kp" toName="img"/></View>',
        IMAGE,
        [point("kp", "keypoint", 50.5, 40.25, None, "k1")],
        ([point("kp", "keypoint", 10, 10, None, "a")], [point("kp", "keypoint", 50, 50, None, "b")],
         [point("kp", "keypoint", 90, 90, None, "c")]),
    ),
    "TextArea": Case(
        '<View><Audio name="audio" value="$audio"/><TextArea name="transcription" toName="audio"/></View>',
        {"audio": "https://example.com/clips/call.wav"},
        [item("transcription", "audio", "textarea", {"text": ["hello, how can I help you today"]})],
        tuple([item("transcription", "audio", "textarea", {"text": [t]})]
              for t in ("hello there", "zzzz qqqq vvvv", "1234 5678 90")),
    ),
    "Rating": Case(
        '<View><Text name="text" value="$text"/><Rating name="stars" toName="text" maxRating="5"/></View>',
        {"text": "A decent answer."},
        [item("stars", "text", "rating", {"rating": 4})],
        tuple([item("stars", "text", "rating", {"rating": r})] for r in (1, 3, 5)),
    ),
    "Number": Case(
        '<View><Text name="text" value="$text"/><Number name="age" toName="text" min="0" max="100"/></View>',
        {"text": "How old is the person in the story?"},
        [item("age", "text", "number", {"number": 42})],
        tuple([item("age", "text", "number", {"number": n})] for n in (0, 50, 100)),
    ),
    "DateTime": Case(
        '<View><Text name="text" value="$text"/><DateTime name="when" toName="text" only="date"/></View>',
        {"text": "The invoice is dated May 1st."},
        [item("when", "text", "datetime", {"datetime": "2024-05-01"})],
        tuple([item("when", "text", "datetime", {"datetime": d})] for d in ("2024-05-01", "2023-01-12", "2021-11-30")),
    ),
    "Taxonomy": Case(
        '<View><Text name="text" value="$text"/><Taxonomy name="topic" toName="text">'
        '<Choice value="Science"><Choice value="Biology"/><Choice value="Physics"/></Choice>'
        '<Choice value="Arts"><Choice value="Music"/></Choice><Choice value="Sports"/></Taxonomy></View>',
        {"text": "Cells divide by mitosis."},
        [item("topic", "text", "taxonomy", {"taxonomy": [["Science", "Biology"]]})],
        tuple([item("topic", "text", "taxonomy", {"taxonomy": [p]})]
              for p in (["Science", "Biology"], ["Arts", "Music"], ["Sports"])),
    ),
    "Pairwise": Case(
        '<View><Pairwise name="pw" toName="text1,text2"/><Text name="text1" value="$pairText1"/>'
        '<Text name="text2" value="$pairText2"/></View>',
        {"pairText1": "The cat sat on the mat.", "pairText2": "A cat was sitting on a mat."},
        [item("pw", "text1,text2", "pairwise", {"selected": "left"})],
        tuple([item("pw", "text1,text2", "pairwise", {"selected": s})] for s in ("left", "right", "left")),
    ),
    "Ranker": Case(
        '<View><List name="answers" value="$items" title="Answers"/><Ranker name="rank" toName="answers">'
        '<Bucket name="good" title="Good"/><Bucket name="bad" title="Bad"/></Ranker></View>',
        {"items": [{"id": "a", "title": "A", "body": "first"}, {"id": "b", "title": "B", "body": "second"},
                   {"id": "c", "title": "C", "body": "third"}, {"id": "d", "title": "D", "body": "fourth"}]},
        [item("rank", "answers", "ranker", {"ranker": {"good": ["a", "b"], "bad": ["c", "d"]}})],
        ([item("rank", "answers", "ranker", {"ranker": {"good": ["a", "b"], "bad": ["c", "d"]}})],
         [item("rank", "answers", "ranker", {"ranker": {"good": ["d", "c"], "bad": ["b", "a"]}})],
         [item("rank", "answers", "ranker", {"ranker": {"good": ["c", "a"], "bad": ["d", "b"]}})]),
    ),
    "Relations": Case(
        '<View><Relations><Relation value="works_for"/><Relation value="lives_in"/></Relations>'
        '<Labels name="ner" toName="text"><Label value="PER"/><Label value="LOC"/><Label value="ORG"/></Labels>'
        '<Text name="text" value="$text"/></View>',
        {"text": TEXT},
        [_span("ner", "labels", 0, 9, "PER", "p"), _span("ner", "labels", 19, 23, "LOC", "l"),
         {"type": "relation", "from_id": "p", "to_id": "l", "direction": "right", "labels": ["lives_in"]}],
        ([_span("ner", "labels", 0, 9, "PER", "p"), _span("ner", "labels", 19, 23, "LOC", "l"),
          {"type": "relation", "from_id": "p", "to_id": "l", "direction": "right", "labels": ["lives_in"]}],
         [_span("ner", "labels", 0, 3, "PER", "p"), _span("ner", "labels", 38, 42, "ORG", "o"),
          {"type": "relation", "from_id": "p", "to_id": "o", "direction": "right", "labels": ["works_for"]}],
         [_span("ner", "labels", 4, 9, "LOC", "x"), _span("ner", "labels", 46, 52, "ORG", "y"),
          {"type": "relation", "from_id": "y", "to_id": "x", "direction": "left", "labels": ["lives_in"]}]),
    ),
    "HyperTextLabels": Case(
        '<View><HyperText name="page" value="$html"/><HyperTextLabels name="ents" toName="page">'
        '<Label value="Person"/><Label value="Org"/></HyperTextLabels></View>',
        {"html": HTML},
        [_html_span(0, 9, "Person", "h1")],
        ([_html_span(0, 9, "Person", "a")], [_html_span(0, 3, "Person", "b")], [_html_span(10, 15, "Org", "c")]),
    ),
    "ParagraphLabels": Case(
        '<View><Paragraphs name="dialogue" value="$dialogue" layout="dialogue" nameKey="author" textKey="text"/>'
        '<ParagraphLabels name="tone" toName="dialogue"><Label value="Angry"/><Label value="Polite"/>'
        '</ParagraphLabels></View>',
        {"dialogue": PARAGRAPHS},
        [_paragraph(0, 0, 22, "Angry", "g1"), _paragraph(1, 0, 6, "Polite", "g2")],
        ([_paragraph(0, 0, 22, "Angry", "a")], [_paragraph(1, 0, 6, "Polite", "b")],
         [_paragraph(2, 0, 7, "Polite", "c")]),
    ),
    "TimeSeriesLabels": Case(
        '<View><TimeSeries name="ts" value="$ts" valueType="json" timeColumn="time">'
        '<Channel column="velocity"/></TimeSeries><TimeSeriesLabels name="activity" toName="ts">'
        '<Label value="Run"/><Label value="Walk"/></TimeSeriesLabels></View>',
        {"ts": {"time": list(range(100)), "velocity": [float(i % 7) for i in range(100)]}},
        [item("activity", "ts", "timeserieslabels", {"start": 10, "end": 30, "instant": False,
                                                    "timeserieslabels": ["Run"]}, "t1")],
        tuple([item("activity", "ts", "timeserieslabels", {"start": s, "end": e, "instant": False,
                                                          "timeserieslabels": [lab]}, "t")]
              for s, e, lab in ((0, 10, "Run"), (40, 50, "Run"), (80, 95, "Walk"))),
    ),
    "TimelineLabels": Case(
        '<View><Video name="video" value="$video" frameRate="25"/><TimelineLabels name="actions" toName="video">'
        '<Label value="Jump"/><Label value="Fall"/></TimelineLabels></View>',
        {"video": "https://example.com/videos/skate.mp4"},
        [item("actions", "video", "timelinelabels", {"ranges": [{"start": 10, "end": 40}],
                                                   "timelinelabels": ["Jump"]}, "v1")],
        tuple([item("actions", "video", "timelinelabels", {"ranges": [{"start": s, "end": e}],
                                                         "timelinelabels": [lab]}, "v")]
              for s, e, lab in ((1, 10, "Jump"), (100, 130, "Jump"), (300, 320, "Fall"))),
    ),
    "Chat": Case(
        '<View><Chat name="chat" value="$chat" editable="true"/></View>',
        {"chat": CHAT},
        [_message("And of Sweden?", "m1")],
        ([_message("And of Sweden?", "a")], [_message("Thanks!", "b")], [_message("Is that right?", "c")]),
        fallback=True,
    ),
    "Rating perRegion on Chat messages": Case(
        '<View><Chat name="chat" value="$chat"/><Rating name="accuracy" toName="chat" perRegion="true"/></View>',
        {"chat": CHAT},
        [item("accuracy", "chat", "rating", {"rating": 4}, "msg-1")],
        tuple([item("accuracy", "chat", "rating", {"rating": r}, "msg-1")] for r in (1, 3, 5)),
    ),
    "TextArea perRegion on Rectangle": Case(
        '<View><Image name="img" value="$image"/><Rectangle name="box" toName="img"/>'
        '<TextArea name="note" toName="img" perRegion="true"/></View>',
        IMAGE,
        [box("box", "rectangle", 10, 20, 30, 40, None, "r1"),
         item("note", "img", "textarea", {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
                                          "text": ["a red car"]}, "r1", **IMG)],
        tuple([box("box", "rectangle", x, x, 10, 10, None, "r"),
               item("note", "img", "textarea", {"x": x, "y": x, "width": 10, "height": 10, "rotation": 0,
                                                "text": [t]}, "r", **IMG)]
              for x, t in ((1, "car"), (40, "tree"), (80, "dog"))),
    ),
}


# --- one database per backend for the module ------------------------------------------------------------


@dataclass
class Team:
    make_uow: Any
    admin: Any
    annotators: list[Any]
    reviewer: Any
    backend: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def team(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('settles') / 'quorum.db'}"
        engine = make_engine(url)
        upgrade_to_head(engine)
    else:
        url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
    make_uow = partial(UnitOfWork, session_factory(engine))
    admin = make_user(make_uow, "settle-admin", admin=True)
    annotators = [make_user(make_uow, f"settle-ann{i}") for i in range(3)]
    reviewer = make_user(make_uow, "settle-rev")
    try:
        yield Team(make_uow, admin, annotators, reviewer, request.param)
    finally:
        if request.param == "postgresql":
            _truncate_postgres(engine)  # the session's database is shared with the other test modules
        engine.dispose()


def _settle(team: Team, kind: str, case_name: str, answers: list[list[Item]]) -> tuple[Task, Consensus | None]:
    case = CASES[kind]
    with team.make_uow() as uow:
        project = create_project(
            uow, team.admin, title=f"{kind} {case_name}", config_xml=case.config,
            settings=ProjectSettings(overlap=3, maximum_annotations=3, agreement_threshold=0.8,
                                     escalation_order="review_first"),
        )
        for user in team.annotators:
            add_member(uow, team.admin, project_id=project.id, user_id=user.id, role="annotator")
        add_member(uow, team.admin, project_id=project.id, user_id=team.reviewer.id, role="reviewer")
        uow.commit()
    summary = import_json(team.make_uow, team.admin, project.id, [{"data": case.data}])
    assert summary.n_tasks == 1
    with team.make_uow() as uow:
        task_id = uow.session.scalars(select(Task.id).where(Task.project_id == project.id)).one()
    for n, (user, result) in enumerate(zip(team.annotators, answers, strict=True), start=1):
        with team.make_uow() as uow:
            out = submit_annotation(uow, user, task_id=task_id, result=copy.deepcopy(result))
            uow.commit()
        assert out.task_completed == (n == 3), f"{kind}: submit {n} completed={out.task_completed}"
    with team.make_uow() as uow:
        task = uow.session.get(Task, task_id)
        consensus = uow.session.get(Consensus, task_id)
        uow.session.expunge_all()
    return task, consensus


def _number(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _number(value)


def comparable(result: list[Item]) -> list[str]:
    """A result without region ids (relations name their ends by the regions' content), sorted."""
    regions = {i.get("id"): i for i in result if i.get("type") != "relation" and i.get("id") is not None}

    def what(entry: Item) -> dict[str, Any]:
        keep = {k: entry.get(k) for k in ("from_name", "to_name", "type", "value", "labels", "direction")
                if k in entry}
        return _plain(keep)

    out = []
    for entry in result:
        if entry.get("type") == "relation":
            out.append(json.dumps({"relation": what(entry), "from": what(regions[entry["from_id"]]),
                                   "to": what(regions[entry["to_id"]])}, sort_keys=True))
        else:
            out.append(json.dumps(what(entry), sort_keys=True))
    return sorted(out)


KINDS = sorted(CASES)


@pytest.mark.parametrize("kind", KINDS)
def test_three_identical_answers_settle(team: Team, kind: str) -> None:
    case = CASES[kind]
    task, consensus = _settle(team, kind, "same", [case.same] * 3)
    assert consensus is not None, f"{kind}: no consensus row"
    assert consensus.n_annotations == 3
    if case.fallback:
        assert task.state == "review", f"{kind}: identical answers with a fallback should go to review, got {task.state}"
        return
    assert consensus.agreement == pytest.approx(1.0), f"{kind}: agreement {consensus.agreement}"
    assert task.state == "done", f"{kind}: state {task.state} (method {consensus.method})"
    assert comparable(consensus.result) == comparable(case.same), f"{kind}: consensus differs from the answer"


@pytest.mark.parametrize("kind", KINDS)
def test_different_answers_go_to_review(team: Team, kind: str) -> None:
    case = CASES[kind]
    task, consensus = _settle(team, kind, "different", list(case.different))
    assert consensus is not None, f"{kind}: no consensus row"
    assert task.state == "review", f"{kind}: state {task.state}, agreement {consensus.agreement}"
    if not case.fallback:
        assert consensus.agreement is not None and consensus.agreement < 0.8, f"{kind}: {consensus.agreement}"
