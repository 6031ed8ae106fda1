"""``cli.py aggregate``: CSV in, consensus CSV out, clear errors with exit code 2."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cli import main


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read(path: Path) -> dict[str, str]:
    with open(path, newline="") as fh:
        return {row["task"]: row["label"] for row in csv.DictReader(fh)}


@pytest.mark.parametrize("method", ["majority", "dawid-skene"])
def test_aggregate_writes_one_label_per_task(tmp_path, method):
    labels = write(tmp_path / "l.csv", "task,worker,label\nt1,a,x\nt1,b,x\nt1,c,y\nt2,a,y\nt2,b,y\nt2,c,y\n")
    assert main(["aggregate", str(labels), "--method", method, "--out", str(tmp_path / "o.csv")]) == 0
    assert read(tmp_path / "o.csv") == {"t1": "x", "t2": "y"}


def test_annotator_is_accepted_as_the_worker_column_and_a_tie_gives_an_empty_label(tmp_path):
    labels = write(tmp_path / "l.csv", "task,annotator,label\n1,a,01\n1,b,2\n2,a,01\n")
    assert main(["aggregate", str(labels), "--out", str(tmp_path / "o.csv")]) == 0
    assert read(tmp_path / "o.csv") == {"1": "", "2": "01"}  # labels are kept verbatim


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "empty"), ("task,who,label\n1,a,x\n", "annotator (or worker)"), ("task,worker\n1,a\n", "label"),
     ("task,worker,label\n", "no labels")],
)
def test_bad_input_names_the_file_and_exits_2_without_traceback(tmp_path, capsys, content, message):
    labels = write(tmp_path / "bad.csv", content)
    assert main(["aggregate", str(labels), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and message in err and "Traceback" not in err


def test_a_missing_file_is_reported(tmp_path, capsys):
    assert main(["aggregate", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_help_shows_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["aggregate", "--help"])
    assert "example:" in capsys.readouterr().out
