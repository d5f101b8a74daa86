"""Sharing the event loop during CPU-bound loops, so that one big batch never starves the rest of
the process (polling, delivery, the metrics endpoint) for more than a slice."""

from __future__ import annotations

import asyncio
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
