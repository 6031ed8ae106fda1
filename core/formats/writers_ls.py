"""Writers of Label Studio's own export formats: JSON, JSON_MIN, CSV and TSV.

All stream: they take any iterable of Label Studio task dicts (as Label Studio exports them) and write as
they go. CSV needs its column set before the first row, so it spools the rows to a temporary file on the
first pass (bounded memory, one pass over the tasks) and copies them out on the second.
"""
from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from core.formats.records import AnnotationRecord, annotator_of, iter_annotation_records, prettify
from core.formats.schema import ExportSchema

# Cells a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @, and tab / carriage return,
# which some spreadsheets strip before looking for those. Spreadsheets also skip leading spaces, line feeds
# and zero-width characters (U+200B..U+200D, U+FEFF) before reading a formula, so those are looked through.
_FORMULA_SIGNS = ("=", "+", "-", "@")
_FORMULA_PREFIXES = (*_FORMULA_SIGNS, "\t", "\r")
_SKIPPED_LEAD = " \t\r\n\u200b\u200c\u200d\ufeff"
METADATA_COLUMNS = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement")
ALWAYS_CSV_COLUMNS = frozenset({"annotator", "annotation_id", "created_at", "updated_at", "lead_time"})


def write_json(tasks: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write Label Studio JSON (a list of full tasks), one task per line; return the number of tasks."""
    dumps = json.dumps
    return write_json_lines((dumps(task, ensure_ascii=False) for task in tasks), out)


def write_json_lines(items: Iterable[str], out: IO[str]) -> int:
    """Write already-encoded JSON values as a JSON list, one per line (the framing of :func:`write_json`).

    The database export builds each task's text itself, splicing stored JSON in without decoding it.
    Writes are grouped (one ``write`` per ~1,000 items): a call per item was a measurable share of an export.
    """
    count = 0
    out.write("[")
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        count += 1
        if len(chunk) == 1000:
            out.write(",\n" if count > 1000 else "\n")
            out.write(",\n".join(chunk))
            chunk.clear()
    if chunk:
        out.write(",\n" if count > len(chunk) else "\n")
        out.write(",\n".join(chunk))
    out.write("\n]\n" if count else "]\n")
    return count


def json_min_records(tasks: Iterable[dict[str, Any]], schema: ExportSchema) -> Iterator[dict[str, Any]]:
    """JSON_MIN records: one per annotation, Label Studio's key order (data, id, from_names, metadata).

    A from_name holds a single value for one single-choice Choices or one TextArea result, else the list
    of result values (with ``original_width/height``). Unlike Label Studio, a data key that clashes with a
    control name or a metadata column is kept as ``_data_<key>`` instead of being overwritten.
    """
    for record in iter_annotation_records(tasks, schema):
        row = _data_fields(record, schema, stringify=False)
        if record.task_id is not None:
            row["id"] = record.task_id
        for name, values in record.outputs.items():
            row[name] = prettify(values)
        row["annotator"] = _annotator(record, int_id=True)
        row["annotation_id"] = record.annotation_id
        row["created_at"] = record.created_at
        row["updated_at"] = record.updated_at
        row["lead_time"] = record.lead_time
        if record.has_agreement:
            row["agreement"] = record.agreement
        yield row


def _annotator(record: AnnotationRecord, *, int_id: bool = False) -> Any:
    """JSON_MIN's and CSV's ``annotator``: the author's e-mail, as Label Studio's converter writes it for a
    ``completed_by`` object (Quorum's JSON export writes one, see ``core.exports._Authors``); an object without an
    e-mail (a Quorum account that has none) gives its ``id`` instead of the converter's null, so the author stays
    named. Any other ``completed_by`` as the converter writes it (:func:`annotator_of`)."""
    author = record.completed_by
    if isinstance(author, dict) and not author.get("email") and author.get("id") is not None:
        author_id = author["id"]
        return author_id if int_id and isinstance(author_id, int) and not isinstance(author_id, bool) else str(author_id)
    return annotator_of(record, int_id=int_id)


def write_json_min(tasks: Iterable[dict[str, Any]], out: IO[str], *, schema: ExportSchema) -> int:
    """Write JSON_MIN (a list of records, see :func:`json_min_records`); return the number of records."""
    return write_json(json_min_records(tasks, schema), out)


def csv_records(tasks: Iterable[dict[str, Any]], schema: ExportSchema) -> Iterator[dict[str, Any]]:
    """CSV/TSV rows: JSON_MIN's columns, non-scalar values as compact JSON strings (``csv2.py``)."""
    for record in iter_annotation_records(tasks, schema):
        row: dict[str, Any] = {}
        if record.task_id is not None:
            row["id"] = record.task_id
        for name, values in record.outputs.items():
            pretty = prettify(values)
            row[name] = pretty if isinstance(pretty, str) else _compact(pretty)
        row.update(_data_fields(record, schema, stringify=True))
        row["annotator"] = _annotator(record)
        row["annotation_id"] = record.annotation_id
        row["created_at"] = record.created_at
        row["updated_at"] = record.updated_at
        row["lead_time"] = record.lead_time
        if record.has_agreement:
            row["agreement"] = record.agreement
        if record.history:
            row["history"] = _compact(record.history)
        yield row


def write_csv(
    tasks: Iterable[dict[str, Any]],
    out: IO[str],
    *,
    schema: ExportSchema,
    delimiter: str = ",",
    header: bool = True,
) -> int:
    """Write CSV (sorted columns, strings quoted, numbers bare); return the number of rows.

    Cells (column names too: they come from task data) that a spreadsheet would evaluate as a formula get a
    leading single quote. ``out`` should be opened with ``newline=""`` (the csv module writes its own line
    ends).
    """
    columns = set(ALWAYS_CSV_COLUMNS)
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for row in csv_records(tasks, schema):
            columns.update(row)
            spool.write(json.dumps(row, ensure_ascii=False))
            spool.write("\n")
            count += 1
        spool.seek(0)
        writer = csv.DictWriter(out, fieldnames=sorted(columns), quoting=csv.QUOTE_NONNUMERIC, delimiter=delimiter)
        if header:
            writer.writerow({name: neutralise_formula(name) for name in writer.fieldnames})
        for line in spool:
            writer.writerow({key: neutralise_formula(value) for key, value in json.loads(line).items()})
    return count


def write_tsv(tasks: Iterable[dict[str, Any]], out: IO[str], *, schema: ExportSchema, header: bool = True) -> int:
    """Write TSV: :func:`write_csv` with a tab delimiter."""
    return write_csv(tasks, out, schema=schema, delimiter="\t", header=header)


def neutralise_formula(value: Any) -> Any:
    """Prefix ``'`` to a string cell that starts like a formula (= + - @ TAB CR, or = + - @ after spaces,
    line breaks or zero-width characters); leave others alone."""
    if isinstance(value, str) and (value.startswith(_FORMULA_PREFIXES)
                                   or value.lstrip(_SKIPPED_LEAD).startswith(_FORMULA_SIGNS)):
        return "'" + value
    return value


def _data_fields(record: AnnotationRecord, schema: ExportSchema, *, stringify: bool) -> dict[str, Any]:
    reserved = set(schema.control_by_name) | set(record.outputs) | set(METADATA_COLUMNS) | {"history"}
    fields: dict[str, Any] = {}
    for key, value in record.data.items():
        name = f"_data_{key}" if key in reserved else key
        if stringify and isinstance(value, (dict, list)):
            value = _compact(value)
        fields[name] = value  # shared with the task, not copied: records are written, not edited
    return fields


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
