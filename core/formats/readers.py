"""Readers of task files: JSON, JSON lines, CSV, TSV, TXT and single media files -> :class:`ParsedTask`.

Label Studio's import rules (``data_import/models.py``, formats doc section c): a JSON file holds a list of
tasks or one task; an item without ``data`` is itself the data; CSV/TSV rows and TXT lines become ``data``;
a media file is one task holding its URL. Every reader streams: memory holds one chunk plus one task, so a
file larger than memory imports. Bad input is an :class:`ImportFormatError` naming the file and the item,
row or line (and the column for JSON syntax errors).

These functions touch no database and no blob store; the import service stores media and inserts tasks.
"""
from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from core.errors import ImportFormatError
from core.formats.json_stream import (
    iter_json_items,
    iter_json_items_with_text,
    iter_text_chunks,
    json_type,
    strict_decoder,
    value_error_reason,
)

JSON_EXTENSIONS = frozenset({".json"})
JSONL_EXTENSIONS = frozenset({".jsonl", ".ndjson"})
CSV_EXTENSIONS = frozenset({".csv"})
TSV_EXTENSIONS = frozenset({".tsv"})
TXT_EXTENSIONS = frozenset({".txt"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".m4a", ".ogg"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".webm"})
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | AUDIO_EXTENSIONS | VIDEO_EXTENSIONS
SUPPORTED_EXTENSIONS = (
    JSON_EXTENSIONS | JSONL_EXTENSIONS | CSV_EXTENSIONS | TSV_EXTENSIONS | TXT_EXTENSIONS | MEDIA_EXTENSIONS
)

TXT_DEFAULT_DATA_KEY = "text"
"""Label Studio puts a TXT line in ``$undefined$`` and maps it to the config's single object tag; callers
that know the object tag's variable pass it as ``data_key`` instead."""

CSV_DELIMITERS = ",;\t|"
CSV_FIELD_SIZE_LIMIT = 256 * 1024 * 1024
"""csv's default limit (128 KiB per field) rejects long documents that Label Studio accepts."""

TASK_KEYS = ("data", "annotations", "predictions", "drafts", "meta", "id")

MAX_LINE_CHARS = CSV_FIELD_SIZE_LIMIT
"""The longest line a JSON-lines, CSV, TSV or TXT file may have: a file is read a line at a time, so this bounds
the memory one line takes (a file of 1 GB without a newline is refused once this much is read)."""

csv.field_size_limit(CSV_FIELD_SIZE_LIMIT)


@dataclass(frozen=True)
class ParsedTask:
    """One task read from a file, before it has a database id.

    ``source_id`` is the task's ``id`` in the file (a Label Studio export) or None; ``position`` is the
    1-based item (JSON), line (JSON lines, TXT) or data row (CSV/TSV) it came from, for messages.
    Annotations, predictions and drafts keep every field they had (``completed_by`` may be an int, a
    ``{"email": ...}`` dict or null: resolving users is the import service's job).
    """

    data: dict[str, Any]
    annotations: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    source_id: Any = None
    position: int = 1
    drafts: list[dict[str, Any]] = field(default_factory=list)


class RowError(ImportFormatError):
    """A problem confined to one item, line or row: the rest of the file can still be read.

    ``where`` names the row as messages do ("item 3", "line 7", "row 2 (line 3)"); ``reason`` says what is
    wrong without the file and row; ``str(error)`` is the full message.
    """

    def __init__(self, message: str, *, filename: str, position: int, where: str, reason: str) -> None:
        super().__init__(message)
        self.filename = filename
        self.position = position
        self.where = where
        self.reason = reason


RowErrorHandler = Callable[[RowError], None]
"""Called with each bad row when the caller wants to go on reading (an import that skips bad rows, a preview
that lists them); without one, the first bad row raises."""


