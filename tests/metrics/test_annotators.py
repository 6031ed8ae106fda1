"""Scores of one annotator against gold: box detections and corpus character accuracy."""
from __future__ import annotations

import math

import pytest

from metrics.annotators import NO_DETECTIONS, box_detections, character_accuracy


def rect(x: float, y: float, w: float, h: float, label: str = "Car", rotation: float = 0) -> dict[str, object]:
    return {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]}


def test_boxes_match_one_to_one_by_label_and_threshold() -> None:
    gold = [rect(0, 0, 10, 10), rect(50, 50, 10, 10)]
    d = box_detections([rect(0, 0, 10, 20), rect(1, 0, 10, 10), rect(50, 50, 10, 10, "Person")], gold)
    # Only one prediction may take the first gold box (the better one, IoU 9/11); the Person box cannot match.
    assert (d.n_matched, d.n_predicted, d.n_gold) == (1, 3, 2)
    assert d.mean_iou == pytest.approx(90 / 110)
    assert (d.precision, d.recall) == (pytest.approx(1 / 3), 0.5)


def test_detections_add_up_over_tasks_and_empty_sides_are_nan_not_zero() -> None:
    total = NO_DETECTIONS + box_detections([rect(0, 0, 10, 10)], [rect(0, 0, 10, 10)]) + box_detections([], [rect(5, 5, 1, 1)])
    assert (total.n_matched, total.n_predicted, total.n_gold, total.precision, total.recall) == (1, 1, 2, 1.0, 0.5)
    assert math.isnan(box_detections([], []).precision) and math.isnan(NO_DETECTIONS.mean_iou)


def test_rotated_boxes_are_compared_as_polygons() -> None:
    d = box_detections([rect(0, 0, 10, 10, rotation=90)], [rect(0, 0, 10, 10)])
    assert d.n_matched == 0  # rotated about its top-left corner, it no longer overlaps the gold box


def test_character_accuracy_is_one_minus_corpus_cer() -> None:
    assert character_accuracy(["abcd", "ef"], ["abcd", "eg"]) == pytest.approx(1 - 1 / 6)
    assert character_accuracy(["abcd", ""], ["abcd", "xy"]) == pytest.approx(1 - 2 / 4)  # insertions count
    assert math.isnan(character_accuracy([""], [""]))
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        character_accuracy(["a", "b"], ["a"])
