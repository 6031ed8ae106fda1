"""Pairwise agreement for the Label Studio tag kinds :mod:`metrics.agreement` does not cover.

Same conventions as :mod:`metrics.agreement`: the inputs are two annotations' lists of result
*values* (the ``"value"`` dicts) of one control tag, the score is in [0, 1] and symmetric, two empty
annotations score 1 and one empty against one non-empty 0 (Label Studio's rules).

============================  ==================================================================
result ``type``               pairwise score
============================  ==================================================================
keypointlabels, keypoint      OKS-like similarity, Hungarian matching of same-label points, soft F1
timeserieslabels, labels      interval IoU, Hungarian matching of same-label intervals, soft F1
(audio), timelinelabels
datetime                      1 when the two instants are within ``tolerance_s`` seconds, else 0
pairwise (and any one-key)    exact equality of the answers under ``key``
ranker                        Kendall's tau-b of the common items, mapped to [0, 1]
relation                      F1 over (from, to, labels) triples, endpoints matched by the caller
hypertextlabels,              character-overlap F1 per label (:func:`metrics.agreement.span_agreement`)
paragraphlabels
============================  ==================================================================

References
----------
.. [1] Ronchi, M. R. & Perona, P. (2017). Benchmarking and error diagnosis in multi-instance pose
   estimation. ICCV 2017, 369-378. doi:10.1109/ICCV.2017.48 (object keypoint similarity, OKS).
.. [2] COCO keypoint evaluation, https://cocodataset.org/#keypoints-eval:
   ``OKS = sum_i exp(-d_i^2 / (2 s^2 k_i^2)) / n``.
.. [3] Kendall, M. G. (1938). A new measure of rank correlation. Biometrika 30(1/2), 81-93.
   doi:10.1093/biomet/30.1-2.81; tau-b for ties: Kendall, M. G. (1945). The treatment of ties in
   ranking problems. Biometrika 33(3), 239-251. doi:10.1093/biomet/33.3.239
.. [4] Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval Research
   Logistics Quarterly 2, 83-97. doi:10.1002/nav.3800020109
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime, time, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from metrics.agreement import _both_empty, _matched_score, _region_label, span_agreement
from metrics.geometry import match_regions

Value = Mapping[str, Any]
FloatArray = npt.NDArray[np.float64]

__all__ = [
    "datetime_agreement",
    "exact_agreement",
    "hypertext_span_agreement",
    "interval_agreement",
    "interval_iou_matrix",
    "keypoint_agreement",
    "oks_similarity_matrix",
    "ranking_agreement",
    "relation_agreement",
    "to_seconds",
]


# --- keypoints ---------------------------------------------------------------------------------


def oks_similarity_matrix(a: npt.ArrayLike, b: npt.ArrayLike, *, sigma: float = 0.025) -> FloatArray:
    """OKS-like similarity ``exp(-d^2 / (2 sigma^2))`` of every point in ``a`` with every point in ``b``.

    Why: a point has no area, so IoU cannot say how close two clicks are; COCO's object keypoint
    similarity [2]_ (analysed by Ronchi & Perona [1]_) turns a distance into a score in (0, 1] with a
    Gaussian whose width is the tolerated error. Here the object scale ``s * k_i`` of COCO is one
    constant, ``sigma``, a fraction of the image size, because a Label Studio keypoint has neither an
    object area nor a keypoint type.

    Parameters
    ----------
    a, b : (n, 2) and (m, 2) arrays of ``x, y`` in percent of the image (0-100).
    sigma : standard deviation of the tolerated error as a fraction of the image (default 0.025).

    Returns
    -------
    (n, m) array in (0, 1]; 1 for the same point.

    Examples
    --------
    >>> round(float(oks_similarity_matrix([[50, 50]], [[52.5, 50]])[0, 0]), 4)  # one sigma away
    0.6065
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    pa = np.asarray(a, dtype=np.float64).reshape(-1, 2) / 100.0
    pb = np.asarray(b, dtype=np.float64).reshape(-1, 2) / 100.0
    d2: FloatArray = ((pa[:, None, :] - pb[None, :, :]) ** 2).sum(axis=2)
    similarity: FloatArray = np.exp(-d2 / (2.0 * sigma**2))
    return similarity


