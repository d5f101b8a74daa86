"""Carrier limits shared by every worker (pure planning; the row lives in carrier_states).

Rate: GCRA with no burst (app.kernel.send_slots). Each call reserves the next free slot, slots
1/rate apart, so the carrier sees at most `per_second` calls in any second however many workers
there are. A worker reserves only slots within `horizon` of now and waits for each slot.
Quotas: fixed hourly windows (on the hour, UTC) and daily windows (UTC midnight).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from app.kernel.send_slots import Reservation as SlotReservation
from app.kernel.send_slots import Spacing, plan_slots
from carriers.types import RateLimit


@dataclass(frozen=True, slots=True)
class CarrierLimits:
    per_second: float
    per_hour: int | None = None
    per_day: int | None = None


@dataclass(frozen=True, slots=True)
class Budget:
    next_slot_at: datetime | None
    hour_window_start: datetime | None
    hour_used: int
    day_window_start: datetime | None
    day_used: int
    paused_until: datetime | None


@dataclass(frozen=True, slots=True)
class QuotaWindows:
    hour_start: datetime
    day_start: datetime


# A carrier's slots are counted in its quota windows, to give unused ones back to.
Reservation: TypeAlias = SlotReservation[QuotaWindows]


def _hour_start(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def plan_reservation(
    budget: Budget,
    *,
    wanted: int,
    limits: CarrierLimits,
    now: datetime,
    horizon: timedelta = timedelta(seconds=2),
) -> tuple[Reservation, Budget]:
    """Grants up to `wanted` calls with their send times, and the budget after the grant."""
    if budget.paused_until is not None and now < budget.paused_until:
        return Reservation((), budget.paused_until), budget
    hour_start, day_start = _hour_start(now), _day_start(now)
    hour_used = budget.hour_used if budget.hour_window_start == hour_start else 0
    day_used = budget.day_used if budget.day_window_start == day_start else 0
    room = wanted
    if limits.per_hour is not None:
        room = min(room, limits.per_hour - hour_used)
    if limits.per_day is not None:
        room = min(room, limits.per_day - day_used)
    if room <= 0:
        day_full = limits.per_day is not None and day_used >= limits.per_day
        wait = day_start + timedelta(days=1) if day_full else hour_start + timedelta(hours=1)
        return Reservation((), wait), budget
    plan = plan_slots(
        budget.next_slot_at,
        wanted=room,
        spacing=Spacing(limits.per_second),
        now=now,
        horizon=horizon,
    )
    granted = len(plan.send_at)
    if granted <= 0:
        return Reservation((), plan.wait_until), budget
    return Reservation(plan.send_at, None, QuotaWindows(hour_start, day_start)), Budget(
        next_slot_at=plan.next_slot_at,
        hour_window_start=hour_start,
        hour_used=hour_used + granted,
        day_window_start=day_start,
        day_used=day_used + granted,
        paused_until=None,
    )


@dataclass(frozen=True, slots=True)
class QuotaRoom:
    calls: int  # calls the hourly and daily quotas still allow now
    opens_at: datetime  # when more room comes (the next window), for a claim that must wait


def quota_room(
    budget: Budget, *, limits: CarrierLimits, now: datetime, kept: float = 0.0
) -> QuotaRoom | None:
    """What the hourly and daily quotas still allow, less the share `kept` of each window's
    limit (rounded up) for others; None for a carrier without quotas."""
    if limits.per_hour is None and limits.per_day is None:
        return None
    hour_start, day_start = _hour_start(now), _day_start(now)
    rooms = []
    if limits.per_hour is not None:
        used = budget.hour_used if budget.hour_window_start == hour_start else 0
        reserved = math.ceil(limits.per_hour * kept)
        rooms.append((limits.per_hour - reserved - used, hour_start + timedelta(hours=1)))
    if limits.per_day is not None:
        used = budget.day_used if budget.day_window_start == day_start else 0
        reserved = math.ceil(limits.per_day * kept)
        rooms.append((limits.per_day - reserved - used, day_start + timedelta(days=1)))
    calls, opens_at = min(rooms)
    return QuotaRoom(max(calls, 0), opens_at)


# Subscription calls never take the last quarter of a carrier's hourly or daily quota: polls that
# fall due later in the window (a confirmation before a deadline) still find room there.
KEPT_FOR_POLLS = 0.25


def subscription_room(budget: Budget, *, limits: CarrierLimits, now: datetime) -> QuotaRoom | None:
    """What the quotas still allow subscription calls: the room beyond KEPT_FOR_POLLS."""
    return quota_room(budget, limits=limits, now=now, kept=KEPT_FOR_POLLS)


def give_back(budget: Budget, *, unused: int, windows: QuotaWindows) -> Budget:
    """The budget with `unused` slots of a reservation no longer counted against the hourly and
    daily quotas (each only while its window is still the current one). Reserving first is what
    keeps several workers under a quota; giving back keeps it from counting calls never made.
    The per-second spacing is not given back: those slots have passed or are about to."""
    hour_used, day_used = budget.hour_used, budget.day_used
    if budget.hour_window_start == windows.hour_start:
        hour_used = max(0, hour_used - unused)
    if budget.day_window_start == windows.day_start:
        day_used = max(0, day_used - unused)
    return Budget(
        next_slot_at=budget.next_slot_at,
        hour_window_start=budget.hour_window_start,
        hour_used=hour_used,
        day_window_start=budget.day_window_start,
        day_used=day_used,
        paused_until=budget.paused_until,
    )


def resolve_limits(
    published: RateLimit, overrides: Mapping[str, float | None], *, safety: float
) -> CarrierLimits:
    """The published limit, overridden per key, with `safety` taken off the per-second rate."""
    per_second = overrides.get("per_second", published.requests_per_second)
    per_hour = overrides.get("per_hour", published.requests_per_hour)
    per_day = overrides.get("per_day", published.requests_per_day)
    return CarrierLimits(
        per_second=float(per_second or published.requests_per_second) * safety,
        per_hour=int(per_hour) if per_hour else None,
        per_day=int(per_day) if per_day else None,
    )
