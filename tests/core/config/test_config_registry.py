"""The tag registry: every kind fills its slots, names are canonical, the widget set is data."""
from __future__ import annotations

import pytest

from core.tags import behaviour_of

from core.config import SUPPORTED_TAGS, TAG_KINDS, WIDGET_TAGS, TagCategory, TagKind, canonical_tag, kind_of
from core.config.registry import ALL_OBJECTS

SUPPORTED_OBJECTS = {"Text", "HyperText", "Image", "Audio", "Video", "Paragraphs", "Table", "List",
                     "TimeSeries", "Chat"}
SUPPORTED_CONTROLS = {"Choices", "Labels", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon",
                      "KeyPointLabels", "KeyPoint", "TextArea", "Rating", "Number", "DateTime",
                      "Taxonomy", "Pairwise", "Ranker", "Relations", "HyperTextLabels",
                      "ParagraphLabels", "TimeSeriesLabels", "TimelineLabels"}
UNSUPPORTED = {"BrushLabels", "Brush", "EllipseLabels", "VideoRectangle",
               "Pdf", "OcrLabels", "MagicWand", "BitmaskLabels", "VectorLabels", "Vector", "Repeater",
               "ReactCode"}


@pytest.mark.parametrize("kind", list(TAG_KINDS.values()), ids=lambda k: k.name)
def test_every_registered_kind_fills_the_slots_of_its_category(kind: TagKind) -> None:
    assert TAG_KINDS[kind.name] is kind
    assert isinstance(kind.category, TagCategory)
    if kind.is_control:
        assert kind.result_type and kind.result_type == kind.result_type.lower()
        assert kind.to_kinds <= ALL_OBJECTS
        if kind.name != "Relations":  # links regions, no toName
            assert kind.to_kinds
            assert "toname" in kind.required_attrs or kind.name == "ReactCode"
        assert "name" in kind.required_attrs or kind.name == "Relations"
        if kind.option_kinds or not kind.is_region:
            assert kind.value_key, f"{kind.name} needs the key of its answer in result values"
        if kind.has_widget:  # what it does is its tag family's (tests/core/test_tag_behaviours.py)
            behaviour = behaviour_of(kind.name)
            assert behaviour is not None and callable(behaviour.agreement) and callable(behaviour.consensus), kind.name
        assert not kind.parent_kinds
    elif kind.is_object:
        assert "name" in kind.required_attrs and any("value" in a for a in kind.required_attrs)
        assert not kind.to_kinds
        if kind.name == "Chat":  # the only object making results itself: the messages a labeler adds
            assert (kind.result_type, kind.value_key) == ("chatmessage", "chatmessage")
        else:
            assert kind.result_type is None and kind.value_key is None
    elif kind.is_child:
        assert kind.parent_kinds and all(p in TAG_KINDS for p in kind.parent_kinds)
        assert kind.result_type is None
    else:
        assert kind.is_visual and kind.result_type is None and not kind.to_kinds
    if kind.needs_options:
        assert kind.option_kinds
    for option in kind.option_kinds:
        assert kind.name in TAG_KINDS[option].parent_kinds


def test_tags_the_brief_names_are_supported_and_the_hard_ones_are_known_but_unsupported() -> None:
    assert SUPPORTED_OBJECTS <= SUPPORTED_TAGS
    assert SUPPORTED_CONTROLS <= SUPPORTED_TAGS
    assert {"View", "Header", "Style", "Choice", "Label", "Relation", "Bucket", "Channel",
            "Shortcut"} <= SUPPORTED_TAGS
    assert UNSUPPORTED <= set(TAG_KINDS)
    assert not UNSUPPORTED & SUPPORTED_TAGS


def test_widget_tags_are_the_supported_kinds_that_are_not_children() -> None:
    assert WIDGET_TAGS == {k.name for k in TAG_KINDS.values() if k.has_widget and not k.is_child}
    assert "Choice" not in WIDGET_TAGS and "Choices" in WIDGET_TAGS and "Image" in WIDGET_TAGS


def test_region_kinds_are_the_geometry_and_span_controls() -> None:
    regions = {k.name for k in TAG_KINDS.values() if k.is_region and k.has_widget}
    assert regions == {"Labels", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon",
                       "KeyPointLabels", "KeyPoint", "HyperTextLabels", "ParagraphLabels",
                       "TimeSeriesLabels", "TimelineLabels"}
    assert not TAG_KINDS["Choices"].is_region


@pytest.mark.parametrize("written, canonical", [("Rectanglelabels", "RectangleLabels"),
                                                ("magicwand", "MagicWand"), ("VIEW", "View"),
                                                ("AudioPlus", "Audio"), ("textarea", "TextArea")])
def test_tag_names_are_looked_up_without_regard_to_case(written: str, canonical: str) -> None:
    assert canonical_tag(written) == canonical
    kind = kind_of(written)
    assert kind is not None and kind.name == canonical


def test_unknown_tag_has_no_kind() -> None:
    assert canonical_tag("Bogus") is None and kind_of("Bogus") is None


def test_result_types_and_value_keys_match_label_studio() -> None:
    expected = {"Choices": ("choices", "choices"), "RectangleLabels": ("rectanglelabels", "rectanglelabels"),
                "TextArea": ("textarea", "text"), "Rating": ("rating", "rating"),
                "Taxonomy": ("taxonomy", "taxonomy"), "Pairwise": ("pairwise", "selected"),
                "Ranker": ("ranker", "ranker"), "Relations": ("relation", "labels")}
    for name, (result_type, value_key) in expected.items():
        assert (TAG_KINDS[name].result_type, TAG_KINDS[name].value_key) == (result_type, value_key)
