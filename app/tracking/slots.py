"""Handing a carrier's rate slots to calls just as they start, not long before."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.tracking.rate import Reservation


class SlotSource:
    """Reserves the carrier's shared slots a small block at a time, when a call is about to go.

    A slot reserved long before its call can start (the call queued behind others in flight)
    would be missed; reserving per block keeps slots fresh while costing one database round trip
    per block, not per call. Once the carrier says wait, every later call is told so.
    """

    def __init__(
        self,
        reserve: Callable[[int], Awaitable[Reservation]],
        *,
        block: int,
        clock: Callable[[], datetime],
        tolerance: timedelta,
    ) -> None:
        self._reserve = reserve
        self._block = block
        self._clock = clock
        self._tolerance = tolerance
        self._slots: deque[datetime] = deque()
        self._lock = asyncio.Lock()
        self.exhausted = False
        self.wait_until: datetime | None = None

    async def take(self) -> datetime | None:
        """The send time of the next slot, or None when the carrier's limits say wait."""
        async with self._lock:
            now = self._clock()
            while self._slots and now - self._slots[0] > self._tolerance:
                self._slots.popleft()  # a slot nobody could use in time is simply not used
            if not self._slots and not self.exhausted:
                reservation = await self._reserve(self._block)
                if not reservation.send_at:
                    self.exhausted = True
                    self.wait_until = reservation.wait_until
                self._slots.extend(reservation.send_at)
            return self._slots.popleft() if self._slots else None
