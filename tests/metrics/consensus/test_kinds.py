"""Consensus of keypoints, polygons, intervals, rankings and relations over plain lists."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.consensus import borda_ranking, cluster_keypoints, vote_intervals, vote_polygons, vote_relations

rng = np.random.default_rng


# --- keypoints ------------------------------------------------------------------------------------
TRUE_POINTS = [("Eye", 20.0, 30.0), ("Eye", 40.0, 30.0), ("Nose", 30.0, 45.0), ("Mouth", 30.0, 60.0)]


def test_keypoint_consensus_recovers_planted_points_from_noisy_annotators():
    gen = rng(7)
    annotators = []
    for k in range(5):
        points = [(lab, x + gen.normal(0, 0.4), y + gen.normal(0, 0.4)) for lab, x, y in TRUE_POINTS]
        if k == 1:
            points.pop(2)  # one annotator missed the nose
        if k == 3:
            points.append(("Eye", 80.0, 80.0))  # one annotator clicked a spurious eye
        annotators.append(points)
    fused = cluster_keypoints(annotators)  # quorum 0.5 of 5: 3 votes
    assert sorted(p[0] for p in fused) == sorted(p[0] for p in TRUE_POINTS)
    for label, x, y in TRUE_POINTS:
        (match,) = [p for p in fused if p[0] == label and abs(p[1] - x) < 1]
        assert match[1] == pytest.approx(x, abs=0.5) and match[2] == pytest.approx(y, abs=0.5)


def test_keypoint_consensus_is_the_mean_and_needs_the_quorum():
    per = [[("Eye", 10, 10)], [("Eye", 11, 10)], [("Eye", 12, 10)], []]
    assert cluster_keypoints(per) == [("Eye", 11.0, 10.0)]
    assert cluster_keypoints(per, quorum=4) == []
    assert cluster_keypoints([[("Eye", 10, 10)], [], []]) == []  # 1 of 3 is below half
    assert cluster_keypoints([[("Eye", 10, 10)], []]) == [("Eye", 10.0, 10.0)]  # 1 of 2 is half


def test_keypoints_cluster_by_label_and_one_per_annotator():
    assert cluster_keypoints([[("Eye", 10, 10)], [("Nose", 10, 10)]], quorum=2) == []
    # annotator a's two clicks never join one cluster: two clusters of support 1 and 2
    fused = cluster_keypoints([[("Eye", 10, 10), ("Eye", 10.2, 10)], [("Eye", 10.1, 10)]], quorum=2)
    assert len(fused) == 1 and fused[0][1] == pytest.approx(10.05)


def test_keypoints_far_apart_do_not_cluster():
    assert cluster_keypoints([[("Eye", 10, 10)], [("Eye", 20, 10)]], quorum=2) == []
    assert len(cluster_keypoints([[("Eye", 10, 10)], [("Eye", 20, 10)]], quorum=2, sigma=0.2)) == 1


# --- polygons -------------------------------------------------------------------------------------
def square(x, y, size=10.0):
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


def test_polygon_consensus_is_a_drawn_polygon_closest_to_the_others():
    gen = rng(3)
    truth = {"Roof": (10.0, 10.0), "Car": (50.0, 50.0)}
    per = []
    for k in range(4):
        drawn = [(lab, square(x + gen.normal(0, 0.5), y + gen.normal(0, 0.5))) for lab, (x, y) in truth.items()]
        if k == 0:
            drawn.append(("Car", square(80, 10)))  # spurious
        per.append(drawn)
    fused = vote_polygons(per)
    assert [lab for lab, _ in fused] == ["Roof", "Car"]
    everything = [p for drawn in per for _, p in drawn]
    for (label, points), (x, y) in zip(fused, truth.values()):
        assert any(points is p for p in everything)
        assert points[0] == pytest.approx([x, y], abs=1.5)


def test_polygon_medoid_by_hand():
    # b sits between a and c: IoU(a, b) = IoU(b, c) = 9/11, IoU(a, c) = 8/12
    a, b, c = square(0, 0), square(1, 0), square(2, 0)
    assert vote_polygons([[("R", a)], [("R", c)], [("R", b)]]) == [("R", b)]
    assert vote_polygons([[("R", a)], [("R", c)], [("R", b)]], quorum=4) == []
    assert vote_polygons([[("R", a)], [("S", b)]], quorum=2) == []
    assert vote_polygons([[("R", a)], [("R", square(6, 0))]], quorum=2) == []  # IoU 4/16


# --- intervals ------------------------------------------------------------------------------------
def test_interval_consensus_is_the_median_of_each_end():
    per = [[("Speech", 0, 10)], [("Speech", 1, 10)], [("Speech", 2, 11)], [("Speech", 40, 50)]]
    assert vote_intervals(per) == [("Speech", 1.0, 10.0)]
    assert vote_intervals(per, quorum=1) == [("Speech", 1.0, 10.0), ("Speech", 40.0, 50.0)]


def test_interval_consensus_recovers_planted_segments():
    gen = rng(11)
    truth = [("Speech", 0.0, 4.0), ("Music", 5.0, 12.0), ("Speech", 14.0, 20.0)]
    per = [[(lab, s + gen.normal(0, 0.2), e + gen.normal(0, 0.2)) for lab, s, e in truth] for _ in range(5)]
    per[0].append(("Music", 30.0, 31.0))
    fused = vote_intervals(per)
    assert [f[0] for f in fused] == [t[0] for t in truth]
    np.testing.assert_allclose([f[1:] for f in fused], [t[1:] for t in truth], atol=0.3)


def test_interval_labels_vote_separately_and_reversed_ends_are_sorted():
    assert vote_intervals([[("A", 0, 10)], [("B", 0, 10)]], quorum=2) == []
    assert vote_intervals([[("A", 10, 0)], [("A", 0, 10)]], quorum=2) == [("A", 0.0, 10.0)]


# --- rankings -------------------------------------------------------------------------------------
def test_borda_recovers_a_planted_order_from_noisy_rankings():
    truth = list("abcdef")
    gen = rng(5)
    rankings = []
    for _ in range(7):
        order = truth.copy()
        i = int(gen.integers(0, 5))
        order[i], order[i + 1] = order[i + 1], order[i]  # one adjacent swap each
        rankings.append({"rank": order})
    assert borda_ranking(rankings) == {"rank": truth}


def test_borda_buckets_by_majority_and_orders_by_mean_position():
    rankings = [
        {"good": ["a", "b"], "bad": ["c"]},
        {"good": ["b", "a"], "bad": ["c"]},
        {"good": ["a"], "bad": ["b", "c"]},
    ]
    # a: good x3, mean position 1/3; b: good x2 (positions 1, 0) mean 1/2; c: bad
    assert borda_ranking(rankings) == {"good": ["a", "b"], "bad": ["c"]}


def test_borda_ties_are_no_consensus():
    assert borda_ranking([{"good": ["a"], "bad": []}, {"good": [], "bad": ["a"]}]) is None
    assert borda_ranking([{"r": ["a", "b"]}, {"r": ["b", "a"]}]) is None


def test_borda_items_missing_from_some_rankings_keep_their_placements():
    rankings = [{"r": ["a", "b", "c"]}, {"r": ["a", "b"]}, {"r": ["a", "b", "c"]}]
    assert borda_ranking(rankings) == {"r": ["a", "b", "c"]}
    assert borda_ranking([{"top": ["a"], "rest": []}, {"top": [], "rest": ["z"]}]) == {"top": ["a"], "rest": ["z"]}
    assert borda_ranking([]) == {}
    with pytest.raises(ValueError, match="twice"):
        borda_ranking([{"r": ["a", "a"]}])


# --- relations ------------------------------------------------------------------------------------
def test_relations_kept_at_quorum_and_counted_once_per_annotator():
    r = (0, 1, ("part_of",), "right")
    other = (1, 2, ("near",), "bi")
    per = [[r, r, other], [r], [(2, 1, ("near",), "bi")], []]
    assert vote_relations(per) == [(0, 1, ("part_of",), "right"), (1, 2, ("near",), "bi")]  # 2 of 4
    assert vote_relations(per, quorum=3) == []
    assert vote_relations([[r, r], [], []]) == []  # a duplicate is still one vote


def test_relations_are_normalised():
    per = [[(0, 1, ("b", "a"), "right")], [(1, 0, ("a", "b"), "left")], [(1, 0, ("a", "b"), "right")]]
    assert vote_relations(per) == [(0, 1, ("a", "b"), "right")]
    with pytest.raises(ValueError, match="'up'"):
        vote_relations([[(0, 1, (), "up")]])


# --- properties -----------------------------------------------------------------------------------
point = st.tuples(st.sampled_from(["A", "B"]), st.floats(0, 100), st.floats(0, 100))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(point, max_size=4), min_size=1, max_size=4))
def test_every_keypoint_lands_in_one_cluster_with_one_point_per_annotator(per):
    fused = cluster_keypoints(per, quorum=1)
    assert max(len(p) for p in per) <= len(fused) <= sum(len(p) for p in per)
    assert all(0 <= x <= 100 and 0 <= y <= 100 for _, x, y in fused)
    assert len(cluster_keypoints(per, quorum=len(per) + 1)) == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from("AB"), st.integers(0, 50), st.integers(1, 20)).map(
    lambda t: (t[0], t[1], t[1] + t[2])), max_size=4), min_size=1, max_size=4))
def test_interval_consensus_lies_within_the_drawn_ends(per):
    starts = [s for p in per for _, s, _ in p]
    ends = [e for p in per for _, _, e in p]
    for _, s, e in vote_intervals(per, quorum=1):
        assert min(starts) <= s <= max(starts) and min(ends) <= e <= max(ends) and s <= e
