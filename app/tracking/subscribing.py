"""Subscribing legs to push one tracking number at a time, on one path for every carrier that
subscribes that way (UPS Track Alert: up to 100 numbers a call, every leg; USPS: one number a
call, hand-off legs only). New legs get their rows, due rows are claimed a call at a time
(subscriptions.py: claim, record, back off, renew), and every call first takes a slot of the
carrier's budget in carrier_states, the one polls take theirs from: the rate's slots and the
hourly and daily quota windows. So subscriptions and polls together stay within the carrier's
limits, and each call is counted in carrier_call_counts.subscription_calls.

Polls keep priority where the carrier rations calls (an hourly or daily quota):
- no subscription call while a due poll of the carrier waits on an alert deadline that has
  passed or falls within URGENT_WITHIN (backlog.urgent_poll_waiting);
- a subscription call never takes the last quarter of a quota window (rate.KEPT_FOR_POLLS), so
  polls that fall due later in the window still find room.
A carrier without a quota (UPS publishes none) shares only the rate's slots, first come first
served. Subscription calls are made only while the carrier's breaker is closed: the polls probe
a failing carrier, and a 429 pauses the carrier for polls and subscriptions alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import metrics
from app.db import retry_on_conflict, session_scope
from app.kernel.clock import Clock
from app.tracking import backlog, carrier_state, recording, subscriptions
from app.tracking.judging import DEFAULT_RATE_LIMIT_WAIT
from app.tracking.rate import (
    CarrierLimits,
    Reservation,
    plan_reservation,
    subscription_room,
)
from carriers.errors import CarrierError, CarrierRateLimited
from carriers.types import SubscriptionAnswer

logger = logging.getLogger("app.tracking.subscribing")
Sleep = Callable[[float], Awaitable[None]]

# A due poll whose alert deadline is this close (or past) goes before any subscription call.
URGENT_WITHIN = timedelta(hours=6)
# Calls one run of the job makes per carrier (it runs every minute). A rationed carrier (USPS):
# one number a minute, well inside its quota. One without a quota (UPS): up to 2,000 numbers a
# minute, so a large import is subscribed within HISTORY_GRACE of its labels and needs no
# history polls (subscriptions.push_covers_history), at 20 of the rate's slots.
MAX_CALLS_PER_RUN = 1
MAX_UNRATIONED_CALLS_PER_RUN = 20
HORIZON = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class NumberSubscriber:
    """How one carrier subscribes per tracking number, for the shared path."""

    carrier: str
    numbers_per_call: int
    lifetime: timedelta | None  # None: kept until the leg stops being tracked
    legs: str  # subscriptions.ALL_LEGS or subscriptions.HANDOFF_LEGS
    subscribe: Callable[[Sequence[str]], Awaitable[SubscriptionAnswer]]


@dataclass
class SubscribeReport:
    carrier: str
    asked: int = 0  # numbers asked for
    calls: int = 0
    failed_calls: int = 0
    waiting_until: datetime | None = None  # the budget said wait (quota, rate, breaker)
    held_for_polls: bool = False  # an urgent poll waits: no subscription call this run


async def subscribe_due_legs(
    sessionmaker: async_sessionmaker[AsyncSession],
    subscriber: NumberSubscriber,
    *,
    limits: CarrierLimits,
    clock: Clock,
    sleep: Sleep = asyncio.sleep,
    max_calls: int | None = None,
) -> SubscribeReport:
    """Gives the carrier's new legs their rows, then asks for due subscriptions a call at a time
    while the carrier's budget grants a slot. Never touches ingest: legs are picked up after
    they are stored."""
    report = SubscribeReport(subscriber.carrier)
    carrier = subscriber.carrier
    if max_calls is None:
        rationed = limits.per_hour is not None or limits.per_day is not None
        max_calls = MAX_CALLS_PER_RUN if rationed else MAX_UNRATIONED_CALLS_PER_RUN
    async with session_scope(sessionmaker) as session:
        now = clock()
        await subscriptions.add_new_legs(session, carrier=carrier, now=now, legs=subscriber.legs)
        await subscriptions.expire_lapsed(session, now=now)
    for _ in range(max_calls):
        async with session_scope(sessionmaker) as session:
            if not await subscriptions.any_due(session, carrier=carrier, now=clock()):
                break
        slot = await _reserve(sessionmaker, carrier, limits=limits, clock=clock, report=report)
        if slot is None:
            break
        claimed = await _claim(sessionmaker, subscriber, clock=clock)
        if not claimed:  # another worker took them meanwhile
            await _give_back(sessionmaker, carrier, slot, clock=clock)
            break
        delay = (slot.send_at[0] - clock()).total_seconds()
        if delay > 0:
            await sleep(delay)
        await _call(sessionmaker, subscriber, claimed, clock=clock, report=report)
    return report


@retry_on_conflict
async def _reserve(
    sessionmaker: async_sessionmaker[AsyncSession],
    carrier: str,
    *,
    limits: CarrierLimits,
    clock: Clock,
    report: SubscribeReport,
) -> Reservation | None:
    """One slot of the carrier's shared budget, or None (the reason in the report)."""
    async with session_scope(sessionmaker) as session:
        rationed = limits.per_hour is not None or limits.per_day is not None
        now = clock()
        if rationed and await backlog.urgent_poll_waiting(
            session, carrier=carrier, now=now, within=URGENT_WITHIN
        ):
            report.held_for_polls = True
            return None
        state = await carrier_state.lock_carrier_state(session, carrier, now=now)
        now = clock()  # after the lock wait, as the poller reads it
        if state.breaker_state != "closed":
            report.waiting_until = state.breaker_open_until
            return None
        budget = carrier_state.budget_of(state)
        room = subscription_room(budget, limits=limits, now=now)
        if room is not None and room.calls <= 0:
            report.waiting_until = room.opens_at
            return None
        reservation, budget = plan_reservation(
            budget, wanted=1, limits=limits, now=now, horizon=HORIZON
        )
        if not reservation.send_at:
            report.waiting_until = reservation.wait_until
            return None
        carrier_state.store_budget(state, budget)
        state.updated_at = now
        return reservation


