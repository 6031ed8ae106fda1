"""The examples in the metrics docstrings run and give what they show; metrics stays pure."""
from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

METRICS = Path(__file__).resolve().parents[2] / "metrics"
MODULES = sorted(
    ".".join(p.relative_to(METRICS.parent).with_suffix("").parts) for p in METRICS.rglob("*.py") if p.name != "__init__.py"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name):
    result = doctest.testmod(importlib.import_module(name), extraglobs={"pd": pd, "np": np})
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_metrics_imports_no_ui_database_or_io_library(name):
    tree = ast.parse((METRICS.parent / Path(*name.split("."))).with_suffix(".py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"streamlit", "sqlalchemy", "storage", "core", "boto3", "requests"}
