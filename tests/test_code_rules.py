"""The code rules, enforced with the suite (so by ``scripts/test.sh`` and CI), not only written down.

* ``ruff check .`` with ``ruff.toml``: pyflakes and the pycodestyle error classes (unused imports,
  undefined names, ...);
* the layer contracts of ``.importlinter``: the pages (``views``) never import storage, core never
  imports streamlit, metrics imports neither core nor storage, ``core.config`` imports no storage;
* ``mypy --strict`` on the targets ``mypy.ini`` lists (``metrics``, ``core/config``).

Each runs as its own process in the repository root and the test fails with the tool's report.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300

CHECKS = {
    "ruff": [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
    "import contracts": [
        sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())",
    ],
    "mypy --strict": [sys.executable, "-m", "mypy"],  # targets, strictness and cache dir: mypy.ini
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_code_rules_hold(name: str) -> None:
    proc = subprocess.run(CHECKS[name], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    report = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        pytest.fail(f"{name} failed (exit {proc.returncode}):\n{report}", pytrace=False)

