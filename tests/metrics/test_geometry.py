"""Geometry: IoU of boxes and polygons, Hungarian matching with labels and a threshold."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.geometry import (
    as_polygon,
    box_iou_matrix,
    match_regions,
    polygon_iou_matrix,
    rectangle_polygon,
    span_overlap_matrix,
)

# quality-references.md section 4 worked example, converted from x1,y1,x2,y2 to x,y,w,h
A = np.array([[0.10, 0.10, 0.30, 0.40], [0.60, 0.60, 0.30, 0.30]])
B = np.array([[0.12, 0.08, 0.30, 0.44], [0.58, 0.62, 0.30, 0.31], [0.05, 0.70, 0.10, 0.10]])
C = np.array([[0.09, 0.12, 0.29, 0.35]])


def test_box_iou_matches_the_worked_example():
    assert box_iou_matrix(A, B)[0, 0] == pytest.approx(0.8000, abs=1e-4)
    assert box_iou_matrix(A, B)[1, 1] == pytest.approx(0.7495, abs=1e-4)
    assert box_iou_matrix(A, C)[0, 0] == pytest.approx(0.7935, abs=1e-4)
    assert box_iou_matrix(B, C)[0, 0] == pytest.approx(0.6386, abs=1e-4)


def test_box_iou_is_symmetric_and_one_on_itself():
    m = box_iou_matrix(A, B)
    np.testing.assert_allclose(m, box_iou_matrix(B, A).T)
    np.testing.assert_allclose(np.diag(box_iou_matrix(B, B)), 1.0)


def test_disjoint_and_zero_area_boxes_have_iou_zero():
    assert box_iou_matrix([[0, 0, 1, 1]], [[5, 5, 1, 1]])[0, 0] == 0
    assert box_iou_matrix([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0


def test_box_iou_is_unchanged_by_scaling_each_axis():
    scale = np.array([3.0, 0.5, 3.0, 0.5])
    np.testing.assert_allclose(box_iou_matrix(A * scale, B * scale), box_iou_matrix(A, B))


def test_polygon_iou_of_an_unrotated_rectangle_equals_box_iou():
    pa = [rectangle_polygon(*box) for box in A]
    pb = [rectangle_polygon(*box) for box in B]
    np.testing.assert_allclose(polygon_iou_matrix(pa, pb), box_iou_matrix(A, B), atol=1e-12)


def test_a_rectangle_rotated_by_90_degrees_turns_about_its_top_left_corner():
    poly = rectangle_polygon(10, 10, 20, 10, 90)
    np.testing.assert_allclose(poly.bounds, (0, 10, 10, 30), atol=1e-9)


def test_a_self_intersecting_polygon_is_repaired():
    bowtie = as_polygon([[0, 0], [10, 10], [10, 0], [0, 10]])
    assert bowtie.is_valid and bowtie.area == pytest.approx(50)


def test_span_overlap_uses_exclusive_ends():
    assert span_overlap_matrix([[0, 5]], [[5, 9]])[0, 0] == 0
    assert span_overlap_matrix([[0, 5]], [[3, 9]])[0, 0] == 2


def test_matching_is_one_to_one_and_maximises_total_iou():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    rows, cols, scores = match_regions(sim, threshold=0.5)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]  # 1.65 beats 0.9 + 0.1
    assert scores.sum() == pytest.approx(1.65)


def test_only_same_label_regions_match():
    rows, _, _ = match_regions(np.array([[0.9]]), labels_a=["Car"], labels_b=["Bus"])
    assert len(rows) == 0


def test_pairs_below_the_threshold_are_not_matched():
    rows, _, _ = match_regions(np.array([[0.4]]), threshold=0.5)
    assert len(rows) == 0
