"""Read ahead: pull items on background threads so extraction overlaps the warehouse's insert.

Memory stays bounded: at most `depth` items wait in the queue (plus one per producer being handed
over). Errors from a producer are re-raised in the consumer; a consumer that stops early stops
every producer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield the items of `items`, produced up to `depth` ahead on a daemon thread."""
    return interleave([items], depth)


def interleave(sources: Iterable[Iterator[T]], depth: int = 2) -> Iterator[T]:
    """Yield the items of every source (each consumed on its own thread) in arrival order."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(obj) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(items: Iterator[T]) -> None:
        it = iter(items)
        try:
            for item in it:
                if not put(item):
                    break
            else:
                put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    threads = [threading.Thread(target=produce, args=(s,), name=f"prefetch-{i}", daemon=True)
               for i, s in enumerate(sources)]
    return _consume(q, stop, threads)


def _consume(q: queue.Queue, stop: threading.Event, threads: list[threading.Thread]) -> Iterator:
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = q.get()
            if item is _END:
                running -= 1
                continue
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
