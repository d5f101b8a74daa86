from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.tracking.rate import QuotaWindows, Reservation
from app.tracking.slots import SlotSource

NOW = datetime(2026, 12, 17, 15, 30, tzinfo=UTC)
WINDOWS = QuotaWindows(NOW.replace(minute=0), NOW.replace(hour=0, minute=0))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def source(clock: Clock, block: int = 5) -> SlotSource:
    async def reserve(wanted: int) -> Reservation:
        at = tuple(clock.now + timedelta(milliseconds=10 * i) for i in range(wanted))
        return Reservation(at, None, WINDOWS)

    return SlotSource(reserve, block=block, clock=clock, tolerance=timedelta(milliseconds=50))


async def test_slots_left_in_the_block_are_unused():
    slots = source(Clock())
    for _ in range(2):
        assert await slots.take() is not None

    assert slots.unused() == {WINDOWS: 3}


async def test_a_slot_whose_call_woke_too_late_is_unused():
    slots = source(Clock(), block=1)
    send_at = await slots.take()

    slots.not_sent(send_at)

    assert slots.unused() == {WINDOWS: 1}


async def test_slots_that_passed_before_anyone_took_them_are_unused():
    clock = Clock()
    slots = source(clock, block=3)
    await slots.take()
    clock.now += timedelta(seconds=1)  # the other two are now too old to send

    await slots.take()  # reserves a fresh block

    assert slots.unused() == {WINDOWS: 2 + 2}
