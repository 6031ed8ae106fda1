"""``cli.py config check|sample``: exit codes, one line per problem, never a traceback."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from commands import config as config_command

VALID = ('<View><Image name="img" value="$image"/>'
         '<Choices name="c" toName="img"><Choice value="Cat"/><Choice value="Dog"/></Choices></View>')


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cli.py")
    config_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def write(tmp_path: Path, content: str | bytes, name: str = "c.xml") -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def test_check_valid_config_exits_zero_with_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "check", write(tmp_path, VALID)]) == 0
    out = capsys.readouterr().out
    assert "img (Image)" in out and "c (Choices -> img)" in out and "$image" in out


def test_check_json_output_is_machine_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "check", "--json", write(tmp_path, VALID)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True and payload["variables"] == ["image"]
    assert payload["controls"][0]["labels"] == ["Cat", "Dog"]


def test_check_prints_one_line_per_problem_and_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '<View>\n<Text name="t" value="$t"/>\n<Bogus/>\n'
                           '<RectangleLabels name="r" toName="t"><Label value="a"/></RectangleLabels></View>')
    assert run(["config", "check", path]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:3: unknown tag <Bogus> at line 3")
    assert lines[1].startswith(f'{path}:4: <RectangleLabels name="r"> at line 4 cannot label')


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"\xff\xfe<\x00V\x00", "not UTF-8"),
    (b'<View><Text name="t" value="$t"></View>', "malformed XML at line 1"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><View/>', "unsafe XML"),
])
def test_check_unreadable_input_exits_two_with_a_clear_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str) -> None:
    assert run(["config", "check", write(tmp_path, content)]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err


def test_check_missing_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "check", str(tmp_path / "nope.xml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_sample_prints_task_data_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "sample", write(tmp_path, VALID)]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"image"}
    assert run(["config", "sample", "--task", write(tmp_path, VALID)]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"data"}