@retry_on_conflict
async def _give_back(
    sessionmaker: async_sessionmaker[AsyncSession],
    carrier: str,
    slot: Reservation,
    *,
    clock: Clock,
) -> None:
    if slot.windows is None:
        return
    async with session_scope(sessionmaker) as session:
        await carrier_state.give_back_slots(session, carrier, {slot.windows: 1}, now=clock())


@retry_on_conflict
async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession], subscriber: NumberSubscriber, *, clock: Clock
) -> list[subscriptions.ClaimedSubscription]:
    async with session_scope(sessionmaker) as session:
        return await subscriptions.claim_due(
            session, carrier=subscriber.carrier, now=clock(), limit=subscriber.numbers_per_call
        )


async def _call(
    sessionmaker: async_sessionmaker[AsyncSession],
    subscriber: NumberSubscriber,
    claimed: list[subscriptions.ClaimedSubscription],
    *,
    clock: Clock,
    report: SubscribeReport,
) -> None:
    """Sends one subscription request and records its answer or its failure, and the call."""
    carrier = subscriber.carrier
    report.calls += 1
    report.asked += len(claimed)
    try:
        answer = await subscriber.subscribe([c.number for c in claimed])
    except CarrierError as error:
        report.failed_calls += 1
        await _record_failure(sessionmaker, carrier, claimed, error, clock=clock)
        metrics.SUBSCRIPTION_CALLS.labels(carrier, "failed").inc()
        logger.warning("%s subscription of %d legs failed: %s", carrier, len(claimed), error)
        return
    metrics.SUBSCRIPTION_CALLS.labels(carrier, "answered").inc()
    await _record_answer(sessionmaker, subscriber, claimed, answer, clock=clock)


@retry_on_conflict
async def _record_answer(
    sessionmaker: async_sessionmaker[AsyncSession],
    subscriber: NumberSubscriber,
    claimed: list[subscriptions.ClaimedSubscription],
    answer: SubscriptionAnswer,
    *,
    clock: Clock,
) -> None:
    now = clock()
    lifetime = subscriber.lifetime
    async with session_scope(sessionmaker) as session:
        await subscriptions.record_answer(
            session,
            claimed,
            subscribed=answer.subscribed,
            reference=answer.reference,
            expires_at=now + lifetime if lifetime is not None else None,
            now=now,
        )
        await _count_call(session, subscriber.carrier, claimed, now=now)


@retry_on_conflict
async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    carrier: str,
    claimed: list[subscriptions.ClaimedSubscription],
    error: CarrierError,
    *,
    clock: Clock,
) -> None:
    now = clock()
    async with session_scope(sessionmaker) as session:
        await subscriptions.record_failure(
            session, claimed, error=str(error), retryable=error.retryable, now=now
        )
        if isinstance(error, CarrierRateLimited):
            # The carrier's quota is spent for polls too: everyone waits, as after a poll's 429.
            state = await carrier_state.lock_carrier_state(session, carrier, now=now)
            until = now + (error.retry_after or DEFAULT_RATE_LIMIT_WAIT)
            state.paused_until = max(state.paused_until or until, until)
        await _count_call(session, carrier, claimed, now=now)


async def _count_call(
    session: AsyncSession,
    carrier: str,
    claimed: Sequence[subscriptions.ClaimedSubscription],
    *,
    now: datetime,
) -> None:
    # Billed, as a poll's call is, to the state most of its legs were in.
    state = Counter(c.leg_status or "new" for c in claimed).most_common(1)[0][0]
    tally = recording.CallTally(subscription_calls=Counter({state: 1}))
    await recording.count_calls(session, day=now.date(), carrier=carrier, tally=tally)
