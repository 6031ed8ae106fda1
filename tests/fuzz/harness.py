"""Shared pieces of the fuzz tests: the Hypothesis profiles, a hang guard, and input strategies.

Profiles (chosen with ``QUORUM_FUZZ_PROFILE``):

* ``ci`` (default): derandomized (the same examples on every run and machine), no example database (nothing
  written to ``.hypothesis/``), a modest ``max_examples`` so the whole fuzz set stays under a minute on 2 cores;
* ``dev``: random, ten times the examples, for a longer local hunt (``QUORUM_FUZZ_PROFILE=dev pytest tests/fuzz``);
  a failure prints the ``@reproduce_failure`` blob to replay it (no example database either).

Every example also runs under :func:`no_hang`: Hypothesis' ``deadline`` only judges an example after it
returns, so a real hang would stall the run instead of failing it.
"""
from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_COMMON = dict(
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("quorum-fuzz-ci", max_examples=150, derandomize=True, database=None, **_COMMON)
settings.register_profile("quorum-fuzz-dev", max_examples=1500, database=None, **_COMMON)

PROFILE = "quorum-fuzz-" + os.environ.get("QUORUM_FUZZ_PROFILE", "ci")
FUZZ = settings.get_profile(PROFILE)
"""Decorate each fuzz test with ``@FUZZ`` (or ``@settings(FUZZ, max_examples=...)``)."""
DB_FUZZ = settings(
    FUZZ,
    max_examples=max(FUZZ.max_examples // 3, 1),
    suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture],
)
"""For tests taking the database fixtures: every example runs in its own units of work, rolled back (so the
fixture's database is the same for each: the function-scoped fixture is meant). A third of the examples: each
costs three imports, on SQLite and on PostgreSQL."""

HANG_SECONDS = 10


class Hang(AssertionError):
    """An example ran longer than :data:`HANG_SECONDS`: the code under test hangs (or is quadratic)."""


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Fail (rather than stall) an example that runs longer than ``seconds`` (SIGALRM; main thread only)."""

    def alarm(_signum: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- JSON values ------------------------------------------------------------------------------------------
INTERESTING_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\ufeff", "\u2028", "\r\n", "\t", "é", "日本", "😀", "\\",
    '"', "$", "${x}", "<", "&amp;", "\x1b[31m", "a" * 300,
])
TEXT = st.one_of(st.text(max_size=20), INTERESTING_TEXT)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)


def encode(value: Any) -> bytes:
    """JSON bytes as a file would hold them (NaN and Infinity written as Python writes them)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# --- byte-level mutation ----------------------------------------------------------------------------------
TOKENS = [
    b'"', b",", b"[", b"]", b"{", b"}", b":", b"\\", b"\n", b"\r", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3",
    b"NaN", b"-Infinity", b"1e999", b"9" * 4400, b'"\\ud800"', b'"\\u0000"', b"null", b'"data"',
    b'"annotations"', b'"predictions"', b"\t", b";", b"|",
]


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """``base`` bytes with up to five edits: a token inserted, a byte flipped, a slice cut, doubled, or the end
    cut off: structured input that is almost right, which is where parsers break."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, 5))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "flip", "cut", "double", "truncate"]))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "double":
            data[at:at] = data[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


CELLS = st.one_of(TEXT, st.sampled_from(['"', '""', '"a,b"', "a\nb", '"a\nb"', ",", ";", "\t", "|", " "]))


@st.composite
def delimited(draw: st.DrawFn, delimiter: str | None = None) -> bytes:
    """Rows of cells joined by a delimiter (drawn when not given): a CSV or TSV body, quotes and all."""
    sep = delimiter or draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width + 1), min_size=1, max_size=5))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(sep.join(row) for row in rows).encode("utf-8", "surrogatepass")


GARBAGE = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
"""Arbitrary bytes and arbitrary text (lone surrogates written as CESU bytes, which UTF-8 refuses)."""

# --- binary files given as task files ---------------------------------------------------------------------
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\xa5\xf5\xb9\xa9\x00\x00\x00\x00IEND\xaeB`\x82"
)


def zip_bytes() -> bytes:
    """A real zip archive holding a JSON task file (what a careless upload of a compressed export looks like)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tasks.json", json.dumps([{"text": f"task {n}"} for n in range(50)]))
    return buffer.getvalue()


def gzip_bytes() -> bytes:
    import gzip

    return gzip.compress(json.dumps([{"text": "a"}]).encode())


BINARY_FILES = {"png": PNG_BYTES, "zip": zip_bytes(), "gzip": gzip_bytes(), "random": bytes(range(256)) * 4}
BINARY_KINDS = {"png": "a PNG image", "zip": "a zip archive", "gzip": "gzip-compressed data",
                "random": "binary data (a NUL byte at byte 0)"}
"""What the refusal of each of BINARY_FILES calls it."""