class TaskRecord(NamedTuple):
    """One task read from a file, as the importer's hot path takes it (a tuple: no per-task object to build).

    ``source_text`` is the JSON text the task was decoded from (the whole item or line), None for CSV, TSV,
    TXT and media files; it lets the importer store ``data`` without encoding it again
    (:func:`core.formats.json_stream.dumps_data`). The other fields are those of :class:`ParsedTask`.
    """

    position: int
    data: dict[str, Any]
    source_text: str | None
    annotations: list[dict[str, Any]]
    predictions: list[dict[str, Any]]
    meta: dict[str, Any]
    source_id: Any
    drafts: list[dict[str, Any]]
    extras: dict[str, Any]
    """Label Studio's task fields kept as they came (:data:`TASK_EXTRAS` present in the item), written back on
    export: an empty shared dict for the common task."""
    skipped_ids: tuple[int, int]
    """How many entries of ``predictions`` and of ``drafts`` were bare ids (Label Studio's JSON export writes
    prediction and draft *ids* there): left out of those lists, counted for the import's report."""


TASK_EXTRAS = ("inner_id", "file_upload", "created_at", "updated_at")
"""Task fields of a Label Studio export that Quorum keeps and writes back: the task's number in its project
(``inner_id``), the uploaded file it came from, and its times."""

_NO_EXTRAS: dict[str, Any] = {}  # shared: read-only for every consumer
_NO_SKIPS = (0, 0)

_new_record = tuple.__new__  # TaskRecord(...) goes through a Python-level __new__; this is ~3x cheaper
_NO_ITEMS: list[dict[str, Any]] = []  # shared empty lists: read-only for every consumer


def _record(
    position: int,
    data: dict[str, Any],
    source_text: str | None = None,
    annotations: list[dict[str, Any]] = _NO_ITEMS,
    predictions: list[dict[str, Any]] = _NO_ITEMS,
    meta: dict[str, Any] | None = None,
    source_id: Any = None,
    drafts: list[dict[str, Any]] = _NO_ITEMS,
) -> TaskRecord:
    return _new_record(  # type: ignore[no-any-return]
        TaskRecord, (position, data, source_text, annotations, predictions, meta or {}, source_id, drafts, _NO_EXTRAS,
                     _NO_SKIPS)
    )


def parsed_task(record: TaskRecord) -> ParsedTask:
    """The :class:`ParsedTask` of a record (fresh lists, so callers may mutate them)."""
    return ParsedTask(
        data=record.data, annotations=list(record.annotations), predictions=list(record.predictions),
        meta=record.meta, source_id=record.source_id, position=record.position, drafts=list(record.drafts),
    )


def media_data_key(filename: str) -> str:
    """The default data key for a media file: ``image``, ``audio`` or ``video``."""
    ext = _extension(filename)
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return "video"


def iter_tasks(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    filename: str,
    data_key: str | None = None,
    media_url: str | None = None,
) -> Iterator[ParsedTask]:
    """Yield the tasks of one import file, choosing the reader by ``filename``'s extension.

    ``source`` is a path or a binary stream (an upload); ``filename`` names the file in messages and picks
    the format. ``data_key`` is the data field for TXT lines (default ``text``) and media files (default
    ``image``/``audio``/``video``). ``media_url`` is the stored URL of a media file (default: ``filename``);
    the caller stores the blob, this function does not read it.

    Raises :class:`ImportFormatError` for an unsupported extension, malformed content (naming the item,
    row or line), text that is not UTF-8, or a file without tasks ("no tasks in FILE").
    """
    for record in iter_task_records(source, filename=filename, data_key=data_key, media_url=media_url):
        yield parsed_task(record)


def iter_task_records(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    filename: str,
    data_key: str | None = None,
    media_url: str | None = None,
    on_row_error: RowErrorHandler | None = None,
) -> Iterator[TaskRecord]:
    """:func:`iter_tasks` as :class:`TaskRecord` tuples: the importer's path (same rules, same errors).

    With ``on_row_error``, a bad item, line or row (:class:`RowError`) is passed to it and reading goes on;
    errors that leave the rest of the file unreadable (JSON syntax, encoding, the CSV header) still raise.
    A file whose every row was bad raises "no tasks in FILE" only when no row error was reported.
    """
    ext = _extension(filename)
    if ext not in SUPPORTED_EXTENSIONS:
        supported = " ".join(sorted(SUPPORTED_EXTENSIONS))
        raise ImportFormatError(f"{filename}: unsupported file type {ext or '(none)'!r}; supported: {supported}")
    if ext in MEDIA_EXTENSIONS:
        key = data_key or media_data_key(filename)
        yield _record(1, {key: media_url or filename})
        return
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield from _iter_stream(stream, ext, filename, data_key, on_row_error)
    else:
        yield from _iter_stream(source, ext, filename, data_key, on_row_error)


