"""Coverage-guided fuzzing (atheris, libFuzzer) of the same targets as the Hypothesis tests, for long local runs.

Not collected by pytest (CI runs the derandomized Hypothesis profile instead). Run, for example::

    .venv/bin/python tests/fuzz/atheris_fuzz.py readers -max_total_time=300
    .venv/bin/python tests/fuzz/atheris_fuzz.py config -max_total_time=300 -dict=...

A crash prints the input and writes it to ``crash-<sha1>``: replay it with the same command and the file as the
last argument, then add it to the Hypothesis test as an ``@example``. Targets: ``readers`` (the first byte picks
the file type, the rest is the file), ``export`` (the converter's reader), ``config`` (the labeling-config parser).
"""
from __future__ import annotations

import io
import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports():
    from core.config import check_task_data, config_warnings, parse_config, validate_config
    from core.errors import ConfigError, ImportFormatError
    from core.formats.readers import iter_task_dicts, iter_task_records

TASK_FILE_NAMES = ("tasks.json", "tasks.jsonl", "tasks.csv", "tasks.tsv", "tasks.txt")


def fuzz_readers(data: bytes) -> None:
    if not data:
        return
    filename = TASK_FILE_NAMES[data[0] % len(TASK_FILE_NAMES)]
    for lenient in (False, True):
        try:
            for _ in iter_task_records(io.BytesIO(data[1:]), filename=filename,
                                       on_row_error=(lambda _e: None) if lenient else None):
                pass
        except ImportFormatError as exc:
            assert filename in str(exc), str(exc)


def fuzz_export(data: bytes) -> None:
    filename = "export.jsonl" if data[:1] == b"\n" else "export.json"
    try:
        for task in iter_task_dicts(io.BytesIO(data), filename=filename):
            assert isinstance(task["data"], dict)
    except ImportFormatError as exc:
        assert filename in str(exc), str(exc)


def fuzz_config(data: bytes) -> None:
    xml = atheris.FuzzedDataProvider(data).ConsumeUnicode(len(data))  # may hold lone surrogates: on purpose
    try:
        validate_config(xml)
    except ConfigError:
        pass
    try:
        cfg = parse_config(xml)
    except ConfigError:
        return
    config_warnings(cfg)
    check_task_data(cfg, {"text": "a", "a": {"b": [1]}})


TARGETS: dict[str, Callable[[bytes], None]] = {"readers": fuzz_readers, "export": fuzz_export, "config": fuzz_config}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
