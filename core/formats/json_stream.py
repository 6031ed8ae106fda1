"""Incremental JSON decoding: the items of a top-level array one by one, in memory bounded by one item.

Why not ``json.load``: an import file may be larger than memory (ARCHITECTURE.md, "Bulk import and export
stream in batches with bounded memory"). Why not ``ijson``: measured on 100,000 small tasks (13 MB) on a
shared 2-CPU machine, this decoder (``json.JSONDecoder`` scanning 1 MiB text chunks, so every item is built
by CPython's C scanner) takes 0.23-0.42 s and ijson's yajl2_c backend 0.21-0.40 s for the same dicts: a tie
within noise. This one reports syntax errors with the exact line and column, which ijson's backends do not,
and needs no extra dependency.

The decoder keeps one text buffer; it drops the consumed prefix only when it must read more, so an item costs
one ``raw_decode`` call and no copying. An item cut by a chunk boundary fails to decode at the buffer's end;
the decoder then reads more (growing the read size geometrically, so one huge item costs O(n log n), not
O(n^2)) and retries.
"""
from __future__ import annotations

import codecs
import json
import re
import sys
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from collections.abc import Iterator
from typing import IO, Any

from core.errors import ImportFormatError

CHUNK_CHARS = 1 << 20
"""Read size in bytes; large enough that the per-refill Python overhead is negligible."""
MAX_ITEM_CHARS = 256 * 1024 * 1024
"""The largest item (one task, or a file holding one object) the decoder holds: memory is bounded by one item,
so one item of 1 GB (or an unterminated string running to the end of a 1 GB file) is refused once this much
has been read, rather than read whole. As large as the CSV reader's longest field."""

_WHITESPACE = " \t\n\r"
_BOM = "\ufeff"
# A decode error this close to the end of the buffer may just mean "the item goes on in the next chunk".
_INCOMPLETE_MARGIN = 32
# After an item: whitespace, the separator, and the whitespace before the next item, in one C call.
_AFTER_ITEM = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


def number_too_long_message() -> str:
    """Why a JSON integer was refused: Python will not convert more digits than ``sys.get_int_max_str_digits``
    (4300 by default, a guard against quadratic-time conversion), and its own ValueError says only that."""
    return f"a number has more than {sys.get_int_max_str_digits()} digits"


def _refuse_constant(name: str) -> Any:
    """``parse_constant`` hook: Python's json reads NaN and Infinity, which JSON (RFC 8259), Label Studio and
    PostgreSQL's jsonb do not; refusing them here is free (the scanner calls this only for those tokens)."""
    raise ValueError(f"{name} is not valid JSON (write a number, or null)")


def strict_decoder() -> json.JSONDecoder:
    """A decoder for task files: ``json.JSONDecoder`` that refuses NaN, Infinity and -Infinity."""
    return json.JSONDecoder(parse_constant=_refuse_constant)


def value_error_reason(exc: ValueError) -> str:
    """What a ValueError that is not a JSONDecodeError (from a decoder or its scanner) says about the text: the
    integer digit limit, or NaN/Infinity (:func:`strict_decoder`)."""
    return number_too_long_message() if "integer string conversion" in str(exc) else str(exc)


_BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx or Word .docx file is one too)"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls, .doc)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_BINARY_SNIFF_BYTES = 8192
"""A NUL byte this early means binary data (or UTF-16): text files of tasks have none (git and grep judge so)."""


def binary_kind(head: bytes) -> str | None:
    """What the first bytes of a file say it is when it is not text ("a PNG image" ...), else None."""
    for signature, kind in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return kind
    nul = head.find(b"\x00", 0, _BINARY_SNIFF_BYTES)
    return None if nul < 0 else f"binary data (a NUL byte at byte {nul}), or UTF-16 text"


