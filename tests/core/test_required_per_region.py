"""A required per-region control needs an answer for every region it is shown for (Label Studio asks for one
per region): ``core.results.missing_required`` names the control and the region, and a submit is refused."""
from __future__ import annotations

import pytest

from core.config import parse_config
from core.results import missing_required, missing_required_message

XML = """<View>
  <Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <Header value="Condition"/>
  <Choices name="condition" toName="img" perRegion="true" required="true"><Choice value="New"/><Choice value="Worn"/></Choices>
  <Choices name="pose" toName="img" perRegion="true" required="true" whenLabelValue="Person" title="Pose">
    <Choice value="Standing"/><Choice value="Sitting"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="condition" whenChoiceValue="Worn">
    <TextArea name="damage" toName="img" perRegion="true" required="true" title="What is worn?"/>
  </View>
  <View visibleWhen="region-selected" whenLabelValue="Car">
    <Number name="doors" toName="img" perRegion="true" required="true" title="Doors"/>
  </View>
  <TextArea name="note" toName="img" perRegion="true"/>
</View>"""


def _box(region_id: str, label: str) -> dict:
    return {"id": region_id, "from_name": "box", "to_name": "img", "type": "rectanglelabels",
            "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 0, "rectanglelabels": [label]}}


def _answer(name: str, region_id: str, value: dict) -> dict:
    kinds = {"condition": "choices", "pose": "choices", "damage": "textarea", "doors": "number", "note": "textarea"}
    return {"id": region_id, "from_name": name, "to_name": "img", "type": kinds[name],
            "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 0, **value}}


def test_no_region_no_required_per_region_answer() -> None:
    assert missing_required(parse_config(XML), []) == []


def test_each_region_needs_the_answers_shown_for_it_and_the_message_names_the_region() -> None:
    cfg = parse_config(XML)
    result = [_box("a", "Person"), _box("b", "Car"),
              _answer("condition", "a", {"choices": ["New"]}), _answer("pose", "a", {"choices": ["Sitting"]})]
    missing = missing_required(cfg, result)
    # Box 2 (a car): its condition and its doors (the Doors block is shown for cars); no pose (Person only).
    assert missing == ["condition", "doors"]
    assert [(m.region_id, m.region) for m in missing] == [("b", "box 2 (Car)"), ("b", "box 2 (Car)")]
    assert missing_required_message(cfg, missing, "submitting") == (
        "Please answer “Condition” for box 2 (Car), “Doors” for box 2 (Car) before submitting: they are required.")


def test_a_when_label_value_control_and_a_choice_condition_are_read_for_each_region() -> None:
    cfg = parse_config(XML)
    person = [_box("a", "Person"), _answer("condition", "a", {"choices": ["Worn"]})]
    assert missing_required(cfg, person) == ["pose", "damage"]  # Worn opens "What is worn?" for that region
    done = [*person, _answer("pose", "a", {"choices": ["Standing"]}), _answer("damage", "a", {"text": ["Scratched"]})]
    assert missing_required(cfg, done) == []
    other = [*done, _box("b", "Person"), _answer("condition", "b", {"choices": ["New"]})]
    assert [(m, m.region) for m in missing_required(cfg, other)] == [("pose", "box 2 (Person)")]


def test_a_required_per_region_answer_is_enforced_at_submit(make_uow) -> None:
    """The labeler gets the question and the box in the refusal; nothing is stored."""
    from core.labeling import next_task, submit_annotation
    from core.results import InvalidResultError
    from storage.models import Annotation
    from tests.core.helpers import import_json, make_project, make_user

    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=XML, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"image": "https://example.com/a.jpg"}])
    with make_uow() as uow:
        task = next_task(uow, ann, project_id=project.id)
        uow.commit()
    assert task is not None
    with pytest.raises(InvalidResultError) as refused, make_uow() as uow:
        submit_annotation(uow, ann, task_id=task.task_id, result=[_box("abcdefghij", "Person")])
    assert str(refused.value) == ("Please answer “Condition” for box 1 (Person), “Pose” for box 1 (Person) "
                                  "before submitting: they are required.")
    with make_uow() as uow:
        submit_annotation(uow, ann, task_id=task.task_id, result=[
            _box("abcdefghij", "Person"), _answer("condition", "abcdefghij", {"choices": ["New"]}),
            _answer("pose", "abcdefghij", {"choices": ["Standing"]})])
        uow.commit()
    with make_uow() as uow:
        assert uow.session.query(Annotation).filter_by(task_id=task.task_id).count() == 1
