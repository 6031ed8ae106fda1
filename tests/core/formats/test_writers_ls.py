"""Label Studio's own formats: JSON round trips, JSON_MIN layout, CSV columns and CSV-injection safety."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from core.formats.readers import iter_task_dicts, iter_tasks
from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec
from core.formats.writers_ls import json_min_records, neutralise_formula, write_csv, write_json, write_json_min, write_tsv

from .conftest import box, image_task, shared_file

TEXT_SCHEMA = ExportSchema(
    controls=(ControlSpec("sentiment", "Choices", ("text",), ("Pos", "Neg")),
              ControlSpec("note", "TextArea", ("text",))),
    objects=(ObjectSpec("text", "Text", "text"),),
)


def text_task(task_id: int, text: str, choice: str | list[str], note: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = choice if isinstance(choice, list) else [choice]
    result = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": choices}}]
    if note is not None:
        result.append({"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [note]}})
    return {"id": task_id, "data": {"text": text},
            "annotations": [{"id": task_id * 10, "completed_by": 3, "result": result, "was_cancelled": False,
                             "created_at": "2024-01-02T00:00:00Z", "updated_at": "2024-01-02T00:00:01Z",
                             "lead_time": 1.25}], **extra}


def csv_rows(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_json_writer_output_reads_back_as_the_same_tasks() -> None:
    tasks = [text_task(1, "a", "Pos"), text_task(2, "ünïcode", "Neg", "hm")]
    out = io.StringIO()
    assert write_json(iter(tasks), out) == 2
    assert json.loads(out.getvalue()) == tasks


def test_json_writer_writes_an_empty_list_for_no_tasks() -> None:
    out = io.StringIO()
    write_json([], out)
    assert json.loads(out.getvalue()) == []


def test_json_min_has_one_record_per_annotation_with_single_values_for_choices_and_textarea() -> None:
    [record] = json_min_records([text_task(1, "great", "Pos", "fine")], TEXT_SCHEMA)
    assert record == {"text": "great", "id": 1, "sentiment": "Pos", "note": "fine", "annotator": 3,
                      "annotation_id": 10, "created_at": "2024-01-02T00:00:00Z",
                      "updated_at": "2024-01-02T00:00:01Z", "lead_time": 1.25}


def test_json_min_keeps_value_dicts_for_multi_choice_and_lists_for_geometry_with_image_size(images: ExportSchema) -> None:
    [multi] = json_min_records([text_task(1, "t", ["Pos", "Neg"])], TEXT_SCHEMA)
    assert multi["sentiment"] == {"choices": ["Pos", "Neg"]}  # Label Studio unwraps a lone Choices result
    [boxed] = json_min_records([image_task(1, "/a.png", box(1, 2, 3, 4, "Car"))], images)
    assert boxed["box"] == [{"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0, "rectanglelabels": ["Car"],
                             "original_width": 200, "original_height": 100}]


def test_json_min_drops_cancelled_annotations_orders_newest_first_and_copies_agreement() -> None:
    task = text_task(1, "t", "Pos", agreement=66.6)
    older = dict(task["annotations"][0], id=11, created_at="2023-01-01T00:00:00Z")
    cancelled = dict(task["annotations"][0], id=12, was_cancelled=True)
    task["annotations"] = [older, task["annotations"][0], cancelled]
    records = list(json_min_records([task], TEXT_SCHEMA))
    assert [r["annotation_id"] for r in records] == [10, 11]
    assert {r["agreement"] for r in records} == {66.6}


def test_json_min_annotator_is_the_email_of_a_user_dict() -> None:
    task = text_task(1, "t", "Pos")
    task["annotations"][0]["completed_by"] = {"id": 1, "email": "ann@example.com"}
    assert next(json_min_records([task], TEXT_SCHEMA))["annotator"] == "ann@example.com"


def test_json_min_task_without_annotations_gives_one_bare_record() -> None:
    [record] = json_min_records([{"id": 5, "data": {"text": "t"}, "annotations": []}], TEXT_SCHEMA)
    assert record["id"] == 5 and record["annotation_id"] is None and "sentiment" not in record


def test_data_key_clashing_with_a_control_name_is_renamed_not_lost() -> None:
    task = text_task(1, "t", "Pos")
    task["data"]["sentiment"] = "from the data"
    [record] = json_min_records([task], TEXT_SCHEMA)
    assert record["sentiment"] == "Pos" and record["_data_sentiment"] == "from the data"
    out = io.StringIO(newline="")
    write_csv([task], out, schema=TEXT_SCHEMA)
    [row] = csv_rows(out.getvalue())
    assert row["sentiment"] == "Pos" and row["_data_sentiment"] == "from the data"


def test_csv_columns_are_sorted_and_non_scalars_are_json_strings() -> None:
    task = text_task(1, "t", ["Pos", "Neg"])
    task["data"]["meta"] = {"k": [1, 2]}
    out = io.StringIO(newline="")
    assert write_csv([task], out, schema=TEXT_SCHEMA) == 1
    header, *_ = out.getvalue().splitlines()
    assert header == '"annotation_id","annotator","created_at","id","lead_time","meta","sentiment","text","updated_at"'
    [row] = csv_rows(out.getvalue())
    assert json.loads(row["meta"]) == {"k": [1, 2]}
    assert json.loads(row["sentiment"]) == {"choices": ["Pos", "Neg"]}
    assert row["annotator"] == "3"


def test_csv_columns_are_the_union_over_all_rows() -> None:
    first, second = text_task(1, "a", "Pos"), text_task(2, "b", "Neg", "note!")
    out = io.StringIO(newline="")
    write_csv([first, second], out, schema=TEXT_SCHEMA)
    rows = csv_rows(out.getvalue())
    assert [r["note"] for r in rows] == ["", "note!"]


@pytest.mark.parametrize("evil", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_cells_that_look_like_formulas_are_neutralised(evil: str) -> None:
    out = io.StringIO(newline="")
    write_csv([text_task(1, evil, "Pos", evil)], out, schema=TEXT_SCHEMA)
    [row] = csv_rows(out.getvalue())
    assert row["text"] == "'" + evil and row["note"] == "'" + evil


@pytest.mark.parametrize("evil", [" =1+1", "  +1", "\n-2+3", "\r\n@SUM(A1)", "\u200b=HYPERLINK(\"x\")",
                                  "\u200c\u200d+1", "\ufeff=1", " \t\u200b=1"])
def test_csv_formulas_behind_spaces_line_breaks_or_zero_width_characters_are_neutralised(evil: str) -> None:
    for write in (write_csv, write_tsv):
        out = io.StringIO(newline="")
        write([text_task(1, evil, "Pos", evil)], out, schema=TEXT_SCHEMA)
        [row] = csv_rows(out.getvalue(), "," if write is write_csv else "\t")
        assert row["text"] == "'" + evil and row["note"] == "'" + evil


def test_csv_column_names_from_task_data_are_neutralised_too() -> None:
    out = io.StringIO(newline="")
    write_csv([text_task(1, "a", "Pos"), {**text_task(2, "b", "Neg"), "data": {"text": "b", " =cmd": 1}}],
              out, schema=TEXT_SCHEMA)
    header = out.getvalue().splitlines()[0]
    assert '"\' =cmd"' in header and '"annotator"' in header


def test_csv_numbers_are_not_neutralised() -> None:
    assert neutralise_formula(-5) == -5 and neutralise_formula("a-b") == "a-b"
    assert neutralise_formula(" a = b") == " a = b" and neutralise_formula("\u200bplain") == "\u200bplain"


def test_tsv_uses_tabs() -> None:
    out = io.StringIO(newline="")
    write_tsv([text_task(1, "a, b", "Pos")], out, schema=TEXT_SCHEMA)
    assert csv_rows(out.getvalue(), "\t")[0]["text"] == "a, b"


def test_writers_consume_a_one_shot_iterator() -> None:
    out = io.StringIO(newline="")
    assert write_csv((t for t in [text_task(1, "a", "Pos")]), out, schema=TEXT_SCHEMA) == 1
    out = io.StringIO()
    assert write_json_min((t for t in [text_task(1, "a", "Pos")]), out, schema=TEXT_SCHEMA) == 1


@pytest.mark.parametrize("name", ["ls__previous_export.json", "sdk__coco-export__data.json",
                                  "sdk__yolo-export__data.json", "sdk__yolo-export__data_obb.json",
                                  "sdk__yolo-export__data_keypoints.json", "sdk__json-min-export__data.json",
                                  "sdk__csv-export__csv_test2.json"])
def test_label_studio_exports_round_trip_through_read_and_write(name: str) -> None:
    path = shared_file(name)
    before = list(iter_tasks(path, filename=name))
    out = io.StringIO()
    write_json(iter_task_dicts(path, filename=name), out)
    after = list(iter_tasks(io.BytesIO(out.getvalue().encode()), filename=name))
    assert after == before
    assert [a["result"] for t in after for a in t.annotations] == [a["result"] for t in before for a in t.annotations]
    assert all(t.annotations for t in before)
