"""Benchmark of the quality engine: agreement and consensus at portal scale.

    python bench/bench_metrics.py [--tasks 100000] [--images 10000]

Prints seconds per step (best of ``--repeat`` runs) for 100,000 tasks x 3 annotators choosing one of
4 labels: Krippendorff's alpha, Fleiss' kappa, Gwet's AC1, percent agreement, majority vote and
Dawid-Skene; the ``krippendorff`` package's alpha on the same data and the ratio to ours; then box
fusion for 10,000 images x 3 annotators x 10 boxes. Targets: agreement + consensus under 1 s, alpha
no slower than ``krippendorff``, boxes under 10 s.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics.coefficients import fleiss_kappa, gwet_ac1, krippendorff_alpha, percent_agreement  # noqa: E402
from metrics.consensus import DawidSkene, MajorityVote, fuse_boxes  # noqa: E402


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def choices(n_tasks: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    truth = rng.integers(0, 4, n_tasks)
    right = rng.random((3, n_tasks)) < np.array([[0.9], [0.75], [0.6]])
    x = np.where(right, truth, rng.integers(0, 4, (3, n_tasks)))
    frame = pd.DataFrame({"task": np.tile(np.arange(n_tasks), 3), "annotator": np.repeat([101, 102, 103], n_tasks),
                          "label": x.ravel()})
    return frame, x.astype(np.float64)


def image_boxes(n_images: int, rng: np.random.Generator) -> pd.DataFrame:
    n_obj = 10
    base = rng.uniform(0, 85, (n_images, n_obj, 2))
    size = rng.uniform(5, 15, (n_images, n_obj, 2))
    parts = []
    for a in range(3):
        jitter = rng.normal(0, 0.5, (n_images, n_obj, 4))
        parts.append(pd.DataFrame({
            "task": np.repeat(np.arange(n_images), n_obj), "annotator": a,
            "label": np.where(rng.random(n_images * n_obj) < 0.5, "Car", "Person"),
            "x": (base[..., 0] + jitter[..., 0]).ravel(), "y": (base[..., 1] + jitter[..., 1]).ravel(),
            "width": (size[..., 0] + jitter[..., 2]).ravel(), "height": (size[..., 1] + jitter[..., 3]).ravel()}))
    return pd.concat(parts, ignore_index=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(2024)

    frame, matrix = choices(args.tasks, rng)
    print(f"choices: {args.tasks:,} tasks x 3 annotators, 4 labels ({len(frame):,} rows)")
    steps = {
        "krippendorff_alpha": lambda: krippendorff_alpha(frame),
        "fleiss_kappa": lambda: fleiss_kappa(frame),
        "gwet_ac1": lambda: gwet_ac1(frame),
        "percent_agreement": lambda: percent_agreement(frame),
        "MajorityVote": lambda: MajorityVote().fit_predict(frame),
        "DawidSkene": lambda: DawidSkene().fit_predict(frame),
    }
    total = 0.0
    timings = {}
    for name, fn in steps.items():
        seconds, value = best_of(fn, args.repeat)
        timings[name] = seconds
        total += seconds
        shown = f"{value:.6f}" if isinstance(value, float) else f"{len(value):,} labels"  # type: ignore[arg-type]
        print(f"  {name:20s} {seconds:8.4f} s   {shown}")
    print(f"  {'total':20s} {total:8.4f} s   (target < 1 s)")
    try:
        import krippendorff
    except ImportError:
        print("  krippendorff package not installed: no comparison")
    else:
        theirs, value = best_of(lambda: krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"), args.repeat)
        ours = timings["krippendorff_alpha"]
        print(f"  krippendorff.alpha   {theirs:8.4f} s   {value:.6f} (raters x items matrix given, no pivot)")
        print(f"  ratio ours / krippendorff.alpha = {ours / theirs:.2f} (target <= 1)")

    boxes = image_boxes(args.images, rng)
    print(f"boxes: {args.images:,} images x 3 annotators x 10 boxes ({len(boxes):,} rows)")
    seconds, fused = best_of(lambda: fuse_boxes(boxes, quorum=2), 1)
    print(f"  fuse_boxes           {seconds:8.4f} s   {len(fused):,} fused boxes (target < 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
