"""Mapping a file's columns (CSV/TSV) or data keys (JSON, JSON lines) to the config's ``$variables``.

A spreadsheet rarely names its columns after the labeling config's variables (``review_body`` where the config
reads ``$text``). The import wizard lets a manager pick, for each variable, the column that feeds it; this
module suggests a mapping by name and applies one to the task stream.

Applying a mapping *adds* each variable to the task's data with the chosen column's value and keeps every
column (Label Studio keeps all CSV columns in ``data`` too): two variables may read the same column, and an
export still shows the file's own fields.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from core.formats.readers import TaskRecord

ColumnMapping = Mapping[str, str]
"""``{variable: column}``; a variable mapped to itself, or left out, reads its own name."""

MAPPABLE_EXTENSIONS = frozenset({".csv", ".tsv", ".json", ".jsonl", ".ndjson"})
"""Files whose tasks carry named fields; TXT lines and media files have a single field."""


def suggest_mapping(variables: Sequence[str], columns: Sequence[str]) -> dict[str, str | None]:
    """For each variable, the column of the same name, else one that differs only in case, spaces, ``-``
    or ``_`` (``Image URL`` for ``$image_url``), else None (the manager has to choose).

    A column already taken by an exact match is not offered again to a near match.
    """
    exact = {v: v for v in variables if v in columns}
    taken = set(exact.values())
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_name_key(column), column)
    suggestion: dict[str, str | None] = {}
    for variable in variables:
        if variable in exact:
            suggestion[variable] = variable
            continue
        column = by_key.get(_name_key(variable))
        suggestion[variable] = column if column is not None and column not in taken else None
    return suggestion


def effective_mapping(mapping: Mapping[str, str | None] | None) -> dict[str, str]:
    """The pairs that change something: a variable read from a column of another name."""
    return {variable: column for variable, column in (mapping or {}).items() if column and column != variable}


def check_mapping(mapping: Mapping[str, str | None], columns: Sequence[str]) -> list[str]:
    """Problems with a mapping against the columns a file has: columns that do not exist."""
    known = set(columns)
    return [
        f"${variable} is mapped to {column!r}, which the file does not have (columns: {', '.join(columns)})"
        for variable, column in mapping.items()
        if column and column not in known
    ]


def map_data(data: dict[str, Any], mapping: ColumnMapping) -> dict[str, Any]:
    """``data`` with each mapped variable added from its column (a new dict; ``data`` is not changed).

    A task lacking the column is left without the variable, so the config check names what is missing.
    """
    mapped = dict(data)
    for variable, column in mapping.items():
        if column in data:
            mapped[variable] = data[column]
    return mapped


def apply_mapping(records: Iterable[TaskRecord], mapping: Mapping[str, str | None] | None) -> Iterator[TaskRecord]:
    """The records with :func:`map_data` applied; unchanged (the same objects) when nothing is mapped.

    A changed record loses its ``source_text``: the data no longer is the text it was decoded from.
    """
    pairs = effective_mapping(mapping)
    if not pairs:
        yield from records
        return
    for record in records:
        yield record._replace(data=map_data(record.data, pairs), source_text=None)


def columns_of(records: Iterable[TaskRecord]) -> list[str]:
    """The data keys of the records, in first-seen order (a JSON file's tasks may differ in keys)."""
    seen: dict[str, None] = {}
    for record in records:
        for key in record.data:
            seen.setdefault(key, None)
    return list(seen)


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " -_.$")
