"""Hostile input through the whole import (readers, mapping, checks, the writes) on SQLite and PostgreSQL.

Label Studio exports with annotations and predictions whose every field may be of the wrong type, and CSV,
TSV and TXT files, are imported all-or-nothing, with ``skip_invalid``, and previewed. The only outcomes allowed
are a summary or ImportFormatError naming the file; the unit of work is never committed, so each example starts
from the same database (the import is all-or-nothing: nothing it wrote survives the rollback).
"""
from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.errors import ImportFormatError
from core.import_preview import preview_upload
from core.imports import ImportSummary, import_tasks_file
from core.uow import UowFactory
from core.users import UserInfo
from tests.core.helpers import make_project, make_user
from tests.fuzz.harness import DB_FUZZ, JSON_VALUES, NUMBERS, TEXT, delimited, encode, mutated, no_hang

pytestmark = pytest.mark.fuzz

NESTED_CONFIG = """<View>
  <Text name="body" value="$doc.body"/>
  <Header value="$items[0]"/>
  <Choices name="topic" toName="body"><Choice value="A"/><Choice value="B"/></Choices>
</View>"""


Projects = tuple[UserInfo, dict[str, int]]
"""The admin, and the ids of a project per config ("plain": $text, "nested": $doc.body and $items[0])."""


@pytest.fixture
def projects(make_uow: UowFactory) -> Projects:
    admin = make_user(make_uow, "admin", admin=True)
    plain = make_project(make_uow, admin, title="Plain")
    nested = make_project(make_uow, admin, title="Nested", config=NESTED_CONFIG)
    return admin, {"plain": plain.id, "nested": nested.id}


def attempt_import(
    make_uow: UowFactory, admin: UserInfo, project_id: int, payload: bytes, filename: str, **options: Any
) -> None:
    """Import (never committed): a summary, or ImportFormatError naming the file."""
    with make_uow() as uow:
        try:
            with no_hang():
                summary = import_tasks_file(uow, admin, project_id=project_id, stream=io.BytesIO(payload),
                                            filename=filename, **options)
        except ImportFormatError as exc:
            assert filename in str(exc), str(exc)
            return
    assert isinstance(summary, ImportSummary) and summary.n_tasks > 0


def attempt_preview(
    make_uow: UowFactory, admin: UserInfo, project_id: int, payload: bytes, filename: str, **options: Any
) -> None:
    with make_uow() as uow, no_hang():
        preview = preview_upload(uow, admin, project_id=project_id, stream=io.BytesIO(payload), filename=filename,
                                 **options)
    assert preview.error is None or filename in preview.error, preview.error


def import_every_way(
    make_uow: UowFactory, projects: Projects, payload: bytes, filename: str, project: str = "plain", **options: Any
) -> None:
    admin, ids = projects
    attempt_import(make_uow, admin, ids[project], payload, filename, **options)
    attempt_import(make_uow, admin, ids[project], payload, filename, skip_invalid=True, **options)
    attempt_preview(make_uow, admin, ids[project], payload, filename, **options)


# --- Label Studio exports: tasks with annotations and predictions -----------------------------------------
ANYTHING = st.one_of(JSON_VALUES, NUMBERS, TEXT)
EMAILS = st.one_of(st.emails(), st.sampled_from(["@", "a@", "@b", " A@B.C ", "x\x00@y.z", "é@ü.de"]))
AUTHORS = st.one_of(
    st.none(), st.integers(-(2**70), 2**70), EMAILS, TEXT,
    st.fixed_dictionaries({}, optional={"id": ANYTHING, "email": st.one_of(EMAILS, ANYTHING)}),
    ANYTHING,
)
TIMES = st.one_of(st.sampled_from(["2024-01-01T00:00:00Z", "2024-02-30T00:00:00", "9999-12-31T23:59:59+14:00",
                                   "0001-01-01", "2024-01-01T00:00:00.123456-05:00", "yesterday", ""]), ANYTHING)
RESULTS = st.one_of(
    st.lists(st.fixed_dictionaries({"from_name": st.sampled_from(["sentiment", "topic", "nope"]),
                                    "to_name": st.sampled_from(["text", "body"]), "type": st.just("choices"),
                                    "value": st.fixed_dictionaries({"choices": st.lists(TEXT, max_size=2)})}),
             max_size=2),
    ANYTHING,
)
ANNOTATIONS = st.fixed_dictionaries(
    {"result": RESULTS},
    optional={"id": ANYTHING, "completed_by": AUTHORS, "was_cancelled": ANYTHING, "ground_truth": ANYTHING,
              "lead_time": ANYTHING, "created_at": TIMES, "updated_at": TIMES},
)
PREDICTIONS = st.fixed_dictionaries(
    {"result": RESULTS}, optional={"model_version": ANYTHING, "score": ANYTHING},
)
DATA = st.one_of(
    st.fixed_dictionaries({"text": TEXT}),
    st.fixed_dictionaries({"doc": st.one_of(st.fixed_dictionaries({"body": TEXT}), ANYTHING),
                           "items": st.one_of(st.lists(TEXT, max_size=2), ANYTHING)}),
    st.dictionaries(TEXT, ANYTHING, max_size=3),
)
LS_TASKS = st.fixed_dictionaries(
    {"data": DATA},
    optional={"annotations": st.lists(ANNOTATIONS, max_size=3), "predictions": st.lists(PREDICTIONS, max_size=2),
              "meta": st.one_of(st.dictionaries(TEXT, ANYTHING, max_size=2), ANYTHING), "id": ANYTHING},
)
EXPORTS = st.lists(st.one_of(LS_TASKS, DATA), min_size=1, max_size=4)


