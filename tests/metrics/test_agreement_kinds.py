"""Pairwise agreement for keypoints, intervals, dates, exact answers, rankings, relations and HyperText spans."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.agreement_kinds import (
    datetime_agreement,
    exact_agreement,
    hypertext_span_agreement,
    interval_agreement,
    interval_iou_matrix,
    keypoint_agreement,
    oks_similarity_matrix,
    ranking_agreement,
    relation_agreement,
    to_seconds,
)


def kp(x, y, label="Eye"):
    return {"x": x, "y": y, "width": 0.5, "keypointlabels": [label]}


def iv(start, end, label="Speech", key="labels"):
    return {"start": start, "end": end, key: [label]}


def rank(**buckets):
    return [{"ranker": buckets}]


def same_span(x, y):
    return (x["start"], x["end"]) == (y["start"], y["end"])


def rel(src, dst, label="works_for", direction="right"):
    return {"from": {"start": src[0], "end": src[1]}, "to": {"start": dst[0], "end": dst[1]}, "labels": [label],
            "direction": direction}


def para(p0, o0, p1, o1, label="Q"):
    return {"start": str(p0), "end": str(p1), "startOffset": o0, "endOffset": o1, "paragraphlabels": [label]}


# --- empty rules, shared by every function --------------------------------------------------------
FUNCTIONS = {
    "keypoint": (keypoint_agreement, {}, [kp(10, 10)]),
    "interval": (interval_agreement, {}, [iv(0, 10)]),
    "datetime": (datetime_agreement, {}, [{"datetime": "2024-05-01"}]),
    "exact": (exact_agreement, {"key": "selected"}, [{"selected": "left"}]),
    "ranking": (ranking_agreement, {}, rank(top=["a", "b"])),
    "relation": (relation_agreement, {"endpoint_match": same_span}, [rel((0, 4), (9, 12))]),
    "hypertext": (hypertext_span_agreement, {}, [para(0, 0, 0, 10)]),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_empty_rules_and_identity(name):
    fn, opts, value = FUNCTIONS[name]
    assert fn([], [], **opts) == 1.0
    assert fn(value, [], **opts) == 0.0
    assert fn([], value, **opts) == 0.0
    assert fn(value, value, **opts) == 1.0


# --- keypoints ------------------------------------------------------------------------------------
def test_oks_is_one_sigma_gaussian_in_image_fractions():
    assert oks_similarity_matrix([[50, 50]], [[52.5, 50]])[0, 0] == pytest.approx(math.exp(-0.5))
    assert oks_similarity_matrix([[0, 0]], [[3, 4]], sigma=0.05)[0, 0] == pytest.approx(math.exp(-0.0025 / 0.005))
    with pytest.raises(ValueError, match="sigma"):
        oks_similarity_matrix([[0, 0]], [[0, 0]], sigma=0)


def test_keypoint_soft_f1_by_hand():
    # one sigma apart: similarity e^-0.5 = 0.6065 >= 0.5; soft F1 = 2 * 0.6065 / 2
    assert keypoint_agreement([kp(50, 50)], [kp(52.5, 50)]) == pytest.approx(math.exp(-0.5))
    assert keypoint_agreement([kp(50, 50)], [kp(52.5, 50)], metric="f1") == 1.0
    # a missing second point halves it: 2 * 1 / 3
    assert keypoint_agreement([kp(10, 10), kp(80, 80)], [kp(10, 10)]) == pytest.approx(2 / 3)


def test_keypoints_far_apart_or_with_other_labels_do_not_match():
    assert keypoint_agreement([kp(10, 10)], [kp(60, 60)]) == 0.0
    assert keypoint_agreement([kp(10, 10, "Eye")], [kp(10, 10, "Nose")]) == 0.0
    assert keypoint_agreement([kp(10, 10)], [kp(13, 10)]) == 0.0  # 3 % apart: similarity 0.487 < 0.5


def test_keypoints_match_one_to_one():
    a = [kp(10, 10), kp(40, 40)]
    b = [kp(40, 40), kp(10.5, 10)]
    assert keypoint_agreement(a, b) == pytest.approx((1 + math.exp(-0.005**2 / (2 * 0.025**2))) / 2)
    assert keypoint_agreement([kp(10, 10), kp(10, 10)], [kp(10, 10)]) == pytest.approx(2 / 3)


def test_unlabelled_keypoints_match_each_other():
    assert keypoint_agreement([{"x": 1, "y": 2}], [{"x": 1, "y": 2}]) == 1.0


# --- intervals ------------------------------------------------------------------------------------
def test_interval_iou_matrix_by_hand():
    iou = interval_iou_matrix([[0, 10], [5, 5]], [[5, 15], [5, 5], [10, 0]])
    assert iou.tolist() == [[pytest.approx(1 / 3), 0.0, 1.0], [0.0, 1.0, 0.0]]


def test_interval_soft_f1_by_hand():
    assert interval_agreement([iv(0, 10)], [iv(2, 10)]) == pytest.approx(0.8)
    assert interval_agreement([iv(0, 10)], [iv(2, 10)], metric="f1") == 1.0
    assert interval_agreement([iv(0, 10)], [iv(6, 16)]) == 0.0  # IoU 4/16 below 0.5
    assert interval_agreement([iv(0, 10), iv(20, 30)], [iv(0, 10)]) == pytest.approx(2 / 3)
    assert interval_agreement([iv(0, 10, "Speech")], [iv(0, 10, "Music")]) == 0.0


@pytest.mark.parametrize("metric", ["iou", "f1"])
def test_equally_good_assignments_do_not_break_symmetry(metric):
    # several optimal assignments exist; thresholding after the assignment (as match_regions does)
    # scored this pair 0.3 one way and 0.25 the other
    a = [iv(5, 5, "B"), iv(6, 8, "B"), iv(2, 4, "B"), iv(1, 4, "B"), iv(5, 8, "A")]
    b = [iv(0, 3, "B"), iv(2, 4, "A"), iv(7, 8, "B"), iv(1, 2, "B"), iv(0, 4, "B")]
    assert interval_agreement(a, b, threshold=0.3, metric=metric) == interval_agreement(b, a, threshold=0.3, metric=metric)


def test_instants_match_only_the_same_instant():
    assert interval_agreement([iv(5, 5)], [iv(5, 5)]) == 1.0
    assert interval_agreement([iv(5, 5)], [iv(6, 6)]) == 0.0
    assert interval_agreement([iv(5, 5)], [iv(4, 6)]) == 0.0


def test_timeseries_iso_timestamps_are_seconds():
    a = [iv("2024-01-01T00:00:00", "2024-01-01T00:00:10", key="timeserieslabels")]
    b = [iv("2024-01-01T00:00:02", "2024-01-01T00:00:10", key="timeserieslabels")]
    assert interval_agreement(a, b) == pytest.approx(0.8)
    assert to_seconds("1970-01-01T00:01:00+01:00") == -3540.0
    assert to_seconds("1970-01-01 00:00:01.5") == 1.5
    assert to_seconds("12.5") == 12.5
    with pytest.raises(ValueError, match="'yesterday'"):
        to_seconds("yesterday")


def test_timeline_ranges_are_inclusive_frames():
    a = [{"ranges": [{"start": 1, "end": 4}], "timelinelabels": ["Goal"]}]
    b = [{"ranges": [{"start": 3, "end": 4}], "timelinelabels": ["Goal"]}]
    assert interval_agreement(a, b) == pytest.approx(0.5)  # frames 3-4 of 1-4
    one = [{"ranges": [{"start": 7, "end": 7}], "timelinelabels": ["Goal"]}]
    assert interval_agreement(one, one) == 1.0
    two = [{"ranges": [{"start": 1, "end": 4}, {"start": 10, "end": 12}], "timelinelabels": ["Goal"]}]
    assert interval_agreement(two, a) == pytest.approx(2 / 3)


# --- dates ----------------------------------------------------------------------------------------
def dt(text):
    return [{"datetime": text}]


def test_datetime_exact_and_with_tolerance():
    assert datetime_agreement(dt("2024-05-01T10:00"), dt("2024-05-01T10:00:00")) == 1.0
    assert datetime_agreement(dt("2024-05-01T10:00"), dt("2024-05-01T10:01")) == 0.0
    assert datetime_agreement(dt("2024-05-01T10:00"), dt("2024-05-01T10:01"), tolerance_s=60) == 1.0
    assert datetime_agreement(dt("2024-05-01T10:00"), dt("2024-05-01T10:01"), tolerance_s=59.9) == 0.0
    assert datetime_agreement(dt("2024-05-01T10:00Z"), dt("2024-05-01T12:00+02:00")) == 1.0


def test_date_only_and_time_only_values():
    assert datetime_agreement(dt("2024-05-01"), dt("2024-05-01")) == 1.0
    assert datetime_agreement(dt("2024-05-01"), dt("2024-05-02")) == 0.0
    assert datetime_agreement(dt("2024-05-01"), dt("2024-05-02"), tolerance_s=86400) == 1.0
    assert datetime_agreement(dt("10:00"), dt("10:00:00")) == 1.0
    assert datetime_agreement(dt("10:00"), dt("10:30"), tolerance_s=1800) == 1.0
    assert datetime_agreement(dt("00:00"), dt("1970-01-01")) == 0.0  # a time of day is not a date


def test_datetime_errors_name_the_value():
    with pytest.raises(ValueError, match="'next tuesday'"):
        datetime_agreement(dt("next tuesday"), dt("2024-05-01"))
    with pytest.raises(ValueError, match="datetime"):
        datetime_agreement([{"date": "2024-05-01"}], dt("2024-05-01"))
    with pytest.raises(ValueError, match="tolerance"):
        datetime_agreement(dt("10:00"), dt("10:00"), tolerance_s=-1)


# --- exact ----------------------------------------------------------------------------------------
def test_exact_agreement():
    assert exact_agreement([{"selected": "left"}], [{"selected": "right"}], key="selected") == 0.0
    assert exact_agreement([{"tags": ["a", "b"]}], [{"tags": ["b", "a"]}], key="tags") == 1.0
    assert exact_agreement([{"tags": ["a", "b"]}], [{"tags": ["a"]}], key="tags") == 0.0
    assert exact_agreement([{"tags": ["a", "a"]}], [{"tags": ["a"]}], key="tags") == 0.0
    assert exact_agreement([{"path": [["A", "B"]]}], [{"path": [["B", "A"]]}], key="path") == 0.0  # inner order kept
    with pytest.raises(ValueError, match="'selected'"):
        exact_agreement([{"choices": ["x"]}], [{"selected": "left"}], key="selected")


# --- rankings -------------------------------------------------------------------------------------
def test_ranking_identical_reversed_and_by_hand():
    assert ranking_agreement(rank(r=list("abcd")), rank(r=list("abcd"))) == 1.0
    assert ranking_agreement(rank(r=list("abcd")), rank(r=list("dcba"))) == 0.0
    # one adjacent swap of 4 items: 5 concordant, 1 discordant pair, tau = 4/6, score 5/6
    assert ranking_agreement(rank(r=list("abcd")), rank(r=list("bacd"))) == pytest.approx(5 / 6)


def test_ranking_buckets_order_before_positions():
    a = rank(good=["a", "b"], bad=["c"])
    b = rank(good=["c"], bad=["a", "b"])
    # a: a < b < c; b: c < a < b -> pairs (a,b) concordant, (a,c), (b,c) discordant: tau -1/3
    assert ranking_agreement(a, b) == pytest.approx(1 / 3)
    assert ranking_agreement(rank(good=["a"], bad=["b"]), rank(good=["b"], bad=["a"])) == 0.0


def test_ranking_compares_only_common_items():
    assert ranking_agreement(rank(r=["a", "b", "x"]), rank(r=["y", "a", "b"])) == 1.0
    assert ranking_agreement(rank(r=["a"]), rank(r=["a"])) == 1.0
    assert ranking_agreement(rank(good=["a"]), rank(bad=["a"])) == 0.0
    assert ranking_agreement(rank(r=["a", "x"]), rank(r=["a", "y"])) == 0.0  # one common item, placements differ
    assert ranking_agreement(rank(r=["x"]), rank(r=["y"])) == 0.0


def test_ranking_rejects_an_item_ranked_twice():
    with pytest.raises(ValueError, match="twice"):
        ranking_agreement(rank(good=["a"], bad=["a"]), rank(good=["a"]))


# --- relations ------------------------------------------------------------------------------------
def test_relation_f1_by_hand():
    r1, r2 = rel((0, 4), (9, 12)), rel((20, 25), (30, 35))
    assert relation_agreement([r1, r2], [r1], endpoint_match=same_span) == pytest.approx(2 / 3)
    assert relation_agreement([r1], [r2], endpoint_match=same_span) == 0.0
    assert relation_agreement([r1], [rel((0, 4), (9, 12), "born_in")], endpoint_match=same_span) == 0.0
    assert relation_agreement([r1, r1], [r1], endpoint_match=same_span) == pytest.approx(2 / 3)  # one-to-one


def test_relation_directions():
    right, left = rel((0, 4), (9, 12)), rel((9, 12), (0, 4), direction="left")
    assert relation_agreement([right], [left], endpoint_match=same_span) == 1.0
    assert relation_agreement([right], [rel((9, 12), (0, 4))], endpoint_match=same_span) == 0.0
    bi, bi_swapped = rel((0, 4), (9, 12), direction="bi"), rel((9, 12), (0, 4), direction="bi")
    assert relation_agreement([bi], [bi_swapped], endpoint_match=same_span) == 1.0
    assert relation_agreement([bi], [right], endpoint_match=same_span) == 0.0
    with pytest.raises(ValueError, match="'up'"):
        relation_agreement([rel((0, 4), (9, 12), direction="up")], [right], endpoint_match=same_span)


def test_relation_endpoints_use_the_callers_match():
    near = lambda x, y: abs(x["start"] - y["start"]) <= 1 and abs(x["end"] - y["end"]) <= 1  # noqa: E731
    assert relation_agreement([rel((0, 4), (9, 12))], [rel((1, 4), (9, 13))], endpoint_match=near) == 1.0


# --- HyperText / Paragraphs -----------------------------------------------------------------------
def test_global_offsets_are_used_when_everyone_has_them():
    a = [{"start": "/p[1]/text()[1]", "end": "/p[2]/text()[1]", "startOffset": 0, "endOffset": 3,
          "globalOffsets": {"start": 0, "end": 14}, "hypertextlabels": ["Tool"]}]
    b = [{"start": "/p[1]/text()[1]", "end": "/p[1]/text()[1]", "startOffset": 10, "endOffset": 14,
          "globalOffsets": {"start": 10, "end": 14}, "hypertextlabels": ["Tool"]}]
    assert hypertext_span_agreement(a, b) == pytest.approx(2 * 4 / 18)


def test_paragraph_spans_overlap_per_paragraph():
    assert hypertext_span_agreement([para(0, 0, 0, 10)], [para(0, 5, 0, 10)]) == pytest.approx(2 * 5 / 15)
    assert hypertext_span_agreement([para(0, 0, 0, 10)], [para(1, 0, 1, 10)]) == 0.0
    assert hypertext_span_agreement([para(0, 0, 0, 10, "Q")], [para(0, 0, 0, 10, "A")]) == 0.0
    assert hypertext_span_agreement([para(2, 0, 2, 10)], [para("2", 0, "2", 10)]) == 1.0


def test_a_span_across_paragraphs():
    # a: paragraph 0 from offset 5 into paragraph 1 up to 5; paragraph 0 holds at least 6 characters
    # (a covers one or more there), so a is 1 + 5 characters and b (paragraph 1, 0-5) overlaps 5
    assert hypertext_span_agreement([para(0, 5, 1, 5)], [para(1, 0, 1, 5)]) == pytest.approx(2 * 5 / 11)
    # a paragraph wholly inside a span counts for both annotators
    assert hypertext_span_agreement([para(0, 0, 2, 5)], [para(0, 0, 2, 5)]) == 1.0
    assert 0 < hypertext_span_agreement([para(0, 0, 3, 5)], [para(1, 0, 2, 5)]) < 1


def test_hypertext_nodes_by_xpath():
    def ht(start, end, o0, o1):
        return {"start": start, "end": end, "startOffset": o0, "endOffset": o1, "hypertextlabels": ["Tool"]}

    same = "/div[1]/p[2]/text()[1]"
    assert hypertext_span_agreement([ht(same, same, 0, 10)], [ht(same, same, 5, 10)]) == pytest.approx(2 / 3)
    assert hypertext_span_agreement([ht(same, same, 0, 10)], [ht("/div[1]/p[10]/text()[1]", "/div[1]/p[10]/text()[1]", 0, 10)]) == 0.0
    # p[2] precedes p[10] (not string order): a span from p[2] to p[10] contains a span inside p[10]
    across = ht(same, "/div[1]/p[10]/text()[1]", 0, 4)
    inside = ht("/div[1]/p[10]/text()[1]", "/div[1]/p[10]/text()[1]", 0, 4)
    assert hypertext_span_agreement([across], [inside]) == pytest.approx(2 * 4 / (5 + 4))


# --- properties -----------------------------------------------------------------------------------
coord = st.one_of(st.integers(0, 4), st.floats(0, 100, allow_nan=False))  # small ints: ties
label = st.sampled_from(["A", "B"])
keypoints = st.lists(st.builds(kp, coord, coord, label), max_size=6)
intervals = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 20), label).map(lambda t: iv(t[0], t[0] + t[1], t[2])), max_size=6
)
spans = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 3), st.integers(0, 30), label).map(lambda t: para(*t)),
    max_size=5,
)
rankings = st.permutations(list("abcdef")).flatmap(
    lambda items: st.integers(0, 6).map(lambda k: rank(good=list(items[:k]), bad=list(items[k:])))
)
times = st.lists(st.integers(0, 10).map(lambda m: {"datetime": f"2024-05-01T10:{m:02d}"}), max_size=3)


def _check(fn, a, b, **opts):
    ab, ba = fn(a, b, **opts), fn(b, a, **opts)
    assert 0.0 <= ab <= 1.0
    assert ab == pytest.approx(ba, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(keypoints, keypoints, st.sampled_from(["iou", "f1"]))
def test_keypoint_scores_are_bounded_and_symmetric(a, b, metric):
    _check(keypoint_agreement, a, b, metric=metric, threshold=0.1)


@settings(max_examples=150, deadline=None)
@given(intervals, intervals, st.sampled_from(["iou", "f1"]))
def test_interval_scores_are_bounded_and_symmetric(a, b, metric):
    _check(interval_agreement, a, b, metric=metric)


@settings(max_examples=150, deadline=None)
@given(spans, spans)
def test_paragraph_scores_are_bounded_and_symmetric(a, b):
    _check(hypertext_span_agreement, a, b)


@settings(max_examples=100, deadline=None)
@given(rankings, rankings)
def test_ranking_scores_are_bounded_and_symmetric(a, b):
    _check(ranking_agreement, a, b)


@settings(max_examples=100, deadline=None)
@given(times, times, st.sampled_from([0, 60, 300]))
def test_datetime_scores_are_bounded_and_symmetric(a, b, tolerance):
    _check(datetime_agreement, a, b, tolerance_s=tolerance)
