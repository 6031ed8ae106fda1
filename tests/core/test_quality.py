"""The quality engine: agreement and consensus when a task reaches its overlap, then done, escalation or review."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.errors import PermissionDeniedError
from core.labeling import next_task, submit_annotation
from core.projects import ProjectSettings, add_member, create_project
from core.quality import compute_consensus, project_config, recompute_project
from storage.models import Consensus, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_user


def choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def make_team(make_uow, *, escalation_order="annotators_first", overlap=3, maximum=4, n_annotators=4, config=TEXT_CONFIG,
              threshold=0.8, n_tasks=1):
    admin = make_user(make_uow, "admin", admin=True)
    annotators = [make_user(make_uow, f"ann{i}") for i in range(n_annotators)]
    reviewer = make_user(make_uow, "rev")
    with make_uow() as uow:
        project = create_project(
            uow, admin, title="Quality", config_xml=config,
            settings=ProjectSettings(overlap=overlap, maximum_annotations=maximum, agreement_threshold=threshold,
                                     escalation_order=escalation_order),
        )
        for user in annotators:
            add_member(uow, admin, project_id=project.id, user_id=user.id, role="annotator")
        add_member(uow, admin, project_id=project.id, user_id=reviewer.id, role="reviewer")
        uow.commit()
    if n_tasks:
        import_json(make_uow, admin, project.id, [{"text": f"review {i}"} for i in range(n_tasks)])
    return admin, annotators, reviewer, project


def label(make_uow, user, project_id, result):
    """Take the next task and submit ``result``; returns (task id, submit outcome)."""
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id)
        assert task is not None, f"{user.username} got no task"
        out = submit_annotation(uow, user, task_id=task.task_id, result=result)
        uow.commit()
    return task.task_id, out


def task_row(make_uow, task_id) -> Task:
    with make_uow() as uow:
        task = uow.session.get(Task, task_id)
        uow.session.expunge(task)
    return task


def consensus_row(make_uow, task_id) -> Consensus | None:
    with make_uow() as uow:
        row = uow.session.get(Consensus, task_id)
        if row is not None:
            uow.session.expunge(row)
    return row


def test_a_task_whose_three_annotators_agree_is_done_with_its_consensus_stored(make_uow):
    _, (a, b, c, _), _, project = make_team(make_uow)
    for user in (a, b):
        task_id, out = label(make_uow, user, project.id, choice("Positive"))
        assert not out.task_completed and task_row(make_uow, task_id).state == "open"
    task_id, out = label(make_uow, c, project.id, choice("Positive"))
    assert out.task_completed
    assert task_row(make_uow, task_id).state == "done"
    stored = consensus_row(make_uow, task_id)
    assert stored is not None
    assert stored.result == choice("Positive")
    assert (stored.method, stored.agreement, stored.n_annotations) == ("majority_vote", 1.0, 3)


def test_a_split_task_escalates_to_a_fourth_annotator_then_goes_to_review_at_the_maximum(make_uow):
    _, (a, b, c, d), _, project = make_team(make_uow)
    for user, answer in ((a, "Positive"), (b, "Positive"), (c, "Negative")):
        task_id, _ = label(make_uow, user, project.id, choice(answer))
    escalated = task_row(make_uow, task_id)
    assert (escalated.state, escalated.overlap) == ("open", 4)  # 1/3 agreement < 0.8: one more annotator
    assert consensus_row(make_uow, task_id).agreement == pytest.approx(1 / 3)
    fourth_task, out = label(make_uow, d, project.id, choice("Positive"))
    assert fourth_task == task_id and out.task_completed
    final = task_row(make_uow, task_id)
    assert (final.state, final.overlap) == ("review", 4)  # 3 of 6 pairs agree = 0.5, and the maximum is reached
    stored = consensus_row(make_uow, task_id)
    assert stored.n_annotations == 4 and stored.agreement == pytest.approx(0.5)
    assert stored.result == choice("Positive")  # a majority exists, the agreement is just too low


def test_review_first_sends_a_split_task_straight_to_review(make_uow):
    _, (a, b, c, _), _, project = make_team(make_uow, escalation_order="review_first")
    for user, answer in ((a, "Positive"), (b, "Negative"), (c, "Neutral")):
        task_id, _ = label(make_uow, user, project.id, choice(answer))
    task = task_row(make_uow, task_id)
    assert (task.state, task.overlap) == ("review", 3)
    assert consensus_row(make_uow, task_id).result == []  # a three-way tie has no consensus


def test_escalation_goes_to_review_when_no_annotator_is_left_to_ask(make_uow):
    _, (a, b, c), _, project = make_team(make_uow, n_annotators=3, maximum=5)
    for user, answer in ((a, "Positive"), (b, "Positive"), (c, "Negative")):
        task_id, _ = label(make_uow, user, project.id, choice(answer))
    assert task_row(make_uow, task_id).state == "review"


def test_a_tie_is_no_consensus_even_above_the_threshold(make_uow):
    _, (a, b, *_), _, project = make_team(make_uow, overlap=2, maximum=2, threshold=0.0)
    label(make_uow, a, project.id, choice("Positive"))
    task_id, _ = label(make_uow, b, project.id, choice("Negative"))
    assert task_row(make_uow, task_id).state == "review"


def test_a_single_pass_task_is_done_with_its_one_annotation_as_consensus(make_uow):
    _, (a, *_), _, project = make_team(make_uow, overlap=1, maximum=1)
    task_id, out = label(make_uow, a, project.id, choice("Neutral"))
    assert out.task_completed and task_row(make_uow, task_id).state == "done"
    stored = consensus_row(make_uow, task_id)
    assert (stored.method, stored.agreement, stored.result) == ("single_annotation", None, choice("Neutral"))


def test_only_the_completed_task_is_recomputed_on_submit(make_uow):
    _, (a, b, c, _), _, project = make_team(make_uow, n_tasks=2)
    first = [label(make_uow, user, project.id, choice("Positive"))[0] for user in (a, b, c)]
    assert len(set(first)) == 1
    other = task_row(make_uow, first[0] + 1)
    assert other.state == "open" and consensus_row(make_uow, other.id) is None


def test_recompute_project_routes_tasks_completed_by_an_import(make_uow):
    admin, annotators, reviewer, project = make_team(make_uow, n_tasks=0)

    def annotated(text, answers):
        return {
            "data": {"text": text},
            "annotations": [
                {"completed_by": {"email": f"{user.username}@example.com"}, "result": choice(answer)}
                for user, answer in zip(annotators, answers)
            ],
        }

    import_json(make_uow, admin, project.id, [
        annotated("all agree", ["Positive"] * 3),
        annotated("split", ["Positive", "Negative", "Neutral"]),
        annotated("two of four", ["Positive", "Positive", "Negative", "Negative"]),
        {"text": "not labeled yet"},
    ], filename="labeled.json")

    def states() -> dict[str, tuple[str, int]]:
        with make_uow() as uow:
            tasks = uow.session.scalars(select(Task).where(Task.project_id == project.id))
            return {t.data["text"]: (t.state, t.overlap) for t in tasks}

    def routed(found: dict[str, tuple[str, int]]) -> None:
        assert found["all agree"] == ("done", 3)
        assert found["split"] == ("open", 4)  # annotators first: the fourth member has not seen it
        assert found["two of four"][0] == "review"  # a tie at the maximum
        assert found["not labeled yet"] == ("open", 3)

    routed(states())  # the import scored what it brought complete
    with make_uow() as uow:  # tasks an older import left unscored
        uow.session.execute(update(Task).where(Task.project_id == project.id, Task.n_annotations >= 3)
                            .values(state="completed", overlap=3, review_reason=None))
        uow.commit()
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            recompute_project(uow, annotators[0], project.id)
        summary = recompute_project(uow, reviewer, project.id)
        uow.commit()
    assert (summary.n_tasks, summary.n_done, summary.n_review, summary.n_reopened) == (3, 1, 1, 1)
    routed(states())


# --- consensus per control kind (pure, no database) ------------------------------------------------------

NER = """<View><Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
<Text name="text" value="$text"/></View>"""
BOXES = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Cat"/></RectangleLabels></View>"""
FORM = """<View><Text name="text" value="$text"/>
<TextArea name="summary" toName="text"/><Rating name="stars" toName="text" maxRating="5"/>
<Number name="count" toName="text" min="0" max="10"/></View>"""


