"""Box fusion: clusters across annotators, a quorum, mean/median fused boxes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.consensus import fuse_boxes
from metrics.consensus.boxes import required_votes

CARS = {1: (10, 10), 2: (40, 10), 3: (70, 10), 4: (10, 60)}


def boxes(seen: dict[str, list[int]], jitter: float = 0.5) -> pd.DataFrame:
    rows = []
    for k, (name, cars) in enumerate(seen.items()):
        if not cars:
            rows.append({"task": "img", "annotator": name, "label": None, "x": np.nan, "y": np.nan, "width": np.nan, "height": np.nan})
        for car in cars:
            x, y = CARS[car]
            rows.append({"task": "img", "annotator": name, "label": "Car", "x": x + jitter * k, "y": y, "width": 20, "height": 20})
    return pd.DataFrame(rows)


def test_three_people_who_each_missed_different_cars_give_all_cars_at_quorum_one():
    df = boxes({"a": [1, 2, 3], "b": [1, 2, 4], "c": [1, 3, 4]})
    assert len(fuse_boxes(df, quorum=1)) == 4


def test_a_quorum_of_two_keeps_only_the_cars_two_people_agree_on():
    df = boxes({"a": [1, 2], "b": [1, 3], "c": [1, 4]})
    fused = fuse_boxes(df, quorum=2)
    assert fused[["x", "y"]].values.tolist() == [[10.5, 10.0]]  # car 1: mean of x = 10, 10.5, 11
    assert fused["support"].tolist() == [3]
    assert len(fuse_boxes(df, quorum=1)) == 4


def test_the_worked_example_fuses_to_the_published_means_and_medians():
    # quality-references.md section 4, boxes x1,y1,x2,y2 in [0, 1]
    raw = {"A": [[.10, .10, .40, .50], [.60, .60, .90, .90]],
           "B": [[.12, .08, .42, .52], [.58, .62, .88, .93], [.05, .70, .15, .80]],
           "C": [[.09, .12, .38, .47]]}
    rows = [{"task": 1, "annotator": a, "label": "obj", "x": b[0], "y": b[1], "width": b[2] - b[0], "height": b[3] - b[1]}
            for a, bs in raw.items() for b in bs]
    fused = fuse_boxes(pd.DataFrame(rows), quorum=2)
    assert len(fused) == 2
    corners = np.c_[fused[["x", "y"]], fused["x"] + fused["width"], fused["y"] + fused["height"]]
    np.testing.assert_allclose(corners[0], [.1033, .1000, .4000, .4967], atol=1e-4)
    np.testing.assert_allclose(corners[1], [.59, .61, .89, .915], atol=1e-9)
    median = fuse_boxes(pd.DataFrame(rows), quorum=2, method="median")
    np.testing.assert_allclose(median.loc[0, ["x", "y"]].astype(float), [.10, .10], atol=1e-9)
    assert len(fuse_boxes(pd.DataFrame(rows), quorum=1)) == 3


def test_one_annotator_never_contributes_two_boxes_to_one_cluster():
    df = pd.DataFrame({"task": 1, "annotator": ["a", "a", "b"], "label": "Car",
                       "x": [0, 1, 0.5], "y": 0, "width": 10, "height": 10})
    fused = fuse_boxes(df, quorum=1)
    assert len(fused) == 2 and fused["support"].max() == 2


def test_boxes_with_different_labels_are_different_objects():
    df = pd.DataFrame({"task": 1, "annotator": ["a", "b"], "label": ["Car", "Bus"], "x": 0, "y": 0, "width": 10, "height": 10})
    assert len(fuse_boxes(df, quorum=2)) == 0


def test_a_fractional_quorum_counts_annotators_who_drew_nothing():
    df = boxes({"a": [1], "b": [], "c": []})
    assert len(fuse_boxes(df, quorum=0.5)) == 0  # 1 of 3 is below half
    assert len(fuse_boxes(df[df["annotator"] == "a"], quorum=0.5)) == 1


def test_clusters_are_complete_linkage():
    # a-b and b-c overlap enough, a-c do not: a chain is not one object.
    df = pd.DataFrame({"task": 1, "annotator": ["a", "b", "c"], "label": "Car", "x": [0, 3, 6], "y": 0, "width": 10, "height": 10})
    assert fuse_boxes(df, quorum=1, iou_threshold=0.5)["support"].max() == 2


def test_empty_input_gives_an_empty_frame_with_the_columns():
    empty = fuse_boxes(pd.DataFrame(columns=["task", "annotator", "label", "x", "y", "width", "height"]))
    assert empty.empty and "support" in empty.columns


def test_missing_box_columns_are_named():
    with pytest.raises(ValueError, match="width"):
        fuse_boxes(pd.DataFrame(columns=["task", "annotator", "label", "x", "y", "height"]))


def test_quorum_validation():
    assert required_votes(0.5, 3) == 2 and required_votes(0.5, 2) == 1 and required_votes(2, 5) == 2
    with pytest.raises(ValueError):
        required_votes(0, 3)
    with pytest.raises(ValueError):
        required_votes(1.5, 3)
