"""Run a producer of pages in a worker thread, one page ahead of its consumer.

An export alternates two kinds of work: waiting for the database to return a page (PostgreSQL executing the
query, SQLite stepping through rows: both release the GIL) and formatting that page in Python. Done in turn,
the waits add up (a third of a 100,000-task PostgreSQL export); with the next page fetched while the current
one is formatted they overlap, on a second core.

The producer owns its database connection for the whole iteration: the consumer must not touch the same
session until the iteration ends (the exports call ``require`` before, and nothing during).
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(pages: Iterable[T], *, depth: int = 1) -> Iterator[T]:
    """The items of ``pages``, in order, produced by a worker thread at most ``depth`` items ahead.

    An exception in the producer is raised in the consumer at the point it happened. If the consumer stops
    early (closes this generator, or raises), the worker is told to stop and is joined before this
    generator finishes, so the producer's connection is free again afterwards.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    source = iter(pages)

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failed(exc))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator stopped early runs its cleanup here, in the thread that used it
                close()
        put(_DONE)

    worker = threading.Thread(target=produce, name="quorum-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
