"""Send slots shared by every worker through a row in the database: the spacing arithmetic
(pure) and handing reserved slots to sends just as they start.

GCRA: the row keeps `next_slot_at`, the theoretical time of the next send. A send may go at t
when t >= next_slot_at - (burst - 1) / rate, and each granted send moves next_slot_at on by
1 / rate. So however many workers reserve, the receiver sees at most `burst` sends at once and
`per_second` a second after that. A worker reserves only slots within `horizon` of now and
waits for each slot before sending. Carriers use burst 1; webhook destinations a small burst.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

# What a slot was counted in besides the spacing (a carrier's quota windows), to give back.
W = TypeVar("W", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Spacing:
    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("need per_second > 0 and burst >= 1")

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=1 / self.per_second)


@dataclass(frozen=True, slots=True)
class SlotPlan:
    send_at: tuple[datetime, ...]  # one slot per granted send, oldest first
    next_slot_at: datetime | None  # the schedule after the grant; unchanged when none granted
    wait_until: datetime | None  # set when nothing was granted: the next slot enters the horizon


def plan_slots(
    next_slot_at: datetime | None,
    *,
    wanted: int,
    spacing: Spacing,
    now: datetime,
    horizon: timedelta,
) -> SlotPlan:
    """Grants up to `wanted` slots, none before now nor beyond now + horizon; with burst 1 they
    are exactly 1/rate apart from the schedule's next slot on."""
    interval = spacing.interval
    tolerance = interval * (spacing.burst - 1)
    first = max(now, next_slot_at or now)
    # Slot i goes at max(now, first + i * interval - tolerance): the burst's slots are due now.
    reach = now + horizon + tolerance
    fit = int((reach - first) / interval) + 1 if first <= reach else 0
    granted = min(wanted, fit)
    if granted <= 0:
        return SlotPlan((), next_slot_at, max(now, first - tolerance) - horizon)
    slots = tuple(max(now, first + interval * i - tolerance) for i in range(granted))
    return SlotPlan(slots, first + interval * granted, None)


# No slots: on Python 3.11, a frozen dataclass with slots cannot be generic (super() fails).
@dataclass(frozen=True)
class Reservation(Generic[W]):
    send_at: tuple[datetime, ...]  # one slot per granted send
    wait_until: datetime | None  # set when nothing was granted
    # What the granted slots were counted in, to give unused ones back to.
    windows: W | None = None


class SlotSource(Generic[W]):
    """Reserves shared slots a small block at a time, when a send is about to go.

    A slot reserved long before its send can start (the send queued behind others in flight)
    would be missed; reserving per block keeps slots fresh while costing one database round trip
    per block, not per send. Once the shared row says wait, every later send is told so. Slots
    that were reserved but not used (the block was bigger than the sends left, a send woke too
    late) are counted by what they were counted in (`unused()`), for the caller to give back.
    """

    def __init__(
        self,
        reserve: Callable[[int], Awaitable[Reservation[W]]],
        *,
        block: int,
        clock: Callable[[], datetime],
        tolerance: timedelta,
    ) -> None:
        self._reserve = reserve
        self._block = block
        self._clock = clock
        self._tolerance = tolerance
        self._slots: deque[tuple[datetime, W | None]] = deque()
        self._taken: dict[datetime, W | None] = {}
        self._unused: Counter[W] = Counter()
        self._lock = asyncio.Lock()
        self.exhausted = False
        self.stopped = False  # the receiver said wait: slots already handed out are void too
        self.wait_until: datetime | None = None

    async def take(self) -> datetime | None:
        """The send time of the next slot, or None when the shared limits say wait."""
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
        """A send took this slot but did not go out (it woke too late): the slot is unused."""
        self._discard(self._taken.pop(send_at, None))

    def stop(self, *, until: datetime) -> None:
        """The receiver said wait (429): no further slot is handed out, queued ones are unused."""
        self.exhausted = self.stopped = True
        self.wait_until = max(self.wait_until or until, until)
        while self._slots:
            self._discard(self._slots.popleft()[1])

    def unused(self) -> Counter[W]:
        """Slots reserved and never used; the slots still queued count too (call this once the
        sends are done)."""
        remaining = Counter(w for _, w in self._slots if w is not None)
        return self._unused + remaining

    def _discard(self, windows: W | None) -> None:
        if windows is not None:
            self._unused[windows] += 1
