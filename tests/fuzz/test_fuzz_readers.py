"""Hostile input for the task-file readers (no database): whatever the bytes, reading a file either yields
tasks or raises ImportFormatError naming the file; never another exception, never a hang.

Each reader is driven twice: all-or-nothing (the first bad row raises) and lenient (bad rows reported to a
handler, as the import wizard's preview and ``skip_invalid`` do).
"""
from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.errors import ImportFormatError
from core.formats.readers import RowError, TaskRecord, iter_task_dicts, iter_task_records
from tests.fuzz.harness import (
    BINARY_FILES,
    BINARY_KINDS,
    FUZZ,
    GARBAGE,
    JSON_VALUES,
    TEXT,
    encode,
    delimited,
    mutated,
    no_hang,
)

pytestmark = pytest.mark.fuzz

TASK_FILE_NAMES = ["tasks.json", "tasks.jsonl", "tasks.ndjson", "tasks.csv", "tasks.tsv", "tasks.txt"]


def read_all(payload: bytes, filename: str, *, lenient: bool) -> list[TaskRecord]:
    """Read the whole file the way the importer does; check that a refusal names the file (and a bad row its
    place)."""
    row_errors: list[RowError] = []
    records: list[TaskRecord] = []
    try:
        with no_hang():
            for record in iter_task_records(io.BytesIO(payload), filename=filename, data_key="text",
                                            on_row_error=row_errors.append if lenient else None):
                assert isinstance(record.data, dict)
                records.append(record)
    except ImportFormatError as exc:
        assert filename in str(exc), str(exc)
    for error in row_errors:
        assert error.filename == filename and error.reason
        unit, number = error.where.split()[:2]
        assert unit in ("item", "line", "row") and number.isdigit(), error.where
        assert str(error).startswith(f"{filename}: ") and f"{unit} " in str(error), str(error)
    return records


def read_both_ways(payload: bytes, filename: str) -> None:
    read_all(payload, filename, lenient=False)
    read_all(payload, filename, lenient=True)


# --- any bytes, any task-file extension -------------------------------------------------------------------
@FUZZ
@given(payload=GARBAGE, filename=st.sampled_from(TASK_FILE_NAMES))
@example(payload=b"[" + b"9" * 4400 + b"]", filename="tasks.json")  # int beyond Python's digit limit
@example(payload=b"9" * 4400 + b"\n", filename="tasks.jsonl")
@example(payload=b'{"data": {"text": ' + b"9" * 4400 + b"}}", filename="tasks.json")
def test_any_bytes_are_tasks_or_a_clear_refusal(payload: bytes, filename: str) -> None:
    read_both_ways(payload, filename)


# --- JSON: valid values, then mutated ---------------------------------------------------------------------
TASK_DICTS = st.fixed_dictionaries(
    {},
    optional={
        "data": st.one_of(st.dictionaries(TEXT, JSON_VALUES, max_size=3), JSON_VALUES),
        "annotations": st.one_of(st.lists(st.dictionaries(TEXT, JSON_VALUES, max_size=4), max_size=2), JSON_VALUES),
        "completions": JSON_VALUES,
        "predictions": st.one_of(st.lists(st.dictionaries(TEXT, JSON_VALUES, max_size=4), max_size=2), JSON_VALUES),
        "drafts": JSON_VALUES,
        "meta": JSON_VALUES,
        "id": JSON_VALUES,
    },
)
JSON_FILES = st.one_of(st.lists(st.one_of(TASK_DICTS, JSON_VALUES), max_size=4), TASK_DICTS, JSON_VALUES).map(encode)


@FUZZ
@given(payload=mutated(JSON_FILES))
@example(payload=b'[{"text": "a"}, ')
@example(payload=b"[1e999999]")
@example(payload=b'[{"text": NaN}, {"text": -Infinity}]')
@example(payload=b'[{"text": "\\u0000"}, {"text": "\\udfff"}, {"\\u0000": 1}]')
def test_json_files_are_tasks_or_a_clear_refusal(payload: bytes) -> None:
    read_both_ways(payload, "tasks.json")


@FUZZ
@given(payload=mutated(st.lists(st.one_of(TASK_DICTS, JSON_VALUES), max_size=4).map(
    lambda items: b"\n".join(encode(item) for item in items))))
def test_json_lines_files_are_tasks_or_a_clear_refusal(payload: bytes) -> None:
    read_both_ways(payload, "tasks.jsonl")


# --- CSV, TSV and TXT: rows of cells, then mutated --------------------------------------------------------
@FUZZ
@given(payload=mutated(delimited()))
@example(payload=b'text\n"unterminated\n')
@example(payload=b'a,b\n1,"2\x00"\n')
def test_csv_files_are_tasks_or_a_clear_refusal(payload: bytes) -> None:
    read_both_ways(payload, "tasks.csv")


@FUZZ
@given(payload=mutated(delimited("\t")))
def test_tsv_files_are_tasks_or_a_clear_refusal(payload: bytes) -> None:
    read_both_ways(payload, "tasks.tsv")


@FUZZ
@given(payload=mutated(st.lists(TEXT, max_size=6).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))))
def test_txt_files_are_tasks_or_a_clear_refusal(payload: bytes) -> None:
    read_both_ways(payload, "tasks.txt")


# --- Label Studio exports as the converter reads them (every key kept) ------------------------------------
def read_export(payload: bytes, filename: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    try:
        with no_hang():
            tasks.extend(iter_task_dicts(io.BytesIO(payload), filename=filename))
    except ImportFormatError as exc:
        assert filename in str(exc), str(exc)
    return tasks


@FUZZ
@given(payload=mutated(JSON_FILES), filename=st.sampled_from(["export.json", "export.jsonl"]))
@example(payload=b'[{"data": null}]', filename="export.json")  # was handed on to the converter as a task
@example(payload=b'{"data": {}, "annotations": [{"result": [1]}]}', filename="export.jsonl")
def test_export_reader_gives_task_dicts_or_a_clear_refusal(payload: bytes, filename: str) -> None:
    for task in read_export(payload, filename):
        assert isinstance(task, dict) and isinstance(task["data"], dict)


# --- binary files given as task files ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(BINARY_FILES))
@pytest.mark.parametrize("filename", TASK_FILE_NAMES)
def test_a_binary_file_given_as_a_task_file_is_refused_naming_it(kind: str, filename: str) -> None:
    payload = BINARY_FILES[kind]
    for lenient in (False, True):
        with pytest.raises(ImportFormatError) as refused:
            read_all_strict(payload, filename, lenient=lenient)
        message = str(refused.value)
        assert message.startswith(f"{filename}: this is {BINARY_KINDS[kind]}"), message


def read_all_strict(payload: bytes, filename: str, *, lenient: bool) -> None:
    """Like :func:`read_all` but lets the refusal out, for ``pytest.raises``."""
    with no_hang():
        for _ in iter_task_records(io.BytesIO(payload), filename=filename,
                                   on_row_error=(lambda _e: None) if lenient else None):
            pass
