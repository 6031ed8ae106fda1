"""Column -> $variable mapping of the import wizard: suggestions by name, and the mapping applied to tasks."""
from __future__ import annotations

import io

from core.formats.readers import iter_task_records
from core.import_mapping import apply_mapping, check_mapping, columns_of, effective_mapping, map_data, suggest_mapping


def test_suggestion_prefers_the_exact_name_then_a_near_name_and_leaves_the_rest_open() -> None:
    columns = ["review_body", "Image URL", "text", "label"]
    assert suggest_mapping(["text", "image_url", "audio"], columns) == {
        "text": "text", "image_url": "Image URL", "audio": None,
    }


def test_a_column_taken_by_an_exact_match_is_not_suggested_again() -> None:
    assert suggest_mapping(["Text", "text"], ["text"]) == {"Text": None, "text": "text"}


def test_mapping_adds_the_variable_and_keeps_every_column() -> None:
    data = {"review_body": "great", "stars": "5"}
    assert map_data(data, {"text": "review_body"}) == {"review_body": "great", "stars": "5", "text": "great"}
    assert data == {"review_body": "great", "stars": "5"}  # the original is not changed


def test_a_task_without_the_mapped_column_is_left_without_the_variable() -> None:
    assert map_data({"other": "x"}, {"text": "review_body"}) == {"other": "x"}


def test_two_variables_may_read_the_same_column() -> None:
    assert map_data({"body": "b"}, {"text": "body", "summary": "body"}) == {"body": "b", "text": "b", "summary": "b"}


def test_identity_and_empty_choices_change_nothing() -> None:
    assert effective_mapping({"text": "text", "image": None, "audio": ""}) == {}
    assert effective_mapping(None) == {}


def test_apply_mapping_maps_a_csv_stream_and_drops_the_source_text() -> None:
    stream = io.BytesIO(b"body,stars\ngood,5\nbad,1\n")
    records = list(apply_mapping(iter_task_records(stream, filename="r.csv"), {"text": "body", "stars": "stars"}))
    assert [r.data["text"] for r in records] == ["good", "bad"]
    assert [r.position for r in records] == [1, 2]
    assert all(r.source_text is None for r in records)


def test_apply_mapping_without_pairs_yields_the_records_unchanged() -> None:
    records = list(iter_task_records(io.BytesIO(b'[{"text": "a"}]'), filename="t.json"))
    assert list(apply_mapping(records, {"text": "text"})) == records
    assert records[0].source_text == '{"text": "a"}'


def test_columns_are_the_data_keys_in_first_seen_order() -> None:
    stream = io.BytesIO(b'[{"a": 1, "b": 2}, {"data": {"c": 3, "a": 4}}]')
    assert columns_of(iter_task_records(stream, filename="t.json")) == ["a", "b", "c"]


def test_a_mapping_to_a_column_the_file_lacks_is_named() -> None:
    [problem] = check_mapping({"text": "body", "image": None}, ["review", "stars"])
    assert "$text" in problem and "'body'" in problem and "review, stars" in problem