def iter_task_dicts(source: str | os.PathLike[str] | IO[bytes], *, filename: str) -> Iterator[dict[str, Any]]:
    """Yield the tasks of a Label Studio export (.json or .jsonl) as dicts with every key kept.

    Exports carry fields that :class:`ParsedTask` does not (``agreement``, ``created_at`` ...) and that
    the converter formats write out, so the database-free converter reads them whole. A dict without
    ``data`` is wrapped as ``{"data": item}``. Errors as for :func:`iter_tasks`.
    """
    ext = _extension(filename)
    if ext not in JSON_EXTENSIONS | JSONL_EXTENSIONS:
        raise ImportFormatError(f"{filename}: a Label Studio export must be .json or .jsonl, not {ext or '(none)'!r}")
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield from _iter_task_dicts(stream, ext, filename)
    else:
        yield from _iter_task_dicts(source, ext, filename)


def _iter_task_dicts(stream: IO[bytes], ext: str, filename: str) -> Iterator[dict[str, Any]]:
    """The export's tasks, each checked by the importer's rules (:func:`record_from_item`): the converter's
    writers then meet only objects where they expect objects and lists where they expect lists."""
    unit = "item" if ext in JSON_EXTENSIONS else "line"
    if ext in JSON_EXTENSIONS:
        items: Iterator[tuple[int, Any]] = iter_json_items(stream, filename=filename)
    else:
        items = _iter_jsonl_values(stream, filename)
    count = 0
    for position, item in items:
        if not isinstance(item, dict):
            raise ImportFormatError(f"{filename}: {unit} {position} is not an object (a task) but {json_type(item)}")
        task = item if "data" in item else {"data": item}
        record = record_from_item(task, None, filename=filename, position=position, unit=unit)
        _check_convertible(record, filename, unit, position)
        count += 1
        yield task
    if not count:
        raise ImportFormatError(f"no tasks in {filename}")


def _check_convertible(record: TaskRecord, filename: str, unit: str, position: int) -> None:
    """What the converter's writers read beyond :func:`record_from_item`'s shapes: each result item is an object
    whose ``value`` (if any) is an object, and an annotation's ``created_at`` (they are sorted by it) is text.
    The importer checks results itself, row by row (``core.imports``); the converter has no rows to skip."""
    for key, entries in (("annotations", record.annotations), ("predictions", record.predictions)):
        for index, entry in enumerate(entries, start=1):
            created_at = entry.get("created_at")
            if key == "annotations" and created_at is not None and not isinstance(created_at, str):
                raise _row_error(filename, unit, position,
                                 f"{key}[{index}].created_at must be a time (text), found {json_type(created_at)}")
            for number, region in enumerate(entry.get("result") or (), start=1):
                where = f"{key}[{index}].result[{number}]"
                if not isinstance(region, dict):
                    raise _row_error(filename, unit, position, f"{where} must be an object, found {json_type(region)}")
                value = region.get("value")
                if value is not None and not isinstance(value, dict):
                    raise _row_error(filename, unit, position,
                                     f"{where}.value must be an object, found {json_type(value)}")


