"""Sharing the event loop during CPU-bound loops, so that one big batch never starves the rest of
the process (polling, delivery, the metrics endpoint) for more than a slice."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import timedelta

DEFAULT_SLICE = timedelta(milliseconds=20)


class Pacer:
    """Call `await pacer.turn()` between items: it yields once a slice of time has passed."""

    def __init__(self, slice_: timedelta = DEFAULT_SLICE) -> None:
        self._slice = slice_.total_seconds()
        self._since = time.monotonic()

    async def turn(self) -> None:
        if time.monotonic() - self._since >= self._slice:
            await asyncio.sleep(0)
            self._since = time.monotonic()


def settle_heap() -> None:
    """Takes what a process has built by the time it serves (modules, classes, mappers, compiled
    schemas: hundreds of thousands of objects that live as long as the process) out of the
    garbage collector's reach. A full collection walks every tracked object while the event loop
    waits; with these frozen it walks only what the process made since. Call once, at start."""
    gc.collect()
    gc.freeze()
