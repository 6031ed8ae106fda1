"""Pairwise agreement per tag kind and task agreement over annotations."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from metrics.agreement import (
    AGREEMENT_FUNCTIONS,
    choices_agreement,
    numeric_agreement,
    pairwise_agreement,
    polygon_agreement,
    rating_agreement,
    rectangle_agreement,
    span_agreement,
    tag_agreements,
    task_agreement,
    taxonomy_agreement,
    textarea_agreement,
)


def rect(x, y, w, h, label="Car", rotation=0):
    return {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]}


SAMPLES = {
    "choices": ([{"choices": ["A", "B"]}], [{"choices": ["B"]}]),
    "rectanglelabels": ([rect(10, 10, 20, 20), rect(50, 50, 10, 10)], [rect(12, 10, 20, 20)]),
    "polygonlabels": ([{"points": [[0, 0], [10, 0], [10, 10]], "polygonlabels": ["A"]}],
                      [{"points": [[0, 0], [10, 0], [10, 9]], "polygonlabels": ["A"]}]),
    "labels": ([{"start": 0, "end": 14, "labels": ["T"]}], [{"start": 10, "end": 14, "labels": ["T"]}]),
    "textarea": ([{"text": ["hello world"]}], [{"text": ["hello word"]}]),
    "rating": ([{"rating": 4}], [{"rating": 2}]),
    "number": ([{"number": 1.5}], [{"number": 2.0}]),
    "taxonomy": ([{"taxonomy": [["A", "B"]]}], [{"taxonomy": [["A", "C"]]}]),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_pairwise_score_is_symmetric_and_in_unit_range(kind):
    a, b = SAMPLES[kind]
    ab, ba = pairwise_agreement(kind, a, b), pairwise_agreement(kind, b, a)
    assert ab == pytest.approx(ba)
    assert 0.0 <= ab <= 1.0


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_identical_annotations_score_one_and_both_empty_score_one(kind):
    a, _ = SAMPLES[kind]
    assert pairwise_agreement(kind, a, a) == pytest.approx(1.0)
    assert pairwise_agreement(kind, [], []) == 1.0


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_one_empty_annotation_scores_zero(kind):
    a, _ = SAMPLES[kind]
    assert pairwise_agreement(kind, a, []) == 0.0


def test_every_sampled_kind_is_registered():
    assert set(SAMPLES) <= set(AGREEMENT_FUNCTIONS)


def test_unknown_tag_type_names_the_supported_ones():
    with pytest.raises(ValueError, match="supported: .*choices"):
        pairwise_agreement("brushlabels", [], [])


def test_multi_choice_exact_and_jaccard():
    a, b = SAMPLES["choices"]
    assert choices_agreement(a, b) == 0.0
    assert choices_agreement(a, b, method="jaccard") == 0.5
    assert choices_agreement([{"choices": ["B", "A"]}], a) == 1.0


def test_boxes_match_one_to_one_and_unmatched_boxes_lower_the_score():
    a, b = SAMPLES["rectanglelabels"]
    iou = 18 * 20 / (2 * 400 - 18 * 20)
    assert rectangle_agreement(a, b) == pytest.approx(2 * iou / 3)
    assert rectangle_agreement(a, b, metric="f1") == pytest.approx(2 / 3)


def test_boxes_with_different_labels_never_match():
    assert rectangle_agreement([rect(0, 0, 10, 10, "Car")], [rect(0, 0, 10, 10, "Bus")]) == 0.0


def test_boxes_below_the_iou_threshold_do_not_match():
    a, b = [rect(0, 0, 10, 10)], [rect(6, 0, 10, 10)]
    assert rectangle_agreement(a, b, threshold=0.5) == 0.0
    assert rectangle_agreement(a, b, threshold=0.2) == pytest.approx(4 / 16)


def test_rotated_boxes_are_compared_as_polygons():
    assert rectangle_agreement([rect(10, 10, 20, 10, rotation=90)], [rect(10, 10, 20, 10, rotation=90)]) == pytest.approx(1.0)
    assert rectangle_agreement([rect(10, 10, 20, 10, rotation=90)], [rect(10, 10, 20, 10)]) < 0.5


def test_polygon_iou_of_two_triangles():
    a, b = SAMPLES["polygonlabels"]
    assert polygon_agreement(a, b) == pytest.approx(45 / 50)


def test_span_overlap_f1_counts_characters():
    a, b = SAMPLES["labels"]
    assert span_agreement(a, b) == pytest.approx(2 * 4 / 18)


def test_spans_with_different_labels_do_not_overlap():
    assert span_agreement([{"start": 0, "end": 5, "labels": ["A"]}], [{"start": 0, "end": 5, "labels": ["B"]}]) == 0.0


def test_textarea_aligns_items_and_a_missing_item_scores_zero():
    assert textarea_agreement([{"text": ["abc", "xyz"]}], [{"text": ["abc"]}]) == pytest.approx(0.5)


def test_numbers_and_ratings_use_scaled_distance():
    assert rating_agreement([{"rating": 4}], [{"rating": 2}]) == pytest.approx(0.5)
    assert numeric_agreement([{"number": 1.5}], [{"number": 2.0}], scale=1.0) == pytest.approx(0.5)
    assert numeric_agreement([{"number": 0}], [{"number": 0}]) == 1.0
    assert numeric_agreement([{"number": 1}], [{"number": 9}], scale=2) == 0.0


def test_taxonomy_scores_shared_subtrees():
    assert taxonomy_agreement(*SAMPLES["taxonomy"]) == pytest.approx(1 / 3)
    assert taxonomy_agreement([{"taxonomy": [["A"]]}], [{"taxonomy": [["B"]]}]) == 0.0


def result(name, kind, value):
    return {"from_name": name, "to_name": "image", "type": kind, "value": value}


def test_task_agreement_is_the_mean_of_pairwise_scores_averaged_over_tags():
    pos = [result("s", "choices", {"choices": ["Pos"]}), result("r", "rating", {"rating": 5})]
    neg = [result("s", "choices", {"choices": ["Neg"]}), result("r", "rating", {"rating": 5})]
    annotations = [pos, pos, neg]
    assert tag_agreements(annotations) == {"s": pytest.approx(1 / 3), "r": 1.0}
    assert task_agreement(annotations) == pytest.approx((1 / 3 + 1) / 2)
    assert task_agreement(annotations, weights={"s": 3, "r": 1}) == pytest.approx((1 + 1) / 4)
    assert task_agreement(annotations, weights={"r": 0}) == pytest.approx(1 / 3)


def test_task_agreement_does_not_depend_on_annotation_order():
    pos = [result("s", "choices", {"choices": ["Pos"]})]
    neg = [result("s", "choices", {"choices": ["Neg"]})]
    scores = {task_agreement(list(p)) for p in itertools.permutations([pos, pos, neg])}
    assert len(scores) == 1


def test_a_tag_missing_from_one_annotation_counts_as_empty():
    boxes = [result("box", "rectanglelabels", rect(0, 0, 10, 10))]
    assert task_agreement([boxes, []]) == 0.0
    assert task_agreement([[], []]) != task_agreement([[], []])  # no tags at all -> NaN


def test_task_agreement_needs_two_annotations():
    assert np.isnan(task_agreement([[result("s", "choices", {"choices": ["A"]})]]))


def test_per_tag_options_reach_the_pairwise_function():
    a = [result("box", "rectanglelabels", rect(0, 0, 10, 10))]
    b = [result("box", "rectanglelabels", rect(3, 0, 10, 10))]
    assert task_agreement([a, b], options={"box": {"threshold": 0.75}}) == 0.0
    assert task_agreement([a, b]) > 0.5


def test_malformed_results_are_rejected_with_the_keys_found():
    with pytest.raises(ValueError, match="from_name, type and value"):
        task_agreement([[{"value": {}}], []])