def _iter_stream(
    stream: IO[bytes], ext: str, filename: str, data_key: str | None, on_row_error: RowErrorHandler | None
) -> Iterator[TaskRecord]:
    errors = 0

    def report(error: RowError) -> None:
        nonlocal errors
        if on_row_error is None:
            raise error
        errors += 1
        on_row_error(error)

    if ext in JSON_EXTENSIONS:
        tasks = _iter_json(stream, filename, report)
    elif ext in JSONL_EXTENSIONS:
        tasks = _iter_jsonl(stream, filename, report)
    elif ext in CSV_EXTENSIONS:
        tasks = _iter_csv(stream, filename, delimiter=None, report=report)
    elif ext in TSV_EXTENSIONS:
        tasks = _iter_csv(stream, filename, delimiter="\t", report=report)
    else:
        tasks = _iter_txt(stream, filename, data_key or TXT_DEFAULT_DATA_KEY, report)
    count = 0
    for task in tasks:
        count += 1
        yield task
    if not count and not errors:
        raise ImportFormatError(f"no tasks in {filename}")


def task_from_item(item: Any, *, filename: str, position: int, unit: str = "item") -> ParsedTask:
    """Turn one decoded JSON value into a task, applying Label Studio's rules.

    ``unit`` and ``position`` name the item in messages ("item 3", "line 7"). A dict with ``data`` is a full
    task (its ``completions``, the pre-1.0 name, count as annotations); any other dict is the task's data.
    """
    return parsed_task(record_from_item(item, None, filename=filename, position=position, unit=unit))


def record_from_item(
    item: Any, source_text: str | None, *, filename: str, position: int, unit: str = "item"
) -> TaskRecord:
    """:func:`task_from_item` as a :class:`TaskRecord`; runs once per task of a million-task import.

    Raises :class:`RowError` (the item alone is bad).
    """
    if not isinstance(item, dict):
        raise _row_error(
            filename, unit, position,
            f"is not an object (a task or a dict of data fields) but {json_type(item)}", sep=" ",
        )
    get = item.get
    data = get("data")
    if data is None and "data" not in item:
        return _new_record(TaskRecord, (position, item, source_text, _NO_ITEMS, _NO_ITEMS, {}, None, _NO_ITEMS,
                                        _NO_EXTRAS, _NO_SKIPS))
    if not isinstance(data, dict):
        raise _row_error(filename, unit, position, f"'data' must be an object, found {json_type(data)}")
    if len(item) == 1:  # {"data": {...}}: the commonest full task
        return _new_record(TaskRecord, (position, data, source_text, _NO_ITEMS, _NO_ITEMS, {}, None, _NO_ITEMS,
                                        _NO_EXTRAS, _NO_SKIPS))
    where = f"{unit} {position}"
    annotations = get("annotations")
    if annotations is None:
        annotations = get("completions")
    predictions, skipped_predictions = _without_bare_ids(get("predictions"))
    drafts, skipped_drafts = _without_bare_ids(get("drafts"))
    meta = get("meta") or {}
    if not isinstance(meta, dict):
        raise _row_error(filename, unit, position, f"'meta' must be an object, found {json_type(meta)}")
    extras = _task_extras(item, filename, unit, position) if any(key in item for key in TASK_EXTRAS) else _NO_EXTRAS
    return _new_record(TaskRecord, (
        position,
        data,
        source_text,
        _result_list(annotations, "annotations", filename, where) if annotations is not None else _NO_ITEMS,
        _result_list(predictions, "predictions", filename, where) if predictions is not None else _NO_ITEMS,
        meta,
        get("id"),
        _result_list(drafts, "drafts", filename, where) if drafts is not None else _NO_ITEMS,
        extras,
        (skipped_predictions, skipped_drafts) if skipped_predictions or skipped_drafts else _NO_SKIPS,
    ))


def _is_bare_id(entry: Any) -> bool:
    """A prediction or draft given as its id alone (``"predictions": [1099, 1100]``), as Label Studio's JSON export
    writes them (its export serializer lists their primary keys): nothing to import, not a reason to refuse."""
    return isinstance(entry, int) and not isinstance(entry, bool)


def _without_bare_ids(entries: Any) -> tuple[Any, int]:
    """``(entries without bare ids, how many there were)``; anything but a list is returned as it is, for
    :func:`_result_list` to judge."""
    if not isinstance(entries, list) or not any(_is_bare_id(entry) for entry in entries):
        return entries, 0
    kept = [entry for entry in entries if not _is_bare_id(entry)]
    return kept, len(entries) - len(kept)


