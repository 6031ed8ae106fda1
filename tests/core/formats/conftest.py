"""Fixtures for the format tests: hand-made schemas and task dicts, so no test needs ../shared/."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec
from tests.conftest import shared_path


def shared_file(name: str) -> Path:
    """A file of ../shared/ls-examples/; the test fails, saying so, when the shared data is absent."""
    return shared_path("ls-examples", name)


def image_schema(*, keypoints: bool = False) -> ExportSchema:
    controls = [
        ControlSpec("box", "RectangleLabels", ("img",), ("Car", "Airplane")),
        ControlSpec("poly", "PolygonLabels", ("img",), ("Car", "Airplane")),
    ]
    if keypoints:
        controls.append(
            ControlSpec(
                "kp", "KeyPointLabels", ("img",), ("nose", "eye"),
                {"nose": {"model_index": "0"}, "eye": {"model_index": "1"}},
            )
        )
    return ExportSchema(controls=tuple(controls), objects=(ObjectSpec("img", "Image", "image"),))


def box(x: float, y: float, w: float, h: float, label: str, *, rotation: float = 0, region: str = "r1",
        size: tuple[int, int] = (200, 100), from_name: str = "box") -> dict[str, Any]:
    return {
        "id": region, "from_name": from_name, "to_name": "img", "type": "rectanglelabels",
        "original_width": size[0], "original_height": size[1],
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]},
    }


def image_task(task_id: int, url: str, *results: dict[str, Any], annotation_id: int = 1,
               created_at: str = "2024-01-01T00:00:00Z", completed_by: Any = 7) -> dict[str, Any]:
    return {
        "id": task_id,
        "data": {"image": url},
        "annotations": [{
            "id": annotation_id, "completed_by": completed_by, "result": list(results), "was_cancelled": False,
            "ground_truth": False, "created_at": created_at, "updated_at": created_at, "lead_time": 3.5,
        }],
        "predictions": [],
    }


@pytest.fixture
def images() -> ExportSchema:
    return image_schema()
