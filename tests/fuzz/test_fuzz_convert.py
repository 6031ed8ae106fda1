"""``cli.py convert`` reads a Label Studio export from a file, with no database: whatever the export holds, its
tasks convert (to every format the config allows) or the reader refuses the file with ImportFormatError naming
it; never another exception."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.config import parse_config
from core.errors import ImportFormatError
from core.formats.readers import iter_task_dicts
from core.formats.registry import supported_formats
from core.formats.schema import schema_from_config
from tests.fuzz.harness import FUZZ, JSON_VALUES, NUMBERS, TEXT, encode, no_hang

pytestmark = pytest.mark.fuzz

CONFIGS = {
    "text": """<View><Text name="text" value="$text"/>
      <Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
      <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
      <TextArea name="note" toName="text"/></View>""",
    "image": """<View><Image name="img" value="$image"/>
      <RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels>
      <PolygonLabels name="poly" toName="img"><Label value="Car"/></PolygonLabels>
      <KeyPointLabels name="kp" toName="img"><Label value="nose"/></KeyPointLabels></View>""",
    "audio": """<View><Audio name="audio" value="$audio"/><TextArea name="transcription" toName="audio"/></View>""",
}
SCHEMAS = {name: schema_from_config(parse_config(xml)) for name, xml in CONFIGS.items()}

ANYTHING = st.one_of(JSON_VALUES, NUMBERS, TEXT)
VALUES = st.fixed_dictionaries({}, optional={
    "x": ANYTHING, "y": ANYTHING, "width": ANYTHING, "height": ANYTHING, "rotation": ANYTHING,
    "points": st.one_of(st.lists(st.lists(NUMBERS, max_size=3), max_size=3), ANYTHING),
    "start": ANYTHING, "end": ANYTHING, "text": st.one_of(st.lists(TEXT, max_size=2), ANYTHING),
    "labels": st.one_of(st.lists(TEXT, max_size=2), ANYTHING), "rectanglelabels": ANYTHING,
    "polygonlabels": ANYTHING, "keypointlabels": ANYTHING, "choices": ANYTHING,
})
REGIONS = st.one_of(
    st.fixed_dictionaries(
        {"from_name": st.sampled_from(["label", "sentiment", "note", "box", "poly", "kp", "transcription", "x"]),
         "value": st.one_of(VALUES, ANYTHING)},
        optional={"to_name": ANYTHING, "type": ANYTHING, "id": ANYTHING, "parentID": ANYTHING,
                  "original_width": ANYTHING, "original_height": ANYTHING, "original_length": ANYTHING},
    ),
    ANYTHING,
)
ANNOTATIONS = st.fixed_dictionaries(
    {"result": st.one_of(st.lists(REGIONS, max_size=3), ANYTHING)},
    optional={"id": ANYTHING, "completed_by": ANYTHING, "created_at": ANYTHING, "updated_at": ANYTHING,
              "lead_time": ANYTHING, "was_cancelled": ANYTHING, "skipped": ANYTHING, "history": ANYTHING},
)
TASKS = st.fixed_dictionaries(
    {"data": st.one_of(st.fixed_dictionaries({"text": TEXT, "image": TEXT, "audio": TEXT}), ANYTHING)},
    optional={"id": ANYTHING, "annotations": st.one_of(st.lists(ANNOTATIONS, max_size=3), ANYTHING),
              "predictions": ANYTHING, "agreement": ANYTHING, "meta": ANYTHING},
)


def convert_every_way(payload: bytes, filename: str, out: Path) -> None:
    for config, schema in SCHEMAS.items():
        for fmt in supported_formats(schema):
            try:
                with no_hang():
                    fmt.export(iter_task_dicts(io.BytesIO(payload), filename=filename), out / config / fmt.name,
                               schema=schema)
            except ImportFormatError as exc:
                assert filename in str(exc), str(exc)


@FUZZ
@given(tasks=st.lists(TASKS, min_size=1, max_size=3))
@example(tasks=[{"data": {"text": "a"}, "annotations": [{"result": [5]}]}])
@example(tasks=[{"data": {"text": "a"}, "annotations": [{"result": [], "created_at": 5},
                                                         {"result": [], "created_at": "2024"}]}])
@example(tasks=[{"data": {"image": "a.png"}, "annotations": [{"result": [{"from_name": "box", "value": []}]}]}])
def test_label_studio_exports_convert_or_are_refused_clearly(tasks: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as out:
        convert_every_way(encode(tasks), "export.json", Path(out))


def _task(region: dict[str, Any], data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"id": 1, "data": data or {"text": "hello world", "image": "a.png", "audio": "a.wav"},
             "annotations": [{"id": 1, "completed_by": 1, "result": [region]}]}]


# Crashes of the writers (export side) that the fuzzing above found with hand-made regions, kept as regression
# examples: an ill-typed region value leaves that region out with a warning naming task, annotation, region and
# field (the expected text below); a valid but odd one (None) is written as Label Studio writes it.
WRITER_REGRESSIONS = {
    "COCO: box with text coordinates (geometry.py, TypeError)": ("image", "COCO", _task(
        {"from_name": "box", "original_width": 10, "original_height": 10,
         "value": {"x": "1", "y": 0, "width": 1, "height": 1, "rectanglelabels": ["Car"]}}),
     "COCO export: task 1, annotation 1, result[1] ('box') left out: x must be a number, found a string"),
    "VOC: box with text coordinates (voc.py, TypeError)": ("image", "VOC", _task(
        {"from_name": "box", "original_width": 10, "original_height": 10,
         "value": {"x": "1", "y": 0, "width": 1, "height": 1, "rectanglelabels": ["Car"]}}),
     "VOC export: task 1, annotation 1, result[1] ('box') left out: x must be a number, found a string"),
    "COCO: polygon points that are text (coco.py, ValueError)": ("image", "COCO", _task(
        {"from_name": "poly", "original_width": 10, "original_height": 10,
         "value": {"points": "abc", "polygonlabels": ["Car"]}}),
     "result[1] ('poly') left out: points must be a list of [x, y] points, found a string"),
    "YOLO: keypoint whose parentID is an object (yolo.py, TypeError)": ("image", "YOLO", _task(
        {"from_name": "kp", "parentID": {"a": 1}, "original_width": 10, "original_height": 10,
         "value": {"x": 1, "y": 2, "keypointlabels": ["nose"]}}),
     "result[1] ('kp') left out: parentID must be a region id, found an object"),
    "CONLL2003: span ending past the text, its label null (conll.py, TypeError)": ("text", "CONLL2003", _task(
        {"from_name": "label", "value": {"start": 0, "end": 10**30, "labels": [None]}}),
     "result[1] ('label') left out: labels must hold label names (text), found null"),
    "CONLL2003: span ending past the text": ("text", "CONLL2003", _task(
        {"from_name": "label", "value": {"start": 0, "end": 10**30, "labels": ["PER"]}}), None),
    "JSON_MIN: TextArea text that is an object (records.py prettify, KeyError)": ("audio", "JSON_MIN", _task(
        {"from_name": "transcription", "value": {"text": {"a": 1}}}), None),
    "CSV: TextArea text that is an object (records.py prettify, KeyError)": ("audio", "CSV", _task(
        {"from_name": "transcription", "value": {"text": {"a": 1}}}), None),
    "TSV: TextArea text that is an object (records.py prettify, KeyError)": ("audio", "TSV", _task(
        {"from_name": "transcription", "value": {"text": {"a": 1}}}), None),
}


@pytest.mark.parametrize("case", sorted(WRITER_REGRESSIONS))
def test_writers_leave_out_ill_typed_region_values_without_crashing(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each once crashed its writer: now the export completes; an ill-typed value leaves its region out with a
    warning, a valid but odd one is written with no warning."""
    config, format_name, tasks, warning = WRITER_REGRESSIONS[case]
    [fmt] = [f for f in supported_formats(SCHEMAS[config]) if f.name == format_name]
    with caplog.at_level("WARNING", logger="core.formats"):
        fmt.export(iter_task_dicts(io.BytesIO(encode(tasks)), filename="export.json"), tmp_path, schema=SCHEMAS[config])
    logged = [r.getMessage() for r in caplog.records if r.name == "core.formats"]
    if warning is None:
        assert logged == []
    else:
        assert len(logged) == 1 and warning in logged[0], logged