MAX_FILE_UPLOAD_CHARS = 500
"""The longest ``file_upload`` name kept (Label Studio's are a short prefix and the uploaded file's name)."""


def _task_extras(item: dict[str, Any], filename: str, unit: str, position: int) -> dict[str, Any]:
    """The :data:`TASK_EXTRAS` of a Label Studio task that Quorum can keep, checked: ``inner_id`` a whole number,
    ``file_upload`` text, the times text (read as ISO times by the writer, which keeps the import's time for one
    that does not read). Null values are left out. RowError for a value of the wrong kind."""
    extras: dict[str, Any] = {}
    for key in TASK_EXTRAS:
        value = item.get(key)
        if value is None:
            continue
        if key == "file_upload" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # Label Studio's task API gives the upload's id, its export the file's name
        if key == "inner_id":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
                raise _row_error(filename, unit, position, f"'inner_id' must be a whole number, found {value!r:.40}")
        elif not isinstance(value, str):
            raise _row_error(filename, unit, position, f"'{key}' must be text, found {json_type(value)}")
        elif key == "file_upload" and len(value) > MAX_FILE_UPLOAD_CHARS:
            raise _row_error(filename, unit, position,
                             f"'file_upload' is longer than {MAX_FILE_UPLOAD_CHARS} characters")
        extras[key] = value
    return extras


def _row_error(filename: str, unit: str, position: int, reason: str, *, sep: str = ": ") -> RowError:
    where = f"{unit} {position}"
    return RowError(f"{filename}: {where}{sep}{reason}", filename=filename, position=position, where=where,
                    reason=reason)


def _result_list(value: Any, key: str, filename: str, where: str) -> list[dict[str, Any]]:
    """Validate a list of annotations/predictions/drafts: objects whose ``result`` (if any) is a list."""
    if value is None:
        return []
    unit, _, position = where.partition(" ")
    if not isinstance(value, list):
        raise _row_error(filename, unit, int(position), f"'{key}' must be a list, found {json_type(value)}")
    for index, entry in enumerate(value, start=1):
        if not isinstance(entry, dict):
            raise _row_error(
                filename, unit, int(position), f"{key}[{index}] must be an object, found {json_type(entry)}"
            )
        result = entry.get("result")
        if result is not None and not isinstance(result, list):
            raise _row_error(
                filename, unit, int(position), f"{key}[{index}].result must be a list, found {json_type(result)}"
            )
    return value


def _iter_json(stream: IO[bytes], filename: str, report: RowErrorHandler) -> Iterator[TaskRecord]:
    for position, item, text in iter_json_items_with_text(stream, filename=filename):
        try:
            if "\\u" in text and _suspect_escape(text):  # inline: this loop runs once per task
                _check_strings(item, filename, "item", position)
            yield record_from_item(item, text, filename=filename, position=position)
        except RowError as error:
            report(error)


def _iter_jsonl(stream: IO[bytes], filename: str, report: RowErrorHandler) -> Iterator[TaskRecord]:
    for line_no, line in iter_lines(stream, filename=filename):
        if not line.strip():
            continue
        try:
            item = _load_line(line, filename, line_no)
            if "\\u" in line and _suspect_escape(line):
                _check_strings(item, filename, "line", line_no)
            yield record_from_item(item, line, filename=filename, position=line_no, unit="line")
        except RowError as error:
            report(error)


