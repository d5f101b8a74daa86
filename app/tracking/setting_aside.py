"""Recording a batch of poll outcomes so that one leg that cannot be recorded (or whose answer
could not be judged) is set aside and the rest are stored: the batch never rolls back for one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.quarantine import repository as quarantine_repository
from app.quarantine.isolation import describe_error, is_outage
from app.shipments import poll_schedule
from app.shipments.models import Leg
from app.tracking import recording
from app.tracking.recording import LegOutcome, RecordedBatch

logger = logging.getLogger("app.tracking.setting_aside")


@dataclass
class IsolatedBatch:
    """What recording a batch did; `set_aside` are the legs sent to the quarantine."""

    recorded: RecordedBatch = field(default_factory=lambda: RecordedBatch(0, 0, 0))
    set_aside: list[int] = field(default_factory=list)


async def record_isolated(
    session: AsyncSession,
    *,
    outcomes: Sequence[LegOutcome],
    worker_id: str,
    now: datetime,
) -> IsolatedBatch:
    """Records the batch in a savepoint; if that raises (for anything but an outage), records
    each leg in its own savepoint and sets aside the legs that raise."""
    result = IsolatedBatch()
    errors = {o.claim.id: o.error or "" for o in outcomes if o.set_aside}
    try:
        async with session.begin_nested():
            result.recorded = await recording.record_outcomes(
                session, outcomes=outcomes, worker_id=worker_id, now=now
            )
    except Exception as error:
        if is_outage(error):
            raise
        for outcome in outcomes:
            try:
                async with session.begin_nested():
                    one = await recording.record_outcomes(
                        session, outcomes=[outcome], worker_id=worker_id, now=now
                    )
                result.recorded = _sum(result.recorded, one)
            except Exception as leg_error:
                if is_outage(leg_error):
                    raise
                logger.error("recording leg %s raised; set aside", outcome.claim.id, exc_info=True)
                errors[outcome.claim.id] = describe_error(leg_error)
    by_id = {o.claim.id: o for o in outcomes}
    for leg_id, error_text in sorted(errors.items()):
        await _set_leg_aside(session, by_id[leg_id], error_text, worker_id=worker_id, now=now)
        result.set_aside.append(leg_id)
    answered = [o.claim.id for o in outcomes if o.progress is not None and o.claim.id not in errors]
    await quarantine_repository.release(session, member_type="leg", member_ids=answered)
    return result


async def _set_leg_aside(
    session: AsyncSession, outcome: LegOutcome, error: str, *, worker_id: str, now: datetime
) -> None:
    retry_at = await quarantine_repository.set_aside(
        session,
        quarantine_repository.SetAside(
            member_type="leg",
            member_id=outcome.claim.id,
            job="polling",
            order_id=outcome.claim.order_id,
            error_type=error.split(":", 1)[0] or "error",
            error=error,
        ),
        now=now,
    )
    # The leg keeps its state; only its lease and its next poll change. Our lease, or none if
    # this transaction has already recorded the leg (and holds its row lock since).
    await session.execute(
        update(Leg)
        .where(
            Leg.id == outcome.claim.id,
            or_(Leg.lease_owner == worker_id, Leg.lease_owner.is_(None)),
        )
        .values(
            lease_owner=None,
            lease_until=None,
            **poll_schedule.retry_at(retry_at),
            last_polled_at=now,
            last_poll_error=error[:500],
            updated_at=now,
        )
    )


def _sum(a: RecordedBatch, b: RecordedBatch) -> RecordedBatch:
    return RecordedBatch(
        a.events_stored + b.events_stored,
        a.legs_updated + b.legs_updated,
        a.legs_added + b.legs_added,
    )