class _TextSource:
    """UTF-8 text in chunks from a binary or text stream, with a precise message on bad bytes.

    A UTF-8 byte-order mark is dropped (Excel and Windows editors write one), anything else that is not UTF-8
    is an :class:`ImportFormatError` naming the byte offset and the line. A file whose first bytes show it is
    binary (an image, an archive, a spreadsheet: :func:`binary_kind`) is refused as that, before any decoding,
    so the message says what the file is rather than where its "text" went wrong.
    """

    def __init__(self, stream: IO[bytes] | IO[str], filename: str) -> None:
        self._stream = stream
        self._filename = filename
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._bytes_read = 0
        self._lines_read = 0
        self._first = True
        self.eof = False

    def read(self, size: int) -> str:
        """Return up to ``size`` more characters ('' only at the end of the stream)."""
        while not self.eof:
            raw = self._stream.read(size)
            if isinstance(raw, str):
                text = raw
                if not raw:
                    self.eof = True
            else:
                text = self._decode(raw)
            if self._first and text:
                self._first = False
                if text.startswith(_BOM):
                    text = text[1:]
            if text:
                self._lines_read += text.count("\n")
                return text
        return ""

    def _decode(self, raw: bytes) -> str:
        final = not raw
        if final:
            self.eof = True
        if self._bytes_read == 0 and raw:
            self._refuse_binary(raw)
        try:
            text = self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            good = raw[: exc.start].decode("utf-8", "replace")
            offset = self._bytes_read + exc.start
            line = self._lines_read + good.count("\n") + 1
            raise ImportFormatError(
                f"{self._filename}: not UTF-8 text at byte {offset} (line {line}); "
                "save the file as UTF-8 and import it again"
            ) from None
        self._bytes_read += len(raw)
        return text

    def _refuse_binary(self, head: bytes) -> None:
        kind = binary_kind(head)
        if kind is not None:
            raise ImportFormatError(
                f"{self._filename}: this is {kind}, not a file of tasks; import JSON, JSON lines, CSV, TSV or "
                "TXT saved as UTF-8 text"
            )


def iter_text_chunks(stream: IO[bytes] | IO[str], *, filename: str, size: int = CHUNK_CHARS) -> Iterator[str]:
    """Yield the stream's text in chunks of about ``size`` characters (UTF-8, BOM dropped)."""
    source = _TextSource(stream, filename)
    while chunk := source.read(size):
        yield chunk


