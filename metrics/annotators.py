"""Annotator statistics against a reference answer: box detection counts and character accuracy.

Agreement *between* annotators lives in :mod:`metrics.agreement`; this module scores one annotator's
answer against ground truth where a single agreement number would hide what a manager needs to know:
whether an annotator's boxes are wrong (low precision) or missing (low recall), and how many
characters of a transcript they got wrong over a whole project (a corpus CER, not a mean of per-item
rates, so a one-word clip with one typo does not weigh as much as a long call).

References
----------
.. [1] Everingham, M. et al. (2010). The PASCAL Visual Object Classes (VOC) challenge. IJCV 88,
   303-338. doi:10.1007/s11263-009-0275-4 (a detection is correct at IoU >= 0.5).
.. [2] Morris, A. C., Maier, V. & Green, P. (2004). From WER and RIL to MER and WIL. Interspeech 2004
   (error rates as edits over reference length, summed over the corpus).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metrics.agreement import _region_label
from metrics.geometry import box_iou_matrix, match_regions, polygon_iou_matrix, rectangle_polygon
from metrics.text import character_error_rate

Value = Mapping[str, Any]


@dataclass(frozen=True)
class Detections:
    """Counts of one comparison of predicted boxes with gold boxes (add them up over tasks).

    ``n_matched`` boxes matched a gold box of the same label at IoU >= the threshold, one-to-one;
    ``iou_sum`` is the sum of their IoUs.
    """

    n_matched: int
    n_predicted: int
    n_gold: int
    iou_sum: float

    def __add__(self, other: Detections) -> Detections:
        return Detections(self.n_matched + other.n_matched, self.n_predicted + other.n_predicted,
                          self.n_gold + other.n_gold, self.iou_sum + other.iou_sum)

    @property
    def precision(self) -> float:
        """Share of the predicted boxes that match a gold box; NaN when nothing was drawn."""
        return self.n_matched / self.n_predicted if self.n_predicted else float("nan")

    @property
    def recall(self) -> float:
        """Share of the gold boxes that were found; NaN when the gold has no box."""
        return self.n_matched / self.n_gold if self.n_gold else float("nan")

    @property
    def mean_iou(self) -> float:
        """Mean IoU of the matched pairs; NaN without a match."""
        return self.iou_sum / self.n_matched if self.n_matched else float("nan")


NO_DETECTIONS = Detections(0, 0, 0, 0.0)


def box_detections(
    predicted: Sequence[Value], gold: Sequence[Value], *, threshold: float = 0.5, aspect: float = 1.0
) -> Detections:
    """Match predicted rectangles to gold rectangles (Label Studio percent ``x, y, width, height``).

    Same-label pairs only, one-to-one by the Hungarian method on IoU (:func:`metrics.geometry.match_regions`),
    pairs below ``threshold`` unmatched [1]_. Rotated boxes go through shapely with the image ``aspect``
    (width / height in pixels), as in :func:`metrics.agreement.rectangle_agreement`.

    Examples
    --------
    >>> gold = [{"x": 0, "y": 0, "width": 10, "height": 10, "rectanglelabels": ["Car"]}]
    >>> d = box_detections([{"x": 0, "y": 0, "width": 10, "height": 20, "rectanglelabels": ["Car"]}], gold)
    >>> (d.n_matched, d.precision, d.recall, d.mean_iou)
    (1, 1.0, 1.0, 0.5)
    """
    if not predicted or not gold:
        return Detections(0, len(predicted), len(gold), 0.0)
    if any(v.get("rotation", 0) for v in [*predicted, *gold]):
        def polygons(values: Sequence[Value]) -> list[Any]:
            return [rectangle_polygon(v["x"], v["y"], v["width"], v["height"], v.get("rotation", 0), aspect=aspect)
                    for v in values]

        sim = polygon_iou_matrix(polygons(predicted), polygons(gold))
    else:
        def boxes(values: Sequence[Value]) -> np.ndarray:
            return np.array([[v["x"], v["y"], v["width"], v["height"]] for v in values], dtype=np.float64)

        sim = box_iou_matrix(boxes(predicted), boxes(gold))
    _, _, scores = match_regions(sim, labels_a=[_region_label(v) for v in predicted],
                                 labels_b=[_region_label(v) for v in gold], threshold=threshold)
    return Detections(len(scores), len(predicted), len(gold), float(scores.sum()))


def character_accuracy(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """``1 - CER`` over a corpus: ``1 - sum(character edits) / sum(len(reference))`` [2]_.

    Each pair's edits are :func:`metrics.text.character_error_rate` times its reference length (an
    empty reference costs one edit per hypothesis character). May be negative when the hypotheses
    insert more characters than the references hold; NaN when every reference is empty.

    Examples
    --------
    >>> character_accuracy(["abcd", "ef"], ["abcd", "eg"])
    0.8333333333333334
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"got {len(references)} references but {len(hypotheses)} hypotheses")
    edits = 0.0
    length = 0
    for ref, hyp in zip(references, hypotheses):
        edits += character_error_rate(ref, hyp) * len(ref) if ref else len(hyp)
        length += len(ref)
    return 1.0 - edits / length if length else float("nan")
