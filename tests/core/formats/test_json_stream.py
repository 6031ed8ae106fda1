"""The incremental JSON decoder: items one by one, exact error positions, memory bounded by one item."""
from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

from core.errors import ImportFormatError
from core.formats.json_stream import iter_json_items


def items(text: str | bytes, chunk_size: int = 1 << 20) -> list[tuple[int, object]]:
    raw = text.encode() if isinstance(text, str) else text
    return list(iter_json_items(io.BytesIO(raw), filename="f.json", chunk_size=chunk_size))


def test_array_items_come_with_their_1_based_position() -> None:
    assert items('[{"a": 1}, {"b": 2}]') == [(1, {"a": 1}), (2, {"b": 2})]


def test_a_top_level_object_is_one_item() -> None:
    assert items('  {"data": {"x": 1}} \n') == [(1, {"data": {"x": 1}})]


def test_empty_array_and_empty_file_yield_nothing() -> None:
    assert items("[ ]") == []
    assert items("   \n") == []


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64])
def test_items_cut_by_chunk_boundaries_decode_whole(chunk_size: int) -> None:
    values = [{"text": "é" * 5, "n": 123456789, "f": -1.5e10, "l": [True, None, "a\\\"b"]}, 987654321, "s"]
    assert [v for _, v in items(json.dumps(values, indent=1), chunk_size)] == values


def test_a_huge_item_decodes_with_small_chunks() -> None:
    big = {"text": "x" * 200_000, "nested": [list(range(100))] * 50}
    assert items(json.dumps([big, {"a": 1}]), chunk_size=16)[0][1] == big


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert items(b"\xef\xbb\xbf[{\"a\": 1}]") == [(1, {"a": 1})]


def test_syntax_error_names_the_file_line_column_and_item() -> None:
    text = '[\n  {"a": 1},\n  {"b": 2,,}\n]'
    with pytest.raises(ImportFormatError, match=r"f\.json: invalid JSON at line 3, column 11: .*item 2"):
        items(text, chunk_size=4)


def test_syntax_error_position_is_exact_after_many_chunks() -> None:
    good = "".join(f'{{"i": {i}}},\n' for i in range(1000))
    with pytest.raises(ImportFormatError, match=r"line 1001, column 7"):
        items("[" + good + '{"i": x}]', chunk_size=100)


def test_missing_closing_bracket_is_reported() -> None:
    with pytest.raises(ImportFormatError, match=r"ends after item 1 without '\]'"):
        items('[{"a": 1}')


def test_text_after_the_array_is_reported() -> None:
    with pytest.raises(ImportFormatError, match=r"unexpected text after the end"):
        items('[{"a": 1}] {"b": 2}')


def test_a_top_level_scalar_is_refused() -> None:
    with pytest.raises(ImportFormatError, match=r"expected a list of tasks"):
        items('"hello"')


def test_bytes_that_are_not_utf8_are_reported_with_line_and_byte() -> None:
    with pytest.raises(ImportFormatError, match=r"not UTF-8 text at byte 12 \(line 2\)"):
        items('[{"a": 1},\n"'.encode() + "é".encode("latin-1") + b'"]')


def test_200k_tasks_stream_in_memory_that_does_not_grow_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    task = '{"data": {"text": "the quick brown fox %d"}, "annotations": []}'
    with path.open("w") as out:
        out.write("[\n" + ",\n".join(task % i for i in range(200_000)) + "\n]")
    assert path.stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for _ in iter_json_items(stream, filename="big.json"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    # One 1 MiB chunk as bytes and as text, plus the item: far below the 13 MB file.
    assert peak < 8_000_000, f"peak {peak} bytes"
