"""Time of one task's agreement and consensus (``core.quality.compute_consensus``) per tag family.

This runs inside every submit that completes a task (overlap > 1), under the database write lock, so it is
part of what a labeler waits for. Three annotators per task, realistic answers; prints one JSON line per
case with the median and p95 in microseconds::

    python bench/bench_consensus.py [--repeat 2000]

Run it from another checkout's root to compare two versions on the same machine (the API is unchanged).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))

from core.quality import compute_consensus, project_config  # noqa: E402

Item = dict[str, Any]


def _choices(answer: str) -> list[Item]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [answer]}}]


def _boxes(dx: float) -> list[Item]:
    return [{"id": f"b{i}{dx}", "from_name": "box", "to_name": "image", "type": "rectanglelabels",
             "original_width": 640, "original_height": 480,
             "value": {"x": 10 + 20 * i + dx, "y": 10, "width": 15, "height": 20, "rotation": 0,
                       "rectanglelabels": ["Car"]}} for i in range(4)]


def _spans(shift: int) -> list[Item]:
    return [{"id": f"s{i}{shift}", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 10 * i + shift, "end": 10 * i + 6, "labels": ["PER"], "text": "x"}} for i in range(3)]


def _text(words: str) -> list[Item]:
    return [{"from_name": "answer", "to_name": "text", "type": "textarea", "value": {"text": [words]}}]


CASES: dict[str, tuple[str, dict[str, Any], list[list[Item]]]] = {
    "choices": ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
                '<Choice value="Positive"/><Choice value="Negative"/></Choices></View>',
                {"text": "t"}, [_choices("Positive"), _choices("Positive"), _choices("Negative")]),
    "boxes": ('<View><Image name="image" value="$image"/><RectangleLabels name="box" toName="image">'
              '<Label value="Car"/></RectangleLabels></View>',
              {"image": "a.png"}, [_boxes(0), _boxes(1), _boxes(2)]),
    "spans": ('<View><Text name="text" value="$text"/><Labels name="label" toName="text">'
              '<Label value="PER"/></Labels></View>',
              {"text": "x" * 60}, [_spans(0), _spans(1), _spans(0)]),
    "textarea": ('<View><Text name="text" value="$text"/><TextArea name="answer" toName="text"/></View>',
                 {"text": "t"}, [_text("the cat sat"), _text("the cat sat."), _text("a dog ran")]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    for name, (xml, data, answers) in CASES.items():
        cfg = project_config(xml)
        for _ in range(50):  # warm caches (config attributes, imports)
            compute_consensus(cfg, data, answers)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            compute_consensus(cfg, data, answers)
            times.append((time.perf_counter() - start) * 1e6)
        times.sort()
        print(json.dumps({"case": name, "median_us": round(statistics.median(times), 1),
                          "p95_us": round(times[int(0.95 * len(times))], 1)}))


if __name__ == "__main__":
    main()