def keypoint_agreement(
    a: Sequence[Value], b: Sequence[Value], *, threshold: float = 0.5, sigma: float = 0.025, metric: str = "iou"
) -> float:
    """Agreement of two sets of keypoints (``x, y`` in percent, optional ``keypointlabels``).

    Points are matched one-to-one by the Hungarian method [4]_ on the OKS-like similarity of
    :func:`oks_similarity_matrix` ([1]_, [2]_); only same-label points match and pairs below
    ``threshold`` stay unmatched (with the defaults a point matches within about 2.9 % of the image).
    ``metric="iou"`` returns ``2 * sum(matched similarity) / (n_a + n_b)``, a soft F1 like
    :func:`metrics.agreement.rectangle_agreement`; ``"f1"`` counts each match as 1.

    Examples
    --------
    >>> keypoint_agreement([{"x": 10, "y": 10, "keypointlabels": ["Eye"]}],
    ...                    [{"x": 10, "y": 10, "keypointlabels": ["Eye"]}, {"x": 90, "y": 90, "keypointlabels": ["Eye"]}])
    0.6666666666666666
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    sim = oks_similarity_matrix([[v["x"], v["y"]] for v in a], [[v["x"], v["y"]] for v in b], sigma=sigma)
    return _matched_score(sim, [_region_label(v) for v in a], [_region_label(v) for v in b], threshold, metric)


# --- time intervals ------------------------------------------------------------------------------


def to_seconds(value: object) -> float:
    """A number, a numeric string or an ISO 8601 timestamp as float seconds (timestamps: since the
    Unix epoch, a timestamp without a zone read as UTC).

    Why: TimeSeriesLabels store ``start``/``end`` as numbers for a numeric time column and as
    timestamps for a date-time column; one scale lets both be compared.

    Examples
    --------
    >>> to_seconds("1970-01-01T00:01:30"), to_seconds(2.5)
    (90.0, 2.5)
    """
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            try:
                stamp = np.datetime64(text, "us")
            except ValueError:
                raise ValueError(f"not a number or ISO 8601 timestamp: {value!r}") from None
            return float((stamp - np.datetime64(0, "us")) / np.timedelta64(1, "s"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    raise ValueError(f"not a number or ISO 8601 timestamp: {value!r}")


def interval_iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every interval in ``a`` with every interval in ``b`` (rows ``start, end``).

    Why: the one-dimensional Jaccard index, the temporal IoU of action localisation (as in the
    ActivityNet and THUMOS evaluations), is the interval analogue of the box IoU [4]_. Two instants
    (``start == end``) at the same point have IoU 1; an instant and a range have IoU 0.

    Examples
    --------
    >>> interval_iou_matrix([[0, 10]], [[5, 15], [3, 3]])
    array([[0.33333333, 0.        ]])
    """
    ia = np.sort(np.asarray(a, dtype=np.float64).reshape(-1, 2), axis=1)
    ib = np.sort(np.asarray(b, dtype=np.float64).reshape(-1, 2), axis=1)
    inter = np.clip(np.minimum(ia[:, None, 1], ib[None, :, 1]) - np.maximum(ia[:, None, 0], ib[None, :, 0]), 0, None)
    union = (ia[:, 1] - ia[:, 0])[:, None] + (ib[:, 1] - ib[:, 0])[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    instants = ((ia[:, 1] == ia[:, 0])[:, None] & (ib[:, 1] == ib[:, 0])[None, :]) & (ia[:, None, 0] == ib[None, :, 0])
    return np.where(instants, 1.0, iou)


def _intervals(values: Sequence[Value]) -> tuple[list[list[float]], list[object]]:
    """(start, end) rows and labels; a TimelineLabels value gives one row per range, in inclusive
    frames turned half-open (``end + 1``), so a one-frame range has length 1."""
    rows: list[list[float]] = []
    labels: list[object] = []
    for v in values:
        label = _region_label(v)
        if "ranges" in v:
            for r in v["ranges"]:
                start, end = sorted((to_seconds(r["start"]), to_seconds(r["end"])))
                rows.append([start, end + 1.0])
                labels.append(label)
        else:
            rows.append(sorted((to_seconds(v["start"]), to_seconds(v["end"]))))
            labels.append(label)
    return rows, labels


def interval_agreement(a: Sequence[Value], b: Sequence[Value], *, threshold: float = 0.5, metric: str = "iou") -> float:
    """Agreement of two sets of labelled time intervals: TimeSeriesLabels / audio ``labels``
    (``start, end`` numbers or ISO timestamps, see :func:`to_seconds`) and TimelineLabels
    (``ranges`` of inclusive frames, each range one interval).

    Intervals are matched one-to-one by the Hungarian method [4]_ on :func:`interval_iou_matrix`,
    only same-label intervals match, pairs below ``threshold`` stay unmatched; ``metric="iou"``
    gives the soft F1 ``2 * sum(matched IoU) / (n_a + n_b)``, ``"f1"`` counts a match as 1.

    Examples
    --------
    >>> interval_agreement([{"start": 0, "end": 10, "labels": ["Speech"]}],
    ...                    [{"start": 2, "end": 10, "labels": ["Speech"]}])
    0.8
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    ra, la = _intervals(a)
    rb, lb = _intervals(b)
    if not ra and not rb:
        return 1.0
    if not ra or not rb:
        return 0.0
    return _matched_score(interval_iou_matrix(ra, rb), la, lb, threshold, metric)


# --- date and time -------------------------------------------------------------------------------


def _instant(value: Value) -> tuple[str, float]:
    """(kind, seconds): "time" (seconds after midnight) for a time-only value, else "datetime"."""
    if "datetime" not in value:
        raise ValueError(f"a DateTime value needs the key 'datetime', got keys {sorted(value)}")
    raw = value["datetime"]
    text = str(raw).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            clock = time.fromisoformat(text)
        except ValueError:
            raise ValueError(f"unparseable DateTime value {raw!r}") from None
        seconds = clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6
        offset = clock.utcoffset()
        return "time", seconds - (offset.total_seconds() if offset is not None else 0.0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return "datetime", moment.timestamp()


def datetime_agreement(a: Sequence[Value], b: Sequence[Value], *, tolerance_s: float = 0.0) -> float:
    """1 when two DateTime answers (``{"datetime": "2024-05-01T10:00"}``, date-only ``"2024-05-01"``
    or time-only ``"10:00"``) are at most ``tolerance_s`` seconds apart, else 0.

    Why: a date or time is a point, so partial credit would need a scale the config does not give;
    the tolerance says how far apart two answers may be and still be the same answer (0 = exact).
    Values are read as ISO 8601 (ISO 8601-1:2019, Python's ``fromisoformat``); a value without a
    time zone is read as UTC, a date-only value as its midnight. A time-only value never equals a
    date. Several values per annotation agree when they pair up in sorted order.

    Raises
    ------
    ValueError
        a value is not ISO 8601 (the message names it), or ``tolerance_s < 0``.

    Examples
    --------
    >>> datetime_agreement([{"datetime": "2024-05-01T10:00"}], [{"datetime": "2024-05-01T10:04"}], tolerance_s=300)
    1.0
    """
    if tolerance_s < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    ia = sorted(_instant(v) for v in a)
    ib = sorted(_instant(v) for v in b)
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    if len(ia) != len(ib):
        return 0.0
    return float(all(ka == kb and abs(sa - sb) <= tolerance_s for (ka, sa), (kb, sb) in zip(ia, ib)))


# --- exact answers -------------------------------------------------------------------------------


def _canonical(item: object) -> Hashable:
    """A hashable form: lists/tuples keep their order, dicts become sorted items."""
    if isinstance(item, Mapping):
        return tuple(sorted(((str(k), _canonical(v)) for k, v in item.items()), key=repr))
    if isinstance(item, (list, tuple)):
        return tuple(_canonical(x) for x in item)
    if isinstance(item, Hashable):
        return item
    return repr(item)


def _answer(value: Value, key: str) -> Hashable:
    if key not in value:
        raise ValueError(f"a value lacks the key {key!r}, got keys {sorted(value)}")
    item = value[key]
    if isinstance(item, (list, tuple)):  # order-insensitive: a multiset of the elements
        return frozenset(Counter(_canonical(x) for x in item).items())
    return _canonical(item)


def exact_agreement(a: Sequence[Value], b: Sequence[Value], *, key: str) -> float:
    """1 when both annotations give the same answer under ``key`` (e.g. Pairwise's
    ``{"selected": "left"}``), else 0; a list answer is compared as a multiset (order-insensitive).

    Why: for a categorical answer with no partial credit, the pairwise agreement of Label Studio's
    ``exact_matching`` (and the observed agreement of Cohen's kappa) is plain equality.

    Examples
    --------
    >>> exact_agreement([{"selected": "left"}], [{"selected": "left"}], key="selected")
    1.0
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    return float(Counter(_answer(v, key) for v in a) == Counter(_answer(v, key) for v in b))


# --- rankings ------------------------------------------------------------------------------------


def _placements(values: Sequence[Value]) -> dict[Hashable, tuple[int, str, int]]:
    """item -> (bucket index, bucket name, position in bucket), buckets in key order."""
    out: dict[Hashable, tuple[int, str, int]] = {}
    bucket_index = 0
    for v in values:
        ranker = v.get("ranker")
        if not isinstance(ranker, Mapping):
            raise ValueError(f"a Ranker value needs a 'ranker' mapping of bucket -> items, got {v!r}")
        for name, items in ranker.items():
            for pos, item in enumerate(items):
                key = _canonical(item)
                if key in out:
                    raise ValueError(f"item {item!r} is ranked twice")
                out[key] = (bucket_index, str(name), pos)
            bucket_index += 1
    return out


def ranking_agreement(a: Sequence[Value], b: Sequence[Value]) -> float:
    """Rank agreement of two Ranker answers (``{"ranker": {bucket: [item_id, ...], ...}}``).

    Each answer orders its items by bucket (the mapping's key order) and then by position in the
    bucket. Over the items both answers rank, Kendall's tau-b [3]_ (``scipy.stats.kendalltau``)
    compares the two orders and ``(tau + 1) / 2`` maps it to [0, 1]: identical orders give 1, a full
    reversal 0. Items only one answer ranks are left out. With fewer than two common items there is
    no pair to compare: 1 when both answers place every item in the same bucket and position, else 0.

    Examples
    --------
    >>> ranking_agreement([{"ranker": {"top": ["a", "b"], "rest": ["c"]}}],
    ...                   [{"ranker": {"top": ["b", "a"], "rest": ["c"]}}])
    0.6666666666666667
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    pa, pb = _placements(a), _placements(b)
    common = [item for item in pa if item in pb]
    if len(common) < 2:
        return float({k: p[1:] for k, p in pa.items()} == {k: p[1:] for k, p in pb.items()})
    from scipy.stats import kendalltau  # here, not at import: scipy.stats is slow to load

    def ranks(p: dict[Hashable, tuple[int, str, int]]) -> list[int]:
        order = sorted(common, key=lambda item: (p[item][0], p[item][2]))
        where = {item: i for i, item in enumerate(order)}
        return [where[item] for item in common]

    tau = float(kendalltau(ranks(pa), ranks(pb)).statistic)
    return float(np.clip((tau + 1.0) / 2.0, 0.0, 1.0))


# --- relations -----------------------------------------------------------------------------------


def _relation(value: Value) -> tuple[Value, Value, frozenset[Hashable], bool]:
    """(from, to, label set, bidirectional); a "left" relation is turned around to point right."""
    if "from" not in value or "to" not in value:
        raise ValueError(f"a relation needs 'from' and 'to' region values, got keys {sorted(value)}")
    direction = str(value.get("direction", "right"))
    if direction not in ("right", "left", "bi"):
        raise ValueError(f"unknown relation direction {direction!r}; expected 'right', 'left' or 'bi'")
    labels = frozenset(_canonical(x) for x in value.get("labels") or [])
    src, dst = value["from"], value["to"]
    if direction == "left":
        src, dst = dst, src
    return src, dst, labels, direction == "bi"


def relation_agreement(
    a: Sequence[Value], b: Sequence[Value], *, endpoint_match: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]
) -> float:
    """F1 over (from, to, labels) triples of two sets of relations.

    Each value is ``{"from": region_value, "to": region_value, "labels": [...], "direction": ...}``
    (the caller resolves the relation's region ids into the regions' value dicts). Two relations
    match when ``endpoint_match(from_a, from_b)`` and ``endpoint_match(to_a, to_b)`` and their label
    sets are equal. ``direction="left"`` is read as the reversed ``"right"`` relation; ``"bi"`` makes
    from and to unordered and matches only another ``"bi"`` relation. Relations are paired one-to-one
    (a maximum matching by the Hungarian method [4]_) and the score is ``2 * matches / (n_a + n_b)``,
    the F1 of relation extraction evaluation (e.g. Bekoulis et al. 2018, doi:10.1016/j.eswa.2018.07.032).
    The score is symmetric when ``endpoint_match`` is.

    Examples
    --------
    >>> same = lambda x, y: x == y
    >>> r = {"from": {"start": 0, "end": 4}, "to": {"start": 9, "end": 12}, "labels": ["works_for"]}
    >>> relation_agreement([r], [r, {**r, "labels": ["born_in"]}], endpoint_match=same)
    0.6666666666666666
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    ra, rb = [_relation(v) for v in a], [_relation(v) for v in b]
    sim = np.zeros((len(ra), len(rb)))
    for i, (fa, ta, la, bia) in enumerate(ra):
        for j, (fb, tb, lb, bib) in enumerate(rb):
            if la != lb or bia != bib:
                continue
            forward = endpoint_match(fa, fb) and endpoint_match(ta, tb)
            backward = bia and endpoint_match(fa, tb) and endpoint_match(ta, fb)
            sim[i, j] = float(forward or backward)
    rows, _, _ = match_regions(sim, threshold=0.5)
    return 2.0 * len(rows) / (len(ra) + len(rb))


# --- HyperText and Paragraphs spans --------------------------------------------------------------

_STEP = re.compile(r"^(?P<name>[^\[\]]*)(?:\[(?P<index>\d+)\])?$")


def _xpath_key(path: str) -> tuple[tuple[int, str], ...]:
    """Sort key of an XPath like ``/div[1]/p[10]/text()[1]``: per step (index, name), so ``p[2]``
    comes before ``p[10]`` and an ancestor before its descendants (document order for the usual
    paths; siblings of different names are ordered by index, then name)."""
    key: list[tuple[int, str]] = []
    for step in str(path).strip("/").split("/"):
        match = _STEP.match(step)
        if match is None:
            key.append((0, step))
        else:
            key.append((int(match["index"] or 1), match["name"]))
    return tuple(key)


def _is_index(node: object) -> bool:
    if isinstance(node, bool):
        return False
    return isinstance(node, (int, np.integer)) or (isinstance(node, str) and node.strip().isdigit())


def _flat_spans(a: Sequence[Value], b: Sequence[Value]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both annotations' spans as ``{"start", "end", "labels"}`` on one character axis."""
    everything = [*a, *b]
    if all(isinstance(v.get("globalOffsets"), Mapping) for v in everything):
        def flat(v: Value) -> dict[str, Any]:
            lo, hi = sorted((int(v["globalOffsets"]["start"]), int(v["globalOffsets"]["end"])))
            return {"start": lo, "end": hi, "labels": [_region_label(v)]}

        return [flat(v) for v in a], [flat(v) for v in b]

    paragraphs = all(_is_index(v["start"]) and _is_index(v["end"]) for v in everything)
    if paragraphs:
        node_of: Callable[[object], Any] = lambda node: int(str(node).strip())  # noqa: E731
    else:
        node_of = lambda node: _xpath_key(str(node))  # noqa: E731
    nodes = sorted({node_of(v[side]) for v in everything for side in ("start", "end")})
    rank = {node: i for i, node in enumerate(nodes)}

    def pos(v: Value, side: str) -> tuple[int, int]:
        node = node_of(v[side])
        return (node if paragraphs else rank[node]), int(v[side + "Offset"])

    # A node's length is unknown: take the largest offset anyone saw in it (one more where a span
    # starts and runs on into a later node, so it covers at least one character there), and for a
    # paragraph nobody started or ended in (wholly inside a span) the largest length seen anywhere.
    seen: dict[int, int] = {}
    for v in everything:
        (n0, o0), (n1, o1) = sorted((pos(v, "start"), pos(v, "end")))
        seen[n0] = max(seen.get(n0, 0), o0 + (n0 != n1))
        seen[n1] = max(seen.get(n1, 0), o1)
    observed = sorted(seen)
    default = max(1, max(seen.values(), default=1))
    prefix = [0]
    for node in observed:
        prefix.append(prefix[-1] + seen[node])

    def axis(node: int, offset: int) -> int:
        k = bisect.bisect_left(observed, node)  # observed nodes before this one
        return prefix[k] + (node - k) * default + offset if paragraphs else prefix[k] + offset

    def flat_node(v: Value) -> dict[str, Any]:
        lo, hi = sorted((axis(*pos(v, "start")), axis(*pos(v, "end"))))
        return {"start": lo, "end": hi, "labels": [_region_label(v)]}

    return [flat_node(v) for v in a], [flat_node(v) for v in b]


def hypertext_span_agreement(a: Sequence[Value], b: Sequence[Value]) -> float:
    """Character-overlap F1 per label of two sets of HyperText or Paragraphs spans.

    A value has ``start``/``end`` (an XPath for HyperText, a paragraph index for Paragraphs),
    ``startOffset``/``endOffset`` and optionally ``globalOffsets: {"start", "end"}``. When every value
    of both annotations has ``globalOffsets`` those are the character spans. Otherwise positions are
    ``(node, offset)`` pairs laid on one axis: spans inside one paragraph or one XPath node overlap
    by their offsets exactly; a span crossing nodes counts each node up to the largest offset anyone
    marked in it (the text itself is not known here), so pass ``globalOffsets`` for exact counts.
    Then :func:`metrics.agreement.span_agreement`: ``2 * overlap / (chars_a + chars_b)`` summed over
    labels, the token/character-level F1 of span annotation agreement (Hripcsak & Rothschild 2005,
    Agreement, the F-measure, and reliability in information retrieval, JAMIA 12(3), 296-298,
    doi:10.1197/jamia.M1733).

    Examples
    --------
    >>> a = [{"start": "0", "end": "0", "startOffset": 0, "endOffset": 10, "paragraphlabels": ["Q"]}]
    >>> b = [{"start": "0", "end": "0", "startOffset": 5, "endOffset": 10, "paragraphlabels": ["Q"]}]
    >>> round(hypertext_span_agreement(a, b), 4)
    0.6667
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    fa, fb = _flat_spans(a, b)
    return span_agreement(fa, fb)