def _iter_jsonl_values(stream: IO[bytes], filename: str) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a JSON-lines file."""
    for line_no, line in iter_lines(stream, filename=filename):
        if line.strip():
            yield line_no, _load_line(line, filename, line_no)


def _load_line(line: str, filename: str, line_no: int) -> Any:
    """The value of one JSON line, or a :class:`RowError` naming the line (and the column of a syntax error).

    The decoder raises a plain ValueError, not a JSONDecodeError, for an integer of more digits than Python
    converts (``sys.get_int_max_str_digits``) and for NaN or Infinity (:func:`strict_decoder`): that line is bad
    too, not the program.
    """
    try:
        return _DECODER.decode(line)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON at column {exc.colno}: {exc.msg}"
        message = f"{filename}: invalid JSON at line {line_no}, column {exc.colno}: {exc.msg}"
    except ValueError as exc:
        reason = f"invalid JSON: {value_error_reason(exc)}"
        message = f"{filename}: invalid JSON at line {line_no}: {value_error_reason(exc)}"
    raise RowError(message, filename=filename, position=line_no, where=f"line {line_no}", reason=reason)


_DECODER = strict_decoder()
NUL_REASON = "holds a NUL character (\\u0000), which a task may not hold (the database cannot store it)"


def _suspect_escape(text: str) -> bool:
    """Whether JSON text may decode to a NUL or a lone surrogate: only a \\u0000 or \\uD800-\\uDFFF escape can
    (raw control characters are invalid JSON, and UTF-8 cannot encode surrogates). Three substring searches: an
    ASCII-escaped file has a \\u in nearly every task, and a regex search per task cost a tenth of the reading."""
    return "\\u0000" in text or "\\ud" in text or "\\uD" in text


def _check_strings(item: Any, filename: str, unit: str, position: int) -> None:
    """Refuse an item holding a string no database column takes (PostgreSQL refuses NUL and unpaired UTF-16
    surrogates in text and jsonb): a RowError naming the item and the field, rather than a database error that
    fails the whole import. Called only for the rare item whose text passes :func:`_suspect_escape`."""
    problem = _bad_string(item, "")
    if problem is not None:
        raise _row_error(filename, unit, position, problem)


def _bad_string(value: Any, path: str) -> str | None:
    """What is wrong with the first unstorable string (key or value) inside ``value``, and where; else None."""
    if isinstance(value, str):
        return _string_problem(value, path or "the task")
    if isinstance(value, dict):
        for key, child in value.items():
            at = f"{path}.{key}" if path else str(key)
            problem = _string_problem(key, f'the key "{at}"') or _bad_string(child, at)
            if problem is not None:
                return problem
    elif isinstance(value, list):
        for index, child in enumerate(value):
            problem = _bad_string(child, f"{path}[{index}]")
            if problem is not None:
                return problem
    return None


def _string_problem(value: str, where: str) -> str | None:
    if "\x00" in value:
        return f"{_shown(where)} {NUL_REASON}"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = value[exc.start]
            return (f"{_shown(where)} holds an unpaired UTF-16 surrogate (\\u{ord(char):04x}), which is not text "
                    "(the database cannot store it)")
    return None


def _shown(where: str) -> str:
    """A path for a message, with any NUL or surrogate in it made visible (it came from the file)."""
    return where.encode("unicode_escape").decode("ascii")


def _iter_txt(stream: IO[bytes], filename: str, data_key: str, report: RowErrorHandler) -> Iterator[TaskRecord]:
    for line_no, line in iter_lines(stream, filename=filename):
        text = line.strip()
        if not text:
            continue
        if "\x00" in text:
            report(_row_error(filename, "line", line_no, NUL_REASON, sep=" "))
            continue
        yield _record(line_no, {data_key: text})


def _iter_csv(
    stream: IO[bytes], filename: str, *, delimiter: str | None, report: RowErrorHandler
) -> Iterator[TaskRecord]:
    lines = iter_lines(stream, filename=filename)
    source_line = 0
    nul_seen = False  # a line of the row being read holds a NUL (checked per line: cheaper than per cell)

    def physical_lines() -> Iterator[str]:
        nonlocal source_line, nul_seen
        for source_line, line in lines:  # noqa: B007 - source_line is read by the error messages
            if "\x00" in line:
                nul_seen = True
            yield line

    physical = physical_lines()
    first = next(physical, None)
    while first is not None and not first.strip():
        first = next(physical, None)
    if first is None:
        return
    if delimiter is None:
        delimiter = sniff_delimiter(first)
    header_line = source_line
    reader = csv.reader(_chain_first(first, physical), delimiter=delimiter)
    try:
        header = next(reader)
        names = [name.strip() for name in header]
        _check_header(names, filename, header_line)
        row_no = 0
        nul_seen = False
        for row in reader:
            has_nul, nul_seen = nul_seen, False
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            row_no += 1
            reason = None
            if len(row) != len(names):
                reason = f"has {len(row)} fields, the header has {len(names)}"
            elif has_nul:
                reason = NUL_REASON
            if reason is not None:
                where = f"row {row_no} (line {source_line})"
                report(RowError(f"{filename}: {where} {reason}", filename=filename, position=row_no, where=where,
                                reason=reason))
                continue
            yield _new_record(TaskRecord, (row_no, dict(zip(names, row)), None, _NO_ITEMS, _NO_ITEMS, {}, None,
                                           _NO_ITEMS, _NO_EXTRAS, _NO_SKIPS))
    except csv.Error as exc:
        raise ImportFormatError(f"{filename}: malformed CSV at line {source_line}: {exc}") from None


def _check_header(names: list[str], filename: str, line: int) -> None:
    if not any(names):
        raise ImportFormatError(f"{filename}: the header (line {line}) has no column names")
    for column, name in enumerate(names, start=1):
        if "\x00" in name:
            raise ImportFormatError(f"{filename}: the header (line {line}), column {column}, {NUL_REASON}")
    if "" in names:
        raise ImportFormatError(
            f"{filename}: the header (line {line}) has an empty column name at column {names.index('') + 1}"
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ImportFormatError(f"{filename}: the header (line {line}) repeats the column {name!r}")
        seen.add(name)


def sniff_delimiter(header_line: str) -> str:
    """Pick the CSV delimiter from the header: the most frequent of , ; TAB | outside quotes (',' if none).

    Counting on the header alone is deterministic, unlike ``csv.Sniffer`` on a sample that may end inside
    a quoted field; Label Studio's users meet ';' from European Excel most often. Quoted text (from a quote
    to the next, or to the end) is cut out by one regex and the rest counted in C: a Python loop over the
    characters took seconds on a header of tens of MB (a file that is one huge line).
    """
    outside = _QUOTED.sub("", header_line)
    counts = {delimiter: outside.count(delimiter) for delimiter in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


_QUOTED = re.compile(r'"[^"]*(?:"|$)')


def iter_lines(stream: IO[bytes] | IO[str], *, filename: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` with line endings kept, splitting on '\\n' only.

    ``str.splitlines`` would also split on form feeds and U+2028, which may sit inside a CSV or JSON string.
    A UTF-8 BOM is dropped; bytes that are not UTF-8 raise :class:`ImportFormatError` with the line.
    A line spanning many chunks is collected as a list of pieces and joined once (appending each chunk to the
    line so far would copy it again every chunk: quadratic, minutes for a file of 1 GB without a newline), and
    a line longer than :data:`MAX_LINE_CHARS` is refused as soon as it is (memory holds at most that much).
    """
    pieces: list[str] = []  # the current line, as read so far
    pending = 0  # characters in pieces
    line_no = 0
    for chunk in iter_text_chunks(stream, filename=filename):
        newline = chunk.find("\n")
        if newline < 0 or pending + newline > MAX_LINE_CHARS:
            pieces.append(chunk)
            pending += len(chunk)
            if pending > MAX_LINE_CHARS:
                raise _line_too_long(filename, line_no + 1)
            continue
        if pieces:
            pieces.append(chunk)
            chunk = "".join(pieces)
            pieces.clear()
        parts = chunk.split("\n")
        rest = parts.pop()
        for part in parts:
            line_no += 1
            yield line_no, part + "\n"
        if rest:
            pieces.append(rest)
        pending = len(rest)
    if pieces:
        yield line_no + 1, "".join(pieces)


def _line_too_long(filename: str, line_no: int) -> ImportFormatError:
    return ImportFormatError(
        f"{filename}: line {line_no} is longer than {MAX_LINE_CHARS:,} characters, the most one line may hold "
        "(is this a text file of tasks, one per line or row?)"
    )


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _extension(filename: str) -> str:
    return Path(filename).suffix.lower()


