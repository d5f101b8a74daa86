"""The alert_destinations rows: read and written under a row lock so dispatchers agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.alerts.delivery import DeliveryResult
from app.alerts.destinations import (
    DestinationLimits,
    DestinationState,
    Verdict,
    after_verdict,
    judge_answer,
)
from app.alerts.models import AlertDestination
from app.kernel.breaker import Breaker


async def lock_destination(
    session: AsyncSession, destination: str, *, channel: str, now: datetime
) -> AlertDestination:
    """The destination's row, created on first use and locked until the transaction ends."""
    insert = db.insert_ignoring_duplicates(
        session, AlertDestination.__table__, unique=["destination"]
    )
    await session.execute(
        insert.values(
            destination=destination,
            channel=channel,
            breaker_state="closed",
            breaker_failures=0,
            rate_limited=0,
            updated_at=now,
        )
    )
    stmt = select(AlertDestination).where(AlertDestination.destination == destination)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def list_destinations(session: AsyncSession) -> list[AlertDestination]:
    stmt = select(AlertDestination).order_by(AlertDestination.channel, AlertDestination.destination)
    return list((await session.execute(stmt)).scalars())


def state_of(row: AlertDestination) -> DestinationState:
    return DestinationState(
        next_slot_at=row.next_slot_at,
        paused_until=row.paused_until,
        breaker=Breaker(row.breaker_state, row.breaker_failures, row.breaker_open_until),
    )


def store_state(row: AlertDestination, state: DestinationState, *, now: datetime) -> None:
    row.next_slot_at = state.next_slot_at
    row.paused_until = state.paused_until
    row.breaker_state = state.breaker.state
    row.breaker_failures = state.breaker.failures
    row.breaker_open_until = state.breaker.open_until
    row.updated_at = now


@dataclass(frozen=True, slots=True)
class Answer:
    """One send's answer, as its destination sees it."""

    channel: str
    destination: str
    result: DeliveryResult


async def record_answers(
    session: AsyncSession,
    answers: Sequence[Answer],
    *,
    limits: Mapping[str, DestinationLimits],
    now: datetime,
) -> None:
    """Folds each answer, in order, into its destination's breaker and health; rows are locked
    in destination order (docs/locking.md). A 429's pause was written when it came."""
    by_destination: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.channel in limits:
            by_destination.setdefault(answer.destination, []).append(answer)
    for destination in sorted(by_destination):
        mine = by_destination[destination]
        channel = mine[0].channel
        row = await lock_destination(session, destination, channel=channel, now=now)
        state = state_of(row)
        for answer in mine:
            verdict = judge_answer(answer.result)
            state = after_verdict(state, verdict, limits=limits[channel], now=now)
            _note_health(row, verdict, answer.result, now=now)
        store_state(row, state, now=now)


def _note_health(
    row: AlertDestination, verdict: Verdict, result: DeliveryResult, *, now: datetime
) -> None:
    if verdict is Verdict.SUCCESS:
        row.last_success_at = now
        row.failing_since = None
    elif verdict is Verdict.FAILURE:
        row.failing_since = row.failing_since or now
        # Channels scrub their errors: a webhook's URL and token never reach an error text.
        row.last_error = result.error
    elif verdict is Verdict.RATE_LIMITED:
        row.rate_limited += 1