def span(start, end, label, text="Maria Okafor joined Acme"):
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": [label], "text": text[start:end]}}


def test_spans_are_voted_character_by_character_with_their_text():
    cfg = project_config(NER)
    data = {"text": "Maria Okafor joined Acme"}
    out = compute_consensus(cfg, data, [[span(0, 12, "PER"), span(20, 24, "ORG")], [span(0, 12, "PER")], [span(0, 5, "PER")]])
    assert [(i["value"]["start"], i["value"]["end"], i["value"]["labels"], i["value"]["text"]) for i in out.result] == [
        (0, 12, ["PER"], "Maria Okafor")
    ]
    assert out.method == "span_vote" and out.is_complete and 0 < out.agreement < 1


def box(x, y, label="Car", w=20, h=20):
    return {"from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": 640, "original_height": 480,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def test_boxes_drawn_by_a_majority_are_fused_and_lone_boxes_dropped():
    cfg = project_config(BOXES)
    out = compute_consensus(cfg, {"image": "x.png"}, [[box(10, 10), box(70, 70, "Cat")], [box(11, 10)], [box(12, 10)]])
    assert len(out.result) == 1
    fused = out.result[0]
    assert fused["value"]["x"] == pytest.approx(11) and fused["value"]["rectanglelabels"] == ["Car"]
    assert fused["original_width"] == 640 and out.method == "box_fusion"


def test_rotated_boxes_take_the_medoid_box_somebody_drew():
    """A mean of rotated boxes is no box: the cluster's medoid, drawn by an annotator, is the consensus."""
    cfg = project_config(BOXES)
    rotated = [box(10 + dx, 10) for dx in (0, 0.5, 3)]
    for item in rotated:
        item["value"]["rotation"] = 30
    out = compute_consensus(cfg, {"image": "x.png"}, [[item] for item in rotated])
    assert out.is_complete and len(out.result) == 1
    assert out.result[0]["value"] == rotated[1]["value"]  # the middle one is closest to the others


def test_texts_take_the_medoid_and_numbers_the_median():
    cfg = project_config(FORM)

    def answer(summary, stars, count):
        return [
            {"from_name": "summary", "to_name": "text", "type": "textarea", "value": {"text": [summary]}},
            {"from_name": "stars", "to_name": "text", "type": "rating", "value": {"rating": stars}},
            {"from_name": "count", "to_name": "text", "type": "number", "value": {"number": count}},
        ]

    out = compute_consensus(cfg, {"text": "t"}, [answer("the cat sat", 4, 2), answer("the cat sat.", 5, 3), answer("a dog ran", 4, 9)])
    by_name = {item["from_name"]: item["value"] for item in out.result}
    assert by_name == {"summary": {"text": ["the cat sat"]}, "stars": {"rating": 4}, "count": {"number": 3}}
    assert out.method == "median+medoid_text"
    two = compute_consensus(cfg, {"text": "t"}, [answer("x", 3, 2), answer("x", 4, 3)])
    assert {i["from_name"]: i["value"] for i in two.result}["stars"] == {"rating": 4}  # 3.5 rounds half up


def test_all_empty_annotations_agree_on_nothing():
    out = compute_consensus(project_config(BOXES), {"image": "x.png"}, [[], []])
    assert (out.agreement, out.result, out.is_complete) == (1.0, [], True)


def test_an_unanswered_control_votes_for_no_answer():
    cfg = project_config(TEXT_CONFIG)
    out = compute_consensus(cfg, {"text": "t"}, [[], [], choice("Positive")])
    assert out.result == [] and out.is_complete


def test_consensus_methods_are_named_in_words_for_people():
    from core.quality import method_label

    assert method_label("majority_vote+span_vote") == "majority vote, span vote"
    assert method_label("single_annotation") == "the only annotation"
    assert method_label(None) == method_label("") == "no method"
