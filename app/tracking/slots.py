"""Handing a carrier's rate slots to calls just as they start, not long before."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.tracking.rate import QuotaWindows, Reservation


class SlotSource:
    """Reserves the carrier's shared slots a small block at a time, when a call is about to go.

    A slot reserved long before its call can start (the call queued behind others in flight)
    would be missed; reserving per block keeps slots fresh while costing one database round trip
    per block, not per call. Once the carrier says wait, every later call is told so. Slots that
    were reserved but not used (the block was bigger than the calls left, a call woke too late)
    are counted by quota window in `unused()`, for the poller to give back.
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
        self._slots: deque[tuple[datetime, QuotaWindows | None]] = deque()
        self._taken: dict[datetime, QuotaWindows | None] = {}
        self._unused: Counter[QuotaWindows] = Counter()
        self._lock = asyncio.Lock()
        self.exhausted = False
        self.wait_until: datetime | None = None

    async def take(self) -> datetime | None:
        """The send time of the next slot, or None when the carrier's limits say wait."""
        async with self._lock:
            now = self._clock()
            while self._slots and now - self._slots[0][0] > self._tolerance:
                self._discard(self._slots.popleft()[1])  # nobody could use it in time
            if not self._slots and not self.exhausted:
                reservation = await self._reserve(self._block)
                if not reservation.send_at:
                    self.exhausted = True
                    self.wait_until = reservation.wait_until
                self._slots.extend((at, reservation.windows) for at in reservation.send_at)
            if not self._slots:
                return None
            send_at, windows = self._slots.popleft()
            self._taken[send_at] = windows
            return send_at

    def not_sent(self, send_at: datetime) -> None:
        """A call took this slot but did not go out (it woke too late): the slot is unused."""
        self._discard(self._taken.pop(send_at, None))

    def unused(self) -> Counter[QuotaWindows]:
        """Slots reserved and never used, by the quota windows they were counted in; the slots
        still queued count too (call this once the calls are done)."""
        remaining = Counter(w for _, w in self._slots if w is not None)
        return self._unused + remaining

    def _discard(self, windows: QuotaWindows | None) -> None:
        if windows is not None:
            self._unused[windows] += 1
