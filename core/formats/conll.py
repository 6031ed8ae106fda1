"""CoNLL 2003 export (``result.conll``): ``token -X- _ TAG`` lines with B-/I-/O tags.

Tokens come from NLTK's Treebank tokenizer with the punctuation rules label-studio-sdk patches in
(``converter/utils.py``), and tags follow its ``create_tokens_and_tags`` exactly, off-by-one quirks
included, so a model trained on Label Studio's CoNLL sees the same tokens from Quorum.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from core.formats.json_stream import json_type
from core.formats.records import (
    AnnotationRecord,
    UnusableRegion,
    iter_annotation_records,
    label_names,
    skip_region,
)
from core.formats.schema import ExportSchema

DOCSTART = "-DOCSTART- -X- O\n"


# label-studio-sdk patches these into TreebankWordTokenizer globally; we set them on a subclass instead.
_LABEL_STUDIO_PUNCTUATION = [
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.\.\."), r" ... "),
    (re.compile(r"[;@#$/%&]"), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
]


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """Treebank tokenizer with Label Studio's punctuation rules.

    Imported on first use: importing nltk costs seconds and ~200 MB, which every other format (and the
    import path, which shares this package) must not pay.
    """
    from nltk.tokenize.treebank import TreebankWordTokenizer

    class LabelStudioTreebankTokenizer(TreebankWordTokenizer):  # type: ignore[misc]
        PUNCTUATION = _LABEL_STUDIO_PUNCTUATION

    return LabelStudioTreebankTokenizer()


def tokens_and_tags(text: str, spans: list[dict[str, Any]] | None) -> tuple[list[str], list[str]]:
    """Tokenize ``text`` and tag each token B-/I-<label> or O from character ``spans`` (end exclusive)."""
    tokens_and_starts = [(text[start:end], start) for start, end in _tokenizer().span_tokenize(text)]
    if not spans or not all(s.get("start") is not None and s.get("end") is not None for s in spans):
        return [token for token, _ in tokens_and_starts], ["O"] * len(tokens_and_starts)
    pending = sorted(spans, key=lambda s: s["start"])
    span: dict[str, Any] = pending.pop(0)
    span_start, span_end, prefix = span["start"], span["end"] - 1, "B-"
    tokens, tags = [], []
    for token, token_start in tokens_and_starts:
        tokens.append(token)
        token_end = token_start + len(token) - 1
        if token_start > span_end:
            while pending:
                span = pending.pop(0)
                span_start, span_end, prefix = span["start"], span["end"] - 1, "B-"
                if token_start <= span_end:
                    break
        if not span or token_end < span_start or not span.get("labels"):
            tags.append("O")
        elif span_start <= token_end and span_end >= token_start:
            tags.append(prefix + span["labels"][0])
            prefix = "I-"
        else:
            tags.append("O")
    return tokens, tags


def _usable_spans(record: AnnotationRecord, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans :func:`tokens_and_tags` can tag with: a ``start``/``end`` that is not a number, or ``labels``
    that are not a list of label names, leave the span out (logged). A missing or null ``start``/``end`` is
    kept: as in Label Studio, it leaves every token of the annotation ``O``. A span past the text is kept too
    (it tags up to the last token), whatever the size of its offsets (they are only compared)."""
    usable = []
    for span in spans:
        try:
            for key in ("start", "end"):
                offset = span.get(key)
                if offset is not None and (isinstance(offset, bool) or not isinstance(offset, (int, float))):
                    raise UnusableRegion(key, f"must be a character offset (a number), found {json_type(offset)}")
            label_names(span, "labels")
        except UnusableRegion as problem:
            skip_region("CONLL2003", record, span, problem)
            continue
        usable.append(span)
    return usable


def write_conll(tasks: Iterable[dict[str, Any]], out: IO[str], *, schema: ExportSchema) -> int:
    """Write CoNLL 2003 for the config's single text data key; return the number of sentences (annotations)."""
    data_key = schema.data_keys[0]
    out.write(DOCSTART)
    count = 0
    for record in iter_annotation_records(tasks, schema):
        span_lists = [values for values in record.outputs.values() if values and str(values[0].get("type", "")).lower() == "labels"]
        spans = _usable_spans(record, span_lists[0]) if span_lists else None
        tokens, tags = tokens_and_tags(str(record.data.get(data_key, "")), spans)
        out.writelines(f"{token} -X- _ {tag}\n" for token, tag in zip(tokens, tags))
        out.write("\n")
        count += 1
    return count


def export_conll(tasks: Iterable[dict[str, Any]], out_dir: Path, *, schema: ExportSchema) -> list[Path]:
    """Write ``out_dir/result.conll``; return the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "result.conll"
    with path.open("w", encoding="utf-8") as out:
        write_conll(tasks, out, schema=schema)
    return [path]
