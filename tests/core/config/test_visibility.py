"""visibleWhen as Label Studio reads it: choice and region conditions, nesting, submission."""
from __future__ import annotations

from core.config import parse_config
from core.config.visibility import (
    SelectedRegion,
    condition_of,
    hidden_controls,
    hidden_paths,
    node_at,
    shown_for_region,
    submittable,
)
from core.results import missing_required

SURVEY_XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Mixed" alias="mix"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="sentiment" whenChoiceValue="Negative, Mixed">
    <Header value="Why?"/>
    <Choices name="reason" toName="text" required="true"><Choice value="Price"/><Choice value="Quality"/></Choices>
    <TextArea name="detail" toName="text" visibleWhen="choice-selected" whenTagName="reason" whenChoiceValue="Quality"/>
  </View>
  <TextArea name="other" toName="text" visibleWhen="choice-unselected" whenTagName="sentiment"/>
  <Rating name="any" toName="text" visibleWhen="choice-selected"/>
</View>"""

REGION_XML = """<View>
  <Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <View visibleWhen="no-region-selected"><Header value="Select a box"/></View>
  <View visibleWhen="region-selected" whenTagName="box">
    <Choices name="color" toName="img" perRegion="true"><Choice value="Red"/><Choice value="Blue"/></Choices>
  </View>
  <Choices name="pose" toName="img" perRegion="true" visibleWhen="region-selected" whenLabelValue="Person"
           whenTagName="box">
    <Choice value="Standing"/><Choice value="Sitting"/>
  </Choices>
  <TextArea name="shade" toName="img" perRegion="true" visibleWhen="choice-selected" whenTagName="color"
            whenChoiceValue="Red"/>
  <Choices name="whole" toName="img" required="true" visibleWhen="region-selected">
    <Choice value="A"/>
  </Choices>