class _Reader:
    """Cursor over a growing text buffer that knows the line and column of every position."""

    def __init__(self, stream: IO[bytes] | IO[str], filename: str, chunk_size: int) -> None:
        self.source = _TextSource(stream, filename)
        self.filename = filename
        self.chunk_size = chunk_size
        self.buf = ""
        self.pos = 0
        self._line_base = 0  # newlines in text already dropped from the buffer
        self._col_base = 0  # 0-based column of buf[0]
        # Items are located in increasing order, so lines are counted from the last located index onwards:
        # counting from the buffer's start every time would make the decoder quadratic.
        self._mark_index = 0
        self._mark_line = 1

    def more(self, size: int | None = None) -> bool:
        """Drop consumed text, read at least one more chunk; False at the end of the stream."""
        text = self.source.read(size or self.chunk_size)
        if not text:
            return False
        consumed = self.pos
        if consumed:
            last_nl = self.buf.rfind("\n", 0, consumed)
            self._line_base += self.buf.count("\n", 0, consumed)
            self._col_base = consumed - last_nl - 1 if last_nl >= 0 else self._col_base + consumed
            self.buf = self.buf[consumed:] + text
            self.pos = 0
            self._mark_index, self._mark_line = 0, self._line_base + 1
        else:
            self.buf += text
        return True

    def skip_whitespace(self) -> str:
        """Advance past whitespace and return the next character ('' at the end of the stream)."""
        while True:
            buf, pos, n = self.buf, self.pos, len(self.buf)
            while pos < n and buf[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < n:
                return buf[pos]
            if not self.more():
                return ""

    def line_at(self, index: int) -> int:
        """1-based line of ``buf[index]``; cheap when called with increasing indexes."""
        if index >= self._mark_index:
            line = self._mark_line + self.buf.count("\n", self._mark_index, index)
            self._mark_index, self._mark_line = index, line
            return line
        return self._line_base + self.buf.count("\n", 0, index) + 1

    def where(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of ``buf[index]``; for error messages only (the column scan is not cheap)."""
        last_nl = self.buf.rfind("\n", 0, index)
        column = index - last_nl if last_nl >= 0 else self._col_base + index + 1
        return self.line_at(index), column

    def error(self, message: str, index: int | None = None) -> ImportFormatError:
        line, column = self.where(self.pos if index is None else index)
        return ImportFormatError(f"{self.filename}: invalid JSON at line {line}, column {column}: {message}")


def _decode_value(reader: _Reader, decoder: json.JSONDecoder, what: str) -> tuple[Any, int]:
    """Decode the value starting at ``reader.pos``, reading more text while it is cut by the buffer's end.

    Returns the value and where its text starts in ``reader.buf`` (``reader.pos`` is then its end): a refill
    drops the consumed text, so the start may have moved.
    """
    read_size = reader.chunk_size
    while True:
        try:
            value, end = decoder.raw_decode(reader.buf, reader.pos)
        except json.JSONDecodeError as exc:
            incomplete = exc.pos >= len(reader.buf) - _INCOMPLETE_MARGIN or exc.msg.startswith("Unterminated string")
            if incomplete and (read_size := _read_more_of_item(reader, read_size, what)):
                continue
            raise reader.error(f"{exc.msg} (in {what})", exc.pos) from None
        except ValueError as exc:  # the scanner's int() refused a number of too many digits, or NaN
            raise reader.error(f"{value_error_reason(exc)} (in {what})") from None
        # A number at the very end of the buffer may continue in the next chunk ("12" | "34").
        at_end = end >= len(reader.buf) and not reader.source.eof
        if at_end and (read_size := _read_more_of_item(reader, read_size, what)):
            continue
        start, reader.pos = reader.pos, end
        return value, start


def _read_more_of_item(reader: _Reader, read_size: int, what: str) -> int:
    """Read more of the item at ``reader.pos``; the next read size, or 0 at the end of the stream.

    The read size grows with the item (geometrically), so an item of n characters costs O(n log n) decoding
    attempts in all, not O(n^2); and no read goes past :data:`MAX_ITEM_CHARS`: the item is refused with at most
    that much of it in memory.
    """
    item_chars = len(reader.buf) - reader.pos
    if item_chars > MAX_ITEM_CHARS:
        raise _item_too_large(reader, what) from None
    if not reader.more(min(read_size, MAX_ITEM_CHARS + 1 - item_chars)):
        return 0
    return max(read_size, len(reader.buf) - reader.pos)


def _item_too_large(reader: _Reader, what: str) -> ImportFormatError:
    line, column = reader.where(reader.pos)
    return ImportFormatError(
        f"{reader.filename}: {what} (from line {line}, column {column}) is longer than {MAX_ITEM_CHARS:,} "
        "characters, the most one task may hold"
    )


def iter_json_items(
    stream: IO[bytes] | IO[str], *, filename: str, chunk_size: int = CHUNK_CHARS
) -> Iterator[tuple[int, Any]]:
    """Yield ``(position, value)`` for the items of a top-level JSON array, or ``(1, object)`` for one object.

    ``position`` is 1-based. Memory holds one chunk plus the item being decoded, whatever the file's size.
    Raises :class:`ImportFormatError` naming the file, line and column for malformed JSON, for text after
    the top-level value, and for a top-level value that is neither an array nor an object. An empty file or
    an empty array yields nothing (the caller decides whether that is an error).
    """
    for position, value, _text in iter_json_items_with_text(stream, filename=filename, chunk_size=chunk_size):
        yield position, value


def iter_json_items_with_text(
    stream: IO[bytes] | IO[str], *, filename: str, chunk_size: int = CHUNK_CHARS
) -> Iterator[tuple[int, Any, str]]:
    """Like :func:`iter_json_items`, with each item's own JSON text as a third element.

    The text is a slice of the buffer the scanner already holds (a copy of the item, no encoding): it tells
    an importer whether the item's strings had escapes, see :func:`dumps_data`.
    """
    reader = _Reader(stream, filename, chunk_size)
    decoder = strict_decoder()
    first = reader.skip_whitespace()
    if first == "":
        return
    if first == "{":
        value, start = _decode_value(reader, decoder, "the top-level object")
        yield 1, value, reader.buf[start : reader.pos]
    elif first == "[":
        reader.pos += 1
        if reader.skip_whitespace() == "]":
            reader.pos += 1
        else:
            yield from _iter_array_items(reader, decoder)
    else:
        raise reader.error(f"expected a list of tasks '[...]' or one task '{{...}}', found {first!r}")
    if reader.skip_whitespace() != "":
        raise reader.error("unexpected text after the end of the JSON value")


def _iter_array_items(reader: _Reader, decoder: json.JSONDecoder) -> Iterator[tuple[int, Any, str]]:
    """The array loop, with ``reader.pos`` on the first item; yields ``(position, value, text)``.

    The fast path is two C calls per item (the scanner, then one regex for the separator and the next
    item's leading whitespace); anything unusual (a chunk boundary, an error) takes the slow path, which
    refills the buffer and produces the precise error message.
    """
    scan = decoder.scan_once  # type: ignore[attr-defined]  # raw_decode without its Python wrapper
    after_item = _AFTER_ITEM.match
    position = 0
    while True:
        position += 1
        buf = reader.buf
        start = reader.pos
        try:
            value, end = scan(buf, start)
            fast = end < len(buf)  # a number at the buffer's end may go on in the next chunk
        except (StopIteration, ValueError):  # JSONDecodeError, or too many digits: the slow path says which
            fast = False
        if not fast:
            value, start = _decode_value(reader, decoder, f"item {position}")
            buf, end = reader.buf, reader.pos
        text = buf[start:end]
        match = after_item(buf, end)
        if match is not None and match.end() < len(buf):
            reader.pos = match.end()
            is_last = match.group(1) == "]"
        else:
            reader.pos = end
            is_last = _read_separator(reader, position)
        yield position, value, text
        if is_last:
            return


def _read_separator(reader: _Reader, position: int) -> bool:
    """Consume ',' (and the whitespace before the next item) or ']'; True after ']'."""
    sep = reader.skip_whitespace()
    if sep == "]":
        reader.pos += 1
        return True
    if sep == ",":
        reader.pos += 1
        if reader.skip_whitespace() == "":
            raise reader.error(f"the array ends after item {position} and a ',' without ']'")
        return False
    if sep == "":
        raise reader.error(f"the array ends after item {position} without ']'")
    raise reader.error(f"expected ',' or ']' after item {position}, found {sep!r}")


# --- Encoding task data for storage ---------------------------------------------------------------------------
# ``json.dumps`` of each task's data was ~15 % of a 100,000-task import, most of it Python overhead around the C
# encoder (``dumps`` -> ``JSONEncoder.encode`` -> ``iterencode``, which builds a new C encoder per call). One
# prebuilt C encoder with the default settings writes the same text at ~3x the speed; for the commonest data,
# a flat dict of strings whose source text holds no backslash, the text is assembled directly.
_C_ENCODER = (
    c_make_encoder(None, None, encode_basestring_ascii, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)


_C_FINITE_ENCODER = (
    c_make_encoder(None, None, encode_basestring_ascii, None, ": ", ", ", False, False, False)
    if c_make_encoder is not None
    else None
)


def dumps(value: Any) -> str:
    """Exactly ``json.dumps(value)`` (default settings), faster for many small values.

    No circular-reference check: values decoded from JSON cannot be circular.
    """
    if _C_ENCODER is None:
        return json.dumps(value)
    return "".join(_C_ENCODER(value, 0))


def dumps_finite(value: Any) -> str:
    """:func:`dumps`, but ValueError for a float that is not finite instead of writing ``Infinity`` or ``NaN``.

    For what is stored: those words are not JSON, and PostgreSQL's jsonb refuses them. A task file cannot spell
    them (:func:`strict_decoder`), yet a literal beyond a float's range (``1e999``) still decodes to infinity.
    """
    if _C_FINITE_ENCODER is None:
        return json.dumps(value, allow_nan=False)
    return "".join(_C_FINITE_ENCODER(value, 0))


def dumps_data(data: dict[str, Any], source_text: str | None) -> str:
    """JSON text of a task's ``data`` as stored: ``json.dumps(data, ensure_ascii=False)`` or ``json.dumps(data)``.

    ``source_text`` is the JSON text ``data`` (or the item holding it) was decoded from, or None. When it has no
    backslash, none of its strings had an escape, so none needs one: a dict whose values are all strings is then
    written as ``{"key": "value", ...}`` directly, which is what ``json.dumps(data, ensure_ascii=False)`` writes.
    Anything else goes through :func:`dumps_finite` (ValueError for an infinite float). Both forms decode to the
    same value; readers that splice stored text into output (the Label Studio JSON export) treat a text without
    ``\\u`` as already written with ``ensure_ascii=False``, which both forms satisfy.
    """
    if source_text is not None and "\\" not in source_text:
        parts = []
        for key, value in data.items():
            if type(value) is not str:
                return dumps_finite(data)
            parts.append(f'"{key}": "{value}"')
        return "{" + ", ".join(parts) + "}"
    return dumps_finite(data)


def json_type(value: Any) -> str:
    """The JSON type of ``value`` in words, for messages ("a string", "an object" ...): one wording for the
    importers' refusals and the export writers' skipped regions."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null"
