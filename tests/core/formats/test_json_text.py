"""Encoding task data for storage: the prebuilt encoder writes json.dumps' text, and a task's own JSON text is
reused only when it is provably the same value in the same form."""
from __future__ import annotations

import io
import json
import random

from core.formats.json_stream import dumps, dumps_data, iter_json_items_with_text

SAMPLES = [
    {"text": "plain"}, {"text": "café \u2028 tab\t \"q\" back\\slash / ctrl\x01"}, {"n": 1, "f": 1.5, "b": True, "z": None},
    {"nested": {"a": [1, {"b": "c"}]}}, {}, {"k": float("inf")}, [1, "two", None],
]


def test_dumps_writes_exactly_what_json_dumps_writes() -> None:
    for value in SAMPLES:
        assert dumps(value) == json.dumps(value)


def test_dumps_data_gives_text_that_decodes_to_the_data_in_either_json_dumps_form() -> None:
    rng = random.Random(3)
    alphabet = 'ab "\\/\n\t\x01é:,{}[]\u2028'
    for _ in range(3000):
        data = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))):
                rng.choice(["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))), 3, None, [1], {"x": "y"}])
                for _ in range(rng.randint(0, 3))}
        for source in (json.dumps(data), json.dumps(data, ensure_ascii=False), json.dumps(data, indent=2), None):
            stored = dumps_data(json.loads(source) if source else data, source)
            assert json.loads(stored) == data
            assert stored in (json.dumps(data), json.dumps(data, ensure_ascii=False))


def test_the_decoder_hands_out_each_items_own_text_across_chunk_boundaries() -> None:
    items = [{"text": "x" * n, "i": n} for n in range(0, 400, 7)]
    raw = json.dumps(items, indent=1).encode()
    decoded = list(iter_json_items_with_text(io.BytesIO(raw), filename="t.json", chunk_size=64))
    assert [value for _, value, _ in decoded] == items
    assert [json.loads(text) for _, _, text in decoded] == items
    [(_, one, text)] = list(iter_json_items_with_text(io.BytesIO(b' {"a": 1} '), filename="o.json"))
    assert one == {"a": 1} and text == '{"a": 1}'
