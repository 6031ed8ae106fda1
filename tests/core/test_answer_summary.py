"""core.results.answer_summary: a labeler's history shows what they answered, per control kind."""
from __future__ import annotations

from core.config import parse_config
from core.results import answer_summary

CONFIG = """<View>
  <Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <Choices name="kind" toName="img" choice="multiple"><Choice value="Street"/><Choice value="Night"/></Choices>
  <Rating name="quality" toName="img"/>
  <TextArea name="note" toName="img"/>
</View>"""


def box(label: str) -> dict:
    return {"from_name": "box", "to_name": "img", "type": "rectanglelabels",
            "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": [label]}}


def test_choices_regions_rating_and_text_read_as_short_text() -> None:
    cfg = parse_config(CONFIG)
    result = [box("Car"), box("Car"), box("Person"),
              {"from_name": "kind", "to_name": "img", "type": "choices", "value": {"choices": ["Street", "Night"]}},
              {"from_name": "quality", "to_name": "img", "type": "rating", "value": {"rating": 4}},
              {"from_name": "note", "to_name": "img", "type": "textarea", "value": {"text": ["blurry"]}}]
    assert answer_summary(cfg, result, max_chars=200) == "Car ×2, Person · Street, Night · 4 · blurry"


def test_empty_unknown_and_long_answers() -> None:
    cfg = parse_config(CONFIG)
    assert answer_summary(cfg, []) == "" and answer_summary(cfg, None) == ""
    assert answer_summary(cfg, [{"from_name": "gone", "value": {"choices": ["X"]}}, "junk"]) == ""
    long = [{"from_name": "note", "to_name": "img", "type": "textarea", "value": {"text": ["word " * 40]}}]
    shown = answer_summary(cfg, long, max_chars=20)
    assert len(shown) <= 20 and shown.endswith("…")
