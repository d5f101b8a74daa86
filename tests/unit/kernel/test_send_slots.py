from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kernel.send_slots import SlotSource, Spacing, plan_slots
from app.tracking.rate import QuotaWindows, Reservation

NOW = datetime(2026, 12, 17, 15, 30, tzinfo=UTC)
WINDOWS = QuotaWindows(NOW.replace(minute=0), NOW.replace(hour=0, minute=0))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def source(clock: Clock, block: int = 5) -> SlotSource[QuotaWindows]:
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


MS = timedelta(milliseconds=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("next_slot_at", "wanted", "spacing", "expected_send_at", "expected_next"),
    [
        # Idle schedule, burst 1: one slot now, the next a full interval later.
        (None, 3, Spacing(1), (NOW, NOW + SECOND, NOW + 2 * SECOND), NOW + 3 * SECOND),
        # Idle schedule, burst 3: three go now, the fourth one interval after the first.
        (None, 4, Spacing(1, burst=3), (NOW, NOW, NOW, NOW + SECOND), NOW + 4 * SECOND),
        # A schedule idle long ago is as good as a fresh one.
        (NOW - 60 * SECOND, 2, Spacing(1, burst=2), (NOW, NOW), NOW + 2 * SECOND),
        # Half a slot spent: a burst of 3 has 2.5 left, so the third waits half an interval.
        (
            NOW + 500 * MS,
            3,
            Spacing(1, burst=3),
            (NOW, NOW, NOW + 500 * MS),
            NOW + 3500 * MS,
        ),
        # The horizon (2 s) cuts the grant short: slots at 0, 1 and 2 s only.
        (None, 10, Spacing(1), (NOW, NOW + SECOND, NOW + 2 * SECOND), NOW + 3 * SECOND),
        # 20 a second with a burst of 3: three now, then 50 ms apart.
        (
            None,
            5,
            Spacing(20, burst=3),
            (NOW, NOW, NOW, NOW + 50 * MS, NOW + 100 * MS),
            NOW + 250 * MS,
        ),
    ],
)
def test_slots_follow_the_rate_after_the_burst(
    next_slot_at, wanted, spacing, expected_send_at, expected_next
):
    plan = plan_slots(
        next_slot_at, wanted=wanted, spacing=spacing, now=NOW, horizon=timedelta(seconds=2)
    )

    assert plan.send_at == expected_send_at
    assert plan.next_slot_at == expected_next
    assert plan.wait_until is None


@pytest.mark.parametrize(
    ("next_slot_at", "spacing", "expected_wait_until"),
    [
        # Another worker holds the next 5 s: wait until the free slot enters the 2 s horizon.
        (NOW + 5 * SECOND, Spacing(1), NOW + 3 * SECOND),
        # A burst of 3 lets the slot go 2 intervals before the schedule's time.
        (NOW + 5 * SECOND, Spacing(1, burst=3), NOW + SECOND),
    ],
)
def test_a_schedule_held_beyond_the_horizon_says_when_to_come_back(
    next_slot_at, spacing, expected_wait_until
):
    plan = plan_slots(
        next_slot_at, wanted=1, spacing=spacing, now=NOW, horizon=timedelta(seconds=2)
    )

    assert plan.send_at == ()
    assert plan.next_slot_at == next_slot_at
    assert plan.wait_until == expected_wait_until


@given(
    batches=st.lists(st.tuples(st.integers(1, 20), st.integers(0, 3000)), min_size=1, max_size=30),
    burst=st.integers(1, 5),
)
def test_no_window_holds_more_than_the_burst_plus_the_rate(batches, burst):
    """Workers reserving at arbitrary moments: any window of w seconds holds at most
    burst + rate * w slots, the token bucket a receiver like Slack enforces."""
    spacing = Spacing(4, burst=burst)
    schedule, now, slots = None, NOW, []
    for wanted, after_ms in batches:
        now += after_ms * MS
        plan = plan_slots(schedule, wanted=wanted, spacing=spacing, now=now, horizon=SECOND)
        schedule = plan.next_slot_at
        slots.extend(plan.send_at)

    slots.sort()
    for i, start in enumerate(slots):
        for j in range(i, len(slots)):
            window = (slots[j] - start).total_seconds()
            assert j - i + 1 <= burst + spacing.per_second * window + 1e-9


async def test_a_stopped_source_hands_out_nothing_more():
    slots = source(Clock(), block=5)
    await slots.take()

    slots.stop(until=NOW + timedelta(seconds=30))

    assert await slots.take() is None
    assert (slots.exhausted, slots.wait_until) == (True, NOW + timedelta(seconds=30))
    assert slots.unused() == {WINDOWS: 4}
