"""The carrier_states row: read and written under a row lock so workers agree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.kernel.breaker import Breaker
from app.tracking.models import CarrierState
from app.tracking.rate import Budget, CarrierLimits, QuotaRoom, QuotaWindows, give_back
from app.tracking.rate import quota_room as rate_quota_room


async def lock_carrier_state(session: AsyncSession, carrier: str, *, now: datetime) -> CarrierState:
    """The carrier's row, created on first use and locked until the transaction ends."""
    insert = db.insert_ignoring_duplicates(session, CarrierState.__table__, unique=["carrier"])
    await session.execute(
        insert.values(
            carrier=carrier,
            hour_used=0,
            day_used=0,
            breaker_state="closed",
            breaker_failures=0,
            updated_at=now,
        )
    )
    stmt = select(CarrierState).where(CarrierState.carrier == carrier)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    state = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
    return state


async def list_carrier_states(session: AsyncSession) -> list[CarrierState]:
    return list(
        (await session.execute(select(CarrierState).order_by(CarrierState.carrier))).scalars()
    )


async def quota_room(
    session: AsyncSession, carrier: str, *, limits: CarrierLimits, now: datetime
) -> QuotaRoom | None:
    """What the carrier's quotas still allow, read without a lock (a claim's upper bound; the
    reservation under the lock decides each call)."""
    if limits.per_hour is None and limits.per_day is None:
        return None
    state = await session.get(CarrierState, carrier, populate_existing=True)
    budget = budget_of(state) if state else Budget(None, None, 0, None, 0, None)
    return rate_quota_room(budget, limits=limits, now=now)


def budget_of(state: CarrierState) -> Budget:
    return Budget(
        next_slot_at=state.next_slot_at,
        hour_window_start=state.hour_window_start,
        hour_used=state.hour_used,
        day_window_start=state.day_window_start,
        day_used=state.day_used,
        paused_until=state.paused_until,
    )


def store_budget(state: CarrierState, budget: Budget) -> None:
    state.next_slot_at = budget.next_slot_at
    state.hour_window_start = budget.hour_window_start
    state.hour_used = budget.hour_used
    state.day_window_start = budget.day_window_start
    state.day_used = budget.day_used
    state.paused_until = budget.paused_until


async def give_back_slots(
    session: AsyncSession, carrier: str, unused: Mapping[QuotaWindows, int], *, now: datetime
) -> None:
    """Slots reserved but never used (a count per quota window they were reserved in) stop
    counting against the carrier's quotas: polls and subscription calls alike."""
    if not unused:
        return
    state = await lock_carrier_state(session, carrier, now=now)
    budget = budget_of(state)
    for windows, count in unused.items():
        budget = give_back(budget, unused=count, windows=windows)
    store_budget(state, budget)


def breaker_of(state: CarrierState) -> Breaker:
    return Breaker(
        state=state.breaker_state,
        failures=state.breaker_failures,
        open_until=state.breaker_open_until,
    )


def store_breaker(state: CarrierState, breaker: Breaker) -> None:
    state.breaker_state = breaker.state
    state.breaker_failures = breaker.failures
    state.breaker_open_until = breaker.open_until