</View>"""


def _choice(name: str, *values: str, **extra: object) -> dict:
    return {"from_name": name, "to_name": extra.pop("to_name", "text"), "type": "choices",
            "value": {"choices": list(values)}, **extra}


def _box(region_id: str, label: str) -> dict:
    return {"id": region_id, "from_name": "box", "to_name": "img", "type": "rectanglelabels",
            "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 0, "rectanglelabels": [label]}}


def test_condition_reads_visible_when_and_its_comma_separated_values() -> None:
    cfg = parse_config(SURVEY_XML)
    view = node_at(cfg, (2,))
    condition = condition_of(view)
    assert condition is not None and condition.when == "choice-selected"
    assert condition.tag_name == "sentiment" and condition.choice_values == ("Negative", "Mixed")
    assert condition_of(node_at(cfg, (1,))) is None


def test_choice_selected_block_opens_only_for_one_of_its_values() -> None:
    cfg = parse_config(SURVEY_XML)
    assert {"reason", "detail"} <= hidden_controls(cfg, [])
    assert {"reason", "detail"} <= hidden_controls(cfg, [_choice("sentiment", "Positive")])
    assert "reason" not in hidden_controls(cfg, [_choice("sentiment", "Negative")])
    # "Mixed" is written with its alias in results and still matches the value named in the config
    assert "reason" not in hidden_controls(cfg, [_choice("sentiment", "mix")])


def test_a_nested_condition_needs_its_parent_block_visible_too() -> None:
    cfg = parse_config(SURVEY_XML)
    quality = _choice("reason", "Quality")
    assert "detail" not in hidden_controls(cfg, [_choice("sentiment", "Negative"), quality])
    # the parent block closes: "reason" is hidden, so its stale answer opens nothing
    assert {"reason", "detail"} <= hidden_controls(cfg, [_choice("sentiment", "Positive"), quality])


def test_choice_unselected_is_the_opposite_and_no_tag_name_means_any_choices() -> None:
    cfg = parse_config(SURVEY_XML)
    assert "other" not in hidden_controls(cfg, [])
    assert "any" in hidden_controls(cfg, [])
    answered = [_choice("sentiment", "Positive")]
    assert "other" in hidden_controls(cfg, answered)
    assert "any" not in hidden_controls(cfg, answered)


def test_hidden_paths_are_the_outermost_hidden_tags() -> None:
    cfg = parse_config(SURVEY_XML)
    paths = hidden_paths(cfg, [_choice("sentiment", "Positive")])
    assert (2,) in paths and (2, 2) not in paths  # the block, not the TextArea inside it
    assert (3,) in paths and (4,) not in paths


def test_region_conditions_follow_the_selected_region_and_its_labels() -> None:
    cfg = parse_config(REGION_XML)
    car = SelectedRegion("r1", from_name="box", to_name="img", labels=("Car",))
    person = SelectedRegion("r2", from_name="box", to_name="img", labels=("Person",))
    nothing = hidden_paths(cfg, [])
    assert (3,) in nothing and (2,) not in nothing
    with_car = hidden_controls(cfg, [], [car])
    assert "color" not in with_car and "pose" in with_car and "whole" not in with_car
    assert (2,) in hidden_paths(cfg, [], [car])
    assert "pose" not in hidden_controls(cfg, [], [person])
    other_tool = SelectedRegion("r3", from_name="elsewhere", to_name="other", labels=("Car",))
    assert "color" in hidden_controls(cfg, [], [other_tool])
    # the older reading of whenTagName (the object's name) matches as well
    by_object = parse_config(REGION_XML.replace('whenTagName="box">', 'whenTagName="img">'))
    assert "color" not in hidden_controls(by_object, [], [car])


def test_per_region_choice_conditions_read_the_selected_regions_answer() -> None:
    cfg = parse_config(REGION_XML)
    items = [_box("r1", "Car"), _box("r2", "Car"), _choice("color", "Red", id="r1", to_name="img")]
    r1 = SelectedRegion("r1", "box", "img", ("Car",))
    r2 = SelectedRegion("r2", "box", "img", ("Car",))
    assert shown_for_region(cfg, "shade", items, r1)
    assert not shown_for_region(cfg, "shade", items, r2)
    assert shown_for_region(cfg, "color", items, r2)
    assert not shown_for_region(cfg, "pose", items, r2)


def test_submittable_drops_answers_of_controls_hidden_by_choices() -> None:
    cfg = parse_config(SURVEY_XML)
    stale = [_choice("sentiment", "Positive"), _choice("reason", "Quality"),
             {"from_name": "detail", "to_name": "text", "type": "textarea", "value": {"text": ["slow"]}}]
    assert submittable(cfg, stale) == stale[:1]
    kept = [_choice("sentiment", "Negative"), *stale[1:]]
    assert submittable(cfg, kept) == kept


def test_submittable_keeps_per_region_answers_only_for_regions_with_the_label() -> None:
    cfg = parse_config(REGION_XML)
    result = [_box("r1", "Car"), _box("r2", "Person"),
              _choice("pose", "Standing", id="r1", to_name="img"), _choice("pose", "Sitting", id="r2", to_name="img"),
              {"id": "r2", "from_name": "shade", "to_name": "img", "type": "textarea", "value": {"text": ["dark"]}},
              _choice("color", "Blue", id="r2", to_name="img")]
    kept = submittable(cfg, result)
    assert result[2] not in kept and result[3] in kept  # pose: only on the Person region
    assert result[4] not in kept  # shade needs color=Red on the same region
    assert result[5] in kept  # region conditions never drop answers


def test_a_required_control_hidden_by_its_condition_is_not_required() -> None:
    cfg = parse_config(SURVEY_XML)
    assert missing_required(cfg, [_choice("sentiment", "Positive")]) == []
    assert missing_required(cfg, [_choice("sentiment", "Negative")]) == ["reason"]
    # at submission no region is selected: a region-selected whole-task control is not required
    assert missing_required(parse_config(REGION_XML), []) == []


def test_a_condition_cycle_stops() -> None:
    xml = """<View><Text name="t" value="$t"/>
      <Choices name="a" toName="t" visibleWhen="choice-unselected" whenTagName="b"><Choice value="x"/></Choices>
      <Choices name="b" toName="t" visibleWhen="choice-unselected" whenTagName="a"><Choice value="y"/></Choices>
    </View>"""
    cfg = parse_config(xml)
    both = [_choice("a", "x", to_name="t"), _choice("b", "y", to_name="t")]
    assert isinstance(hidden_controls(cfg, both), frozenset)
    assert isinstance(submittable(cfg, both), list)


def test_when_choice_value_alone_and_an_unknown_visible_when_follow_label_studio() -> None:
    xml = """<View><Text name="t" value="$t"/>
      <Choices name="a" toName="t"><Choice value="x"/><Choice value="y"/></Choices>
      <View whenChoiceValue="y"><TextArea name="legacy" toName="t"/></View>
      <View visibleWhen="sometimes"><TextArea name="unknown" toName="t"/></View>
    </View>"""
    cfg = parse_config(xml)
    assert hidden_controls(cfg, []) == {"legacy"}
    assert hidden_controls(cfg, [_choice("a", "x", to_name="t")]) == {"legacy"}
    assert hidden_controls(cfg, [_choice("a", "y", to_name="t")]) == frozenset()
