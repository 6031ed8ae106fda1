"""Very large files and binary files given as task files.

A file of 1 GB is never written: :class:`LazyFile` makes its bytes on demand and counts how many were read, so
the tests see whether a file streams (a few chunks read for the first tasks), is refused by its size before a
byte is read (an upload above the limit), or is refused as soon as one line or item is too long to hold.
"""
from __future__ import annotations

import io
import tomllib
from itertools import islice
from pathlib import Path

import pytest

from core.errors import ImportFormatError
from core.formats import json_stream, readers
from core.formats.readers import iter_task_records
from core.import_preview import preview_upload
from core.imports import MAX_UPLOAD_MB, import_tasks_file, import_upload
from core.uow import UowFactory
from core.users import UserInfo
from storage.blobs import LocalBlobStore
from tests.core.helpers import make_project, make_user
from tests.fuzz.harness import BINARY_FILES, BINARY_KINDS, no_hang

pytestmark = pytest.mark.fuzz

GB = 1 << 30
MB = 1 << 20
REPO = Path(__file__).resolve().parents[2]


class LazyFile(io.RawIOBase):
    """``size`` bytes, ``head`` then ``pattern`` repeated, made as they are read (seekable, like an upload)."""

    def __init__(self, size: int, pattern: bytes, head: bytes = b"") -> None:
        super().__init__()
        self.size, self.pattern, self.head = size, pattern, head
        self.position = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.position)
        if n <= 0:
            return 0
        buffer[:n] = self._bytes(self.position, n)
        self.position += n
        self.bytes_read += n
        return n

    def _bytes(self, start: int, n: int) -> bytes:
        head = self.head[start : start + n]
        rest = n - len(head)
        offset = (start + len(head) - len(self.head)) % len(self.pattern)
        repeated = self.pattern * (rest // len(self.pattern) + 2)
        return head + repeated[offset : offset + rest]


# --- streaming: the first tasks of a 1 GB file come after reading a few chunks ----------------------------
STREAMING_FILES = {
    "big.json": (b'{"text": "a task of a very large file"},\n', b"[\n"),
    "big.jsonl": (b'{"text": "a task of a very large file"}\n', b""),
    "big.csv": (b'"a task of a very large file",7\n', b"text,stars\n"),
    "big.tsv": (b"a task of a very large file\t7\n", b"text\tstars\n"),
    "big.txt": (b"a task of a very large file\n", b""),
}


@pytest.mark.parametrize("filename", sorted(STREAMING_FILES))
def test_a_1_gb_task_file_streams(filename: str) -> None:
    pattern, head = STREAMING_FILES[filename]
    big = LazyFile(GB, pattern, head)
    with no_hang():
        first = list(islice(iter_task_records(big, filename=filename), 20_000))
    assert len(first) == 20_000 and first[-1].data["text"] == "a task of a very large file"
    assert big.bytes_read <= 4 * MB, f"read {big.bytes_read} bytes for the first 20,000 tasks"


# --- one line or one item too long to hold: refused once it is, not after reading the whole file ----------
@pytest.mark.parametrize("filename", ["huge.txt", "huge.csv", "huge.tsv", "huge.jsonl"])
def test_a_1_gb_file_without_a_newline_is_refused_once_a_line_is_too_long(
    filename: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_CHARS", 3 * MB)  # the real limit (256 M) works alike, more slowly
    big = LazyFile(GB, b"x", b"text\n" if filename.endswith("sv") else b"")
    with no_hang(), pytest.raises(ImportFormatError) as refused:
        list(iter_task_records(big, filename=filename))
    line = 2 if filename.endswith("sv") else 1
    assert str(refused.value).startswith(f"{filename}: line {line} is longer than 3,145,728 characters")
    assert big.bytes_read <= 6 * MB


@pytest.mark.parametrize("head", [b'[{"text": "', b'{"text": "', b'[{"text": ["'])
def test_a_1_gb_json_item_is_refused_once_it_is_too_large(head: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_stream, "MAX_ITEM_CHARS", 3 * MB)
    big = LazyFile(GB, b"y", head)
    with no_hang(), pytest.raises(ImportFormatError, match=r"^huge\.json: .* is longer than 3,145,728 characters"):
        list(iter_task_records(big, filename="huge.json"))
    assert big.bytes_read <= 6 * MB


def test_a_long_line_is_read_in_linear_time() -> None:
    """A 64 MB line (under the limit) used to be joined chunk by chunk: quadratic, seconds; now one join."""
    big = LazyFile(64 * MB, b"z", b"")
    with no_hang(5):
        [record] = list(iter_task_records(big, filename="long.txt"))
    assert len(record.data["text"]) == 64 * MB


# --- the upload limit: refused by size before a byte is read ----------------------------------------------
def test_the_upload_limit_is_streamlits_max_upload_size() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB


@pytest.fixture
def project(make_uow: UowFactory) -> tuple[UserInfo, int]:
    admin = make_user(make_uow, "admin", admin=True)
    return admin, make_project(make_uow, admin).id


@pytest.mark.parametrize("filename", ["huge.json", "huge.csv", "huge.png"])
def test_an_upload_over_the_limit_is_refused_by_its_size_before_it_is_read(
    make_uow: UowFactory, project: tuple[UserInfo, int], filename: str, tmp_path: Path
) -> None:
    admin, project_id = project
    big = LazyFile((MAX_UPLOAD_MB << 20) + 1, b'{"text": "a"}\n')
    with make_uow() as uow:
        preview = preview_upload(uow, admin, project_id=project_id, stream=big, filename=filename)
    assert preview.error is not None and preview.error.startswith(f"{filename} is 1,024 MB; an upload may be at "
                                                                  f"most {MAX_UPLOAD_MB:,} MB")
    with make_uow() as uow, pytest.raises(ImportFormatError, match=rf"^{filename} is 1,024 MB; .* at most 1,024 MB"):
        import_upload(uow, admin, project_id=project_id, stream=big, filename=filename,
                      blob_store=LocalBlobStore(tmp_path / "blobs"))
    assert big.bytes_read == 0


# --- binary files given as task files, through the whole import -------------------------------------------


@pytest.mark.parametrize("kind", sorted(BINARY_FILES))
@pytest.mark.parametrize("filename", ["tasks.json", "tasks.csv"])
def test_a_binary_file_given_as_a_task_file_is_refused_naming_the_file_and_what_it_is(
    make_uow: UowFactory, project: tuple[UserInfo, int], kind: str, filename: str
) -> None:
    admin, project_id = project
    payload = BINARY_FILES[kind]
    with make_uow() as uow:
        preview = preview_upload(uow, admin, project_id=project_id, stream=io.BytesIO(payload), filename=filename)
    messages = [preview.error or ""]
    for skip_invalid in (False, True):
        with make_uow() as uow, pytest.raises(ImportFormatError) as refused:
            import_tasks_file(uow, admin, project_id=project_id, stream=io.BytesIO(payload), filename=filename,
                              skip_invalid=skip_invalid)
        messages.append(str(refused.value))
    for message in messages:
        assert message.startswith(f"{filename}: this is {BINARY_KINDS[kind]}"), message
        assert "not a file of tasks" in message, message