def annotated(**annotation: Any) -> list[dict[str, Any]]:
    """A one-task export whose single annotation has ``annotation``'s fields (and an empty result)."""
    return [{"data": {"text": "a"}, "annotations": [{"result": [], **annotation}]}]


def predicted(**prediction: Any) -> list[dict[str, Any]]:
    return [{"data": {"text": "a"}, "predictions": [{"result": [], **prediction}]}]


@DB_FUZZ
@given(tasks=EXPORTS, project=st.sampled_from(["plain", "nested"]))
@example(tasks=[{"text": "\x00"}], project="plain")  # PostgreSQL: "\u0000 cannot be converted to text"
@example(tasks=[{"text": "a", "key\x00": 1}], project="plain")
@example(tasks=[{"data": {"text": "a"}, "id": "\x00"}], project="plain")
@example(tasks=annotated(id=2**31), project="plain")
@example(tasks=annotated(id=2**63), project="plain")
@example(tasks=annotated(lead_time=10**400), project="plain")
@example(tasks=predicted(score=10**400), project="plain")
@example(tasks=annotated(completed_by={"email": 5}), project="plain")
@example(tasks=annotated(completed_by={"email": ["a@b.c"]}), project="plain")
@example(tasks=annotated(completed_by={"id": {"x": 1}}), project="plain")
@example(tasks=annotated(completed_by="x" * 200), project="plain")
@example(tasks=annotated(completed_by="x" * 300 + "@example.com"), project="plain")
@example(tasks=annotated(created_at="9999-12-31T23:59:59-14:00"), project="plain")
@example(tasks=annotated(created_at="0001-01-01T00:00:00+14:00"), project="plain")
def test_label_studio_exports_import_or_are_refused_clearly(
    make_uow: UowFactory, projects: Projects, tasks: list[Any], project: str
) -> None:
    import_every_way(make_uow, projects, encode(tasks), "export.json", project)


@DB_FUZZ
@given(payload=mutated(EXPORTS.map(lambda tasks: b"\n".join(encode(t) for t in tasks))))
def test_mutated_json_lines_exports_import_or_are_refused_clearly(
    make_uow: UowFactory, projects: Projects, payload: bytes
) -> None:
    import_every_way(make_uow, projects, payload, "export.jsonl")


@DB_FUZZ
@given(payload=mutated(EXPORTS.map(encode)))
@example(payload=b'[{"text": "a", "n": 1e999}]')  # a float literal beyond float's range reads as inf
@example(payload=b'[{"data": {"text": "a"}, "meta": {"n": -1e999}}]')
@example(payload=b'[{"data": {"text": "a"}, "annotations": [{"result": [{"value": {"x": 1e400}}]}]}]')
@example(payload=b'[{"data": {"text": "a"}, "predictions": [{"result": [{"value": {"x": 1e400}}]}]}]')
@example(payload=b'[{"text": "a", "n": NaN}]')
@example(payload=b'[{"text": "\\ud800"}]')  # PostgreSQL: a lone surrogate escape in jsonb
@example(payload=b'[{"text": "\\ud83d\\ude00 \\\\u0000"}]')  # a real pair and an escaped backslash: fine
def test_mutated_json_exports_import_or_are_refused_clearly(
    make_uow: UowFactory, projects: Projects, payload: bytes
) -> None:
    import_every_way(make_uow, projects, payload, "export.json")


# --- CSV, TSV, TXT, with and without a column mapping -----------------------------------------------------
@DB_FUZZ
@example(payload=b"text,other\n" + b"a,b\n" * 3000 + b'"x\x00",y\n', mapping=None)  # NUL past the binary sniff
@given(payload=mutated(delimited().map(lambda body: b"text,other\n" + body)),
       mapping=st.one_of(st.none(), st.fixed_dictionaries({"text": st.one_of(st.none(), TEXT, st.just("other"))})))
def test_csv_files_import_or_are_refused_clearly(
    make_uow: UowFactory, projects: Projects, payload: bytes, mapping: dict[str, str | None] | None
) -> None:
    import_every_way(make_uow, projects, payload, "tasks.csv", mapping=mapping)


@DB_FUZZ
@given(payload=mutated(delimited("\t").map(lambda body: b"text\tother\n" + body)))
def test_tsv_files_import_or_are_refused_clearly(
    make_uow: UowFactory, projects: Projects, payload: bytes
) -> None:
    import_every_way(make_uow, projects, payload, "tasks.tsv")


@DB_FUZZ
@given(payload=mutated(st.lists(TEXT, min_size=1, max_size=5).map(
    lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))))
@example(payload=b"a\n" * 5000 + b"b\x00c\n")
def test_txt_files_import_or_are_refused_clearly(
    make_uow: UowFactory, projects: Projects, payload: bytes
) -> None:
    import_every_way(make_uow, projects, payload, "tasks.txt")
