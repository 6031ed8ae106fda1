"""core.results.with_span_texts: a span's text is what the task's document holds at its offsets (Text,
HyperText, Paragraphs), whatever the browser sent; unusable offsets are refused naming task, tag and region."""
from __future__ import annotations

from typing import Any

import pytest

from core.config import parse_config
from core.results import InvalidResultError, has_spans, with_span_texts

XML = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/></Labels>
  <Choices name="sure" toName="text" perRegion="true"><Choice value="yes"/></Choices>
  <TextArea name="note" toName="text" perRegion="true"/>
  <HyperText name="page" value="$html"/>
  <HyperTextLabels name="ents" toName="page"><Label value="Name"/></HyperTextLabels>
  <Paragraphs name="chat" value="$chat"/>
  <ParagraphLabels name="tone" toName="chat"><Label value="Angry"/></ParagraphLabels>
  <Choices name="mood" toName="text"><Choice value="ok"/></Choices>
</View>"""
CFG = parse_config(XML)
DATA = {"text": "Ann lives in Oslo", "html": '<p>Hi <img src="https://x.example/p.gif"><b>Ann</b> &amp; co</p>',
        "chat": [{"author": "A", "text": "Hello there."}, {"author": "B", "text": "Go away now!"}]}


def _item(from_name: str, to_name: str, kind: str, value: dict[str, Any], region: str = "r1") -> dict[str, Any]:
    return {"id": region, "from_name": from_name, "to_name": to_name, "type": kind, "value": value}


def test_a_text_span_gets_the_text_its_offsets_cover_not_the_one_sent() -> None:
    forged = _item("ner", "text", "labels", {"start": 0, "end": 3, "text": "Bob", "labels": ["PER"]})
    (item,) = with_span_texts(CFG, [forged], DATA, task_id=7)
    assert item["value"] == {"start": 0, "end": 3, "text": "Ann", "labels": ["PER"]}
    assert forged["value"]["text"] == "Bob"  # the caller's item is not changed in place


def test_a_per_region_answer_repeating_the_offsets_is_corrected_too_but_a_textarea_answer_is_not() -> None:
    sure = _item("sure", "text", "choices", {"start": 13, "end": 17, "text": "Rome", "choices": ["yes"]})
    note = _item("note", "text", "textarea", {"start": 13, "end": 17, "text": ["a city"]})
    mood = _item("mood", "text", "choices", {"choices": ["ok"]})
    fixed_sure, kept_note, kept_mood = with_span_texts(CFG, [sure, note, mood], DATA, task_id=7)
    assert fixed_sure["value"]["text"] == "Oslo"
    assert kept_note is note and kept_mood is mood
    assert not has_spans(CFG, [note, mood]) and has_spans(CFG, [sure])


def test_a_hypertext_span_is_read_from_the_sanitised_documents_text_nodes() -> None:
    span = _item("ents", "page", "hypertextlabels", {
        "start": "/p[1]/b[1]/text()[1]", "end": "/p[1]/b[1]/text()[1]", "startOffset": 0, "endOffset": 3,
        "globalOffsets": {"start": 3, "end": 6}, "text": "<script>", "hypertextlabels": ["Name"]})
    (item,) = with_span_texts(CFG, [span], DATA, task_id=7)
    assert item["value"]["text"] == "Ann"


def test_a_paragraph_span_is_read_across_paragraphs() -> None:
    span = _item("tone", "chat", "paragraphlabels", {"start": "0", "end": "1", "startOffset": 6, "endOffset": 7,
                                                     "text": "made up", "paragraphlabels": ["Angry"]})
    (item,) = with_span_texts(CFG, [span], DATA, task_id=7)
    assert item["value"]["text"] == "there.Go away"


@pytest.mark.parametrize(("item", "why"), [
    (_item("ner", "text", "labels", {"start": 10, "end": 99, "text": "x", "labels": ["PER"]}, "far"),
     "offsets 10-99 do not lie in the document (17 characters)"),
    (_item("ner", "text", "labels", {"start": 5, "end": 2, "labels": ["PER"]}, "back"), "offsets 5-2"),
    (_item("ner", "text", "labels", {"text": "Ann", "labels": ["PER"]}, "none"), "no start offset"),
    (_item("ner", "text", "labels", {"start": "x", "end": 3, "labels": ["PER"]}, "odd"), "start 'x' is not a whole"),
    (_item("ents", "page", "hypertextlabels", {"start": "/p[1]", "end": "/p[1]", "startOffset": 0, "endOffset": 2,
                                               "text": "Hi", "hypertextlabels": ["Name"]}, "nogo"), "no globalOffsets"),
    (_item("tone", "chat", "paragraphlabels", {"start": 0, "end": 5, "startOffset": 0, "endOffset": 1,
                                               "paragraphlabels": ["Angry"]}, "para"), "paragraph 5 out of range"),
    (_item("tone", "chat", "paragraphlabels", {"start": 0, "end": 0, "startOffset": 0, "endOffset": 50,
                                               "paragraphlabels": ["Angry"]}, "long"), "offset 50 is outside"),
])
def test_a_span_whose_offsets_are_unusable_is_refused_naming_task_tag_and_region(item: dict[str, Any],
                                                                                   why: str) -> None:
    with pytest.raises(InvalidResultError) as raised:
        with_span_texts(CFG, [item], DATA, task_id=7)
    message = str(raised.value)
    assert message.startswith(f"task 7: region {item['id']!r} of ") and why in message
    control = CFG.controls[item["from_name"]]
    assert f"{control.tag} {control.name!r} on " in message
