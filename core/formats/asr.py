"""ASR manifest export (NVIDIA NeMo): ``manifest.json``, one JSON object per line.

Each line is ``{"audio_filepath": "audio/<file>", "duration": seconds, "text": transcript, "annotator": ...}``
as label-studio-sdk writes it. Label Studio downloads each audio file to measure its duration; Quorum does
not download, so the duration is the results' ``original_length`` (Label Studio stores it with audio
regions), else that of a local WAV file at the task's path, else null.
"""
from __future__ import annotations

import json
import os
import posixpath
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlparse

from core.formats.records import AnnotationRecord, annotator_of, iter_annotation_records
from core.formats.schema import ExportSchema

AUDIO_DIR = "audio"


def _duration_s(record: AnnotationRecord, audio_url: str) -> float | None:
    for values in record.outputs.values():
        for value in values:
            length = value.get("original_length")
            if isinstance(length, (int, float)) and not isinstance(length, bool):
                try:
                    return float(length)
                except OverflowError:  # an integer past the float range is no duration: look further
                    continue
    if audio_url.lower().endswith(".wav") and os.path.isfile(audio_url):
        try:
            with wave.open(audio_url, "rb") as audio:
                return audio.getnframes() / float(audio.getframerate())
        except (wave.Error, OSError, ZeroDivisionError):
            return None
    return None


def audio_file_name(url: str) -> str:
    """The audio file's name in a task URL: the last path segment, or for Label Studio's local-files URLs
    (``/data/local-files/?d=audio/01.wav``), whose path names no file, that of the ``d`` parameter."""
    parsed = urlparse(url)
    name = posixpath.basename(parsed.path)
    if not name:
        served = parse_qs(parsed.query).get("d")
        name = posixpath.basename(served[0]) if served else ""
    return name


def _transcript(record: AnnotationRecord) -> str | None:
    for values in record.outputs.values():
        if values and values[0].get("text"):
            text = values[0]["text"]
            return str(text[0] if isinstance(text, list) else text)
    return None


def write_asr_manifest(tasks: Iterable[dict[str, Any]], out: IO[str], *, schema: ExportSchema) -> int:
    """Write one manifest line per annotation that has a transcript; return the number of lines."""
    data_key = schema.data_keys[0]
    count = 0
    for record in iter_annotation_records(tasks, schema, extra_keys=("original_length",)):
        text = _transcript(record)
        if text is None:
            continue  # Label Studio has no transcript to write either
        audio_url = str(record.data.get(data_key, ""))
        line = {
            "audio_filepath": posixpath.join(AUDIO_DIR, audio_file_name(audio_url)),
            "duration": _duration_s(record, audio_url),
            "text": text,
            "annotator": annotator_of(record, ""),
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_asr_manifest(tasks: Iterable[dict[str, Any]], out_dir: Path, *, schema: ExportSchema) -> list[Path]:
    """Write ``out_dir/manifest.json``; return the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "manifest.json"
    with path.open("w", encoding="utf-8") as out:
        write_asr_manifest(tasks, out, schema=schema)
    return [path]
