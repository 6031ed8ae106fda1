"""Region geometry: IoU of boxes and polygons, span overlap, and one-to-one region matching.

Coordinates follow Label Studio: a rectangle is ``x, y, width, height`` in percent of the image with
``rotation`` in degrees clockwise around its top-left corner; a polygon is ``points`` ``[[x, y], ...]``
in percent; a text span is ``start, end`` character offsets with an exclusive ``end``. IoU is
invariant to scaling each axis, so percent coordinates give the same IoU as pixels for unrotated
boxes and for polygons; a rotated box needs the image's aspect ratio (``aspect = width_px /
height_px``) to be turned into a polygon correctly.

References
----------
.. [1] Everingham, M. et al. (2010). The PASCAL Visual Object Classes (VOC) challenge. IJCV 88,
   303-338. doi:10.1007/s11263-009-0275-4 (IoU >= 0.5 as a match).
.. [2] Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval Research
   Logistics Quarterly 2, 83-97. doi:10.1002/nav.3800020109
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b``.

    Parameters
    ----------
    a, b : arrays of shape (n, 4) and (m, 4): ``x, y, width, height`` (any unit, same for both).

    Returns
    -------
    (n, m) array in [0, 1]; a pair of zero-area boxes has IoU 0.

    Examples
    --------
    >>> box_iou_matrix(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 2, 2]]))
    array([[0.33333333]])
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None, :]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None, :]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    iou: np.ndarray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def box_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise IoU of ``a[k]`` with ``b[k]`` for two (n, 4) arrays of ``x, y, width, height``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    iou: np.ndarray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def rectangle_polygon(x: float, y: float, width: float, height: float, rotation: float = 0.0,
                      *, aspect: float = 1.0) -> shapely.Polygon:
    """A Label Studio rectangle (percent, rotated ``rotation`` degrees about its top-left corner) as a
    polygon in percent coordinates; ``aspect`` = image width / height in pixels."""
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    if rotation:
        # Rotate in pixel-proportional space (x scaled by aspect), then back to percent.
        theta = np.deg2rad(rotation)
        px = corners * [aspect, 1.0]
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        corners = (px @ rot.T) / [aspect, 1.0]
    return shapely.Polygon(corners + [x, y])


def as_polygon(points: Sequence[Sequence[float]]) -> shapely.Geometry:
    """A polygon from ``[[x, y], ...]``; self-intersecting outlines are repaired with ``make_valid``."""
    if len(points) < 3:
        return shapely.Polygon()
    poly = shapely.Polygon(points)
    return poly if poly.is_valid else shapely.make_valid(poly)


def polygon_iou_matrix(a: Sequence[shapely.Geometry], b: Sequence[shapely.Geometry]) -> np.ndarray:
    """IoU of every geometry in ``a`` with every geometry in ``b`` (shapely, vectorised)."""
    ga = np.asarray(a, dtype=object).reshape(-1, 1)
    gb = np.asarray(b, dtype=object).reshape(1, -1)
    if ga.size == 0 or gb.size == 0:
        return np.zeros((ga.shape[0], gb.shape[1]))
    inter = shapely.area(shapely.intersection(ga, gb))
    union = shapely.area(ga) + shapely.area(gb) - inter
    iou: np.ndarray = np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)
    return iou


def span_overlap_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Overlap length (characters) of every span in ``a`` with every span in ``b``.

    ``a`` and ``b`` are (n, 2) arrays of ``start, end`` with exclusive ends.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    overlap: np.ndarray = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]),
                                  0, None)
    return overlap


def match_regions(
    similarity: np.ndarray,
    *,
    labels_a: Sequence[object] | None = None,
    labels_b: Sequence[object] | None = None,
    threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one matching of regions maximising total similarity (Hungarian [2]_).

    Pairs with different labels never match; pairs below ``threshold`` are dropped after the
    assignment (so a region is never matched twice, as in CVAT's quality reports).

    Parameters
    ----------
    similarity : (n, m) array, e.g. :func:`box_iou_matrix`.
    labels_a, labels_b : optional label per region; only same-label pairs may match.
    threshold : minimum similarity of a kept pair (default 0.5, the PASCAL VOC convention [1]_).

    Returns
    -------
    rows, cols, scores : indices into ``a`` and ``b`` of the kept pairs and their similarity.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if labels_a is not None and labels_b is not None:
        same = np.asarray(labels_a, dtype=object)[:, None] == np.asarray(labels_b, dtype=object)[None, :]
        sim = np.where(same, sim, 0.0)
    if sim.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    from scipy.optimize import linear_sum_assignment  # here, not at import: scipy.optimize costs a labeling
    # server ~60 MB and 0.4 s of start-up, and only region matching needs it

    rows, cols = linear_sum_assignment(sim, maximize=True)
    scores = sim[rows, cols]
    keep = (scores >= threshold) & (scores > 0)
    return rows[keep], cols[keep], scores[keep]
