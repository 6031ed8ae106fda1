"""core.read_ahead: items in order, errors raised where they happened, the worker stopped and joined when
the consumer stops early (so the producer's database connection is free again)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from core.read_ahead import read_ahead


def test_items_come_in_order_from_another_thread() -> None:
    threads: list[str] = []

    def pages() -> Iterator[int]:
        for i in range(50):
            threads.append(threading.current_thread().name)
            yield i

    assert list(read_ahead(pages())) == list(range(50))
    assert set(threads) == {"quorum-read-ahead"}


def test_a_producer_error_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 is broken")

    seen = []
    with pytest.raises(ValueError, match="page 3 is broken"):
        for item in read_ahead(pages()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_producer_in_its_thread_and_joins_it() -> None:
    closed = threading.Event()
    produced = []

    def pages() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    items = read_ahead(pages(), depth=1)
    assert next(items) == 0
    items.close()
    assert closed.is_set()  # the producer's cleanup ran before close() returned
    assert len(produced) <= 3  # one item ahead, not the whole source
    assert not [t for t in threading.enumerate() if t.name == "quorum-read-ahead"]
