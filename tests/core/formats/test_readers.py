"""Readers of import files: Label Studio's rules per format, and every bad input named by file and row."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.errors import ImportFormatError
from core.formats.readers import ParsedTask, iter_task_dicts, iter_tasks, sniff_delimiter


def read(content: str | bytes, filename: str, **kwargs: object) -> list[ParsedTask]:
    raw = content.encode() if isinstance(content, str) else content
    return list(iter_tasks(io.BytesIO(raw), filename=filename, **kwargs))  # type: ignore[arg-type]


# --- JSON ---------------------------------------------------------------------------------------------

def test_json_list_of_full_tasks_keeps_annotations_predictions_meta_and_id() -> None:
    annotation = {"id": 5, "result": [{"from_name": "c", "to_name": "t", "type": "choices",
                                       "value": {"choices": ["A"]}}],
                  "completed_by": {"email": "a@b.c"}, "lead_time": 2.5, "was_cancelled": False,
                  "ground_truth": True, "created_at": "2024-01-01T00:00:00Z"}
    task = {"id": 42, "data": {"text": "hi"}, "annotations": [annotation],
            "predictions": [{"model_version": "m1", "score": 0.5, "result": []}], "meta": {"k": 1},
            "drafts": [{"result": []}]}
    [parsed] = read(json.dumps([task]), "tasks.json")
    assert parsed == ParsedTask(data={"text": "hi"}, annotations=[annotation], predictions=task["predictions"],
                                meta={"k": 1}, source_id=42, position=1, drafts=[{"result": []}])


def test_json_item_without_data_is_the_data_itself() -> None:
    tasks = read('[{"text": "a"}, {"text": "b", "id": 3}]', "t.json")
    assert [t.data for t in tasks] == [{"text": "a"}, {"text": "b", "id": 3}]
    assert [t.source_id for t in tasks] == [None, None]
    assert [t.position for t in tasks] == [1, 2]


def test_json_single_task_dict_is_one_task() -> None:
    [task] = read('{"data": {"image": "x.png"}, "annotations": []}', "one.json")
    assert task.data == {"image": "x.png"} and task.annotations == []


def test_json_completed_by_may_be_int_email_dict_or_null() -> None:
    annotations = [{"result": [], "completed_by": v} for v in (3, {"email": "x@y.z"}, None)]
    [task] = read(json.dumps([{"data": {"a": 1}, "annotations": annotations}]), "t.json")
    assert [a["completed_by"] for a in task.annotations] == [3, {"email": "x@y.z"}, None]


def test_json_completions_of_old_exports_count_as_annotations() -> None:
    [task] = read('[{"data": {"a": 1}, "completions": [{"result": []}]}]', "t.json")
    assert task.annotations == [{"result": []}]


def test_malformed_json_names_file_line_and_column() -> None:
    with pytest.raises(ImportFormatError, match=r"bad\.json: invalid JSON at line 2, column 10"):
        read('[{"data": {"a": 1}},\n {"data" {"a": 2}}]', "bad.json")


def test_json_item_that_is_not_an_object_names_the_item() -> None:
    with pytest.raises(ImportFormatError, match=r"t\.json: item 2 is not an object .* a list"):
        read('[{"a": 1}, [1, 2]]', "t.json")


def test_json_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ImportFormatError, match=r"item 1: 'data' must be an object, found a string"):
        read('[{"data": "text"}]', "t.json")


def test_json_annotations_must_be_a_list_of_objects_with_list_results() -> None:
    with pytest.raises(ImportFormatError, match=r"item 1: annotations\[1\]\.result must be a list"):
        read('[{"data": {}, "annotations": [{"result": {}}]}]', "t.json")
    with pytest.raises(ImportFormatError, match=r"item 1: 'predictions' must be a list"):
        read('[{"data": {}, "predictions": {}}]', "t.json")


@pytest.mark.parametrize("content", ["", "  \n", "[]"])
def test_json_without_tasks_is_an_error(content: str) -> None:
    with pytest.raises(ImportFormatError, match=r"^no tasks in empty\.json$"):
        read(content, "empty.json")


def test_json_with_byte_order_mark_is_read() -> None:
    assert read(b'\xef\xbb\xbf[{"a": 1}]', "bom.json")[0].data == {"a": 1}


def test_json_not_utf8_is_reported() -> None:
    with pytest.raises(ImportFormatError, match=r"latin\.json: not UTF-8 text at byte \d+ \(line 1\)"):
        read('[{"a": "'.encode() + "café".encode("latin-1") + b'"}]', "latin.json")


def test_reader_opens_paths_too(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[{"a": 1}]')
    assert [t.data for t in iter_tasks(path, filename=path.name)] == [{"a": 1}]


# --- JSON lines ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", [".jsonl", ".ndjson"])
def test_json_lines_give_a_task_per_line_skipping_blank_lines(ext: str) -> None:
    tasks = read('{"data": {"a": 1}, "id": 9}\n\n{"b": 2}\n', "t" + ext)
    assert [(t.data, t.source_id, t.position) for t in tasks] == [({"a": 1}, 9, 1), ({"b": 2}, None, 3)]


def test_json_lines_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ImportFormatError, match=r"t\.jsonl: invalid JSON at line 2, column 7"):
        read('{"a": 1}\n{"a": }\n', "t.jsonl")


def test_json_lines_non_object_names_the_line() -> None:
    with pytest.raises(ImportFormatError, match=r"t\.jsonl: line 2 is not an object"):
        read('{"a": 1}\n42\n', "t.jsonl")


# --- CSV / TSV ----------------------------------------------------------------------------------------

def test_csv_rows_become_data_with_header_keys() -> None:
    tasks = read('text,label\n"hello, world",pos\nbye,neg\n', "t.csv")
    assert [(t.data, t.position) for t in tasks] == [
        ({"text": "hello, world", "label": "pos"}, 1), ({"text": "bye", "label": "neg"}, 2)]


def test_csv_semicolon_delimiter_is_detected() -> None:
    assert read("text;score\nun, deux;3\n", "eu.csv")[0].data == {"text": "un, deux", "score": "3"}


def test_csv_quoted_field_may_span_lines() -> None:
    assert read('text,n\n"line one\nline two",1\n', "t.csv")[0].data["text"] == "line one\nline two"


def test_tsv_columns_become_data_fields() -> None:
    assert read("a\tb\n1,2\t3\n", "t.tsv")[0].data == {"a": "1,2", "b": "3"}


def test_csv_row_with_wrong_field_count_names_row_and_line() -> None:
    with pytest.raises(ImportFormatError, match=r"t\.csv: row 2 \(line 4\) has 3 fields, the header has 2"):
        read("a,b\n1,2\n\n3,4,5\n", "t.csv")


def test_csv_header_without_names_or_with_duplicates_is_refused() -> None:
    with pytest.raises(ImportFormatError, match=r"repeats the column 'a'"):
        read("a,a\n1,2\n", "t.csv")
    with pytest.raises(ImportFormatError, match=r"empty column name at column 2"):
        read("a,,c\n1,2,3\n", "t.csv")


def test_csv_with_only_a_header_has_no_tasks() -> None:
    with pytest.raises(ImportFormatError, match=r"^no tasks in h\.csv$"):
        read("a,b\n", "h.csv")


def test_csv_utf8_bom_is_not_part_of_the_first_column() -> None:
    assert read("\ufefftext\nhi\n".encode(), "excel.csv")[0].data == {"text": "hi"}


def test_csv_not_utf8_names_the_line() -> None:
    with pytest.raises(ImportFormatError, match=r"not UTF-8 text at byte 11 \(line 3\)"):
        read(b"text\nok\ncaf\xe9\n", "t.csv")


def test_csv_fields_longer_than_the_csv_module_default_are_read() -> None:
    long_text = "x" * 300_000
    assert read(f"text\n{long_text}\n", "t.csv")[0].data["text"] == long_text


def test_delimiter_sniffing_ignores_delimiters_inside_quotes() -> None:
    assert sniff_delimiter('"a;b;c",d\n') == ","
    assert sniff_delimiter("single\n") == ","
    assert sniff_delimiter("a|b|c\n") == "|"


# --- TXT and media ------------------------------------------------------------------------------------

def test_txt_gives_a_task_per_non_empty_line_under_text() -> None:
    tasks = read("first\n\n  \nsecond\r\n", "t.txt")
    assert [(t.data, t.position) for t in tasks] == [({"text": "first"}, 1), ({"text": "second"}, 4)]


def test_txt_data_key_can_be_chosen_by_the_caller() -> None:
    assert read("hello\n", "t.txt", data_key="review")[0].data == {"review": "hello"}


def test_txt_with_only_blank_lines_has_no_tasks() -> None:
    with pytest.raises(ImportFormatError, match="no tasks in blank.txt"):
        read("\n \n", "blank.txt")


@pytest.mark.parametrize(("filename", "key"), [("a.JPG", "image"), ("b.webp", "image"), ("c.mp3", "audio"),
                                               ("d.flac", "audio"), ("e.mp4", "video"), ("f.webm", "video")])
def test_media_file_is_one_task_holding_the_stored_url(filename: str, key: str) -> None:
    [task] = read(b"\x00\x01binary", filename, media_url="/media/blob/1")
    assert task.data == {key: "/media/blob/1"}


def test_media_data_key_can_be_chosen() -> None:
    assert read(b"", "x.png", media_url="u", data_key="img")[0].data == {"img": "u"}


@pytest.mark.parametrize("filename", ["data.xlsx", "noextension", "page.html"])
def test_unsupported_extension_is_refused_with_the_supported_list(filename: str) -> None:
    with pytest.raises(ImportFormatError, match=r"unsupported file type .*supported: .*\.csv"):
        read("x", filename)


# --- Label Studio exports as dicts --------------------------------------------------------------------

def test_export_reader_keeps_every_task_key() -> None:
    task = {"id": 1, "data": {"a": 1}, "annotations": [], "agreement": 50.0, "inner_id": 3}
    assert list(iter_task_dicts(io.BytesIO(json.dumps([task, {"b": 2}]).encode()), filename="e.json")) == [
        task, {"data": {"b": 2}}]


def test_export_reader_refuses_non_json() -> None:
    with pytest.raises(ImportFormatError, match="must be .json or .jsonl"):
        list(iter_task_dicts(io.BytesIO(b"a,b"), filename="e.csv"))
