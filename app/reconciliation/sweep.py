"""The rules' sweep: every order whose next look is due is judged, a chunk of orders at a time,
and an order whose judgement raises is set aside while the others are judged all the same."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.quarantine import repository as quarantine_repository
from app.quarantine.isolation import describe_error, is_outage
from app.reconciliation import repository
from app.reconciliation.service import OrderVerdict, ReconciliationConfig, reconcile_orders
from app.shipments import judging_schedule

logger = logging.getLogger("app.reconciliation.sweep")
# A sweep loads, judges and writes this many legs at a time at most: every step over them runs
# without giving the event loop a turn (ORM loading, plan rows), so the step stays short.
CHUNK_LEGS = 250


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """One sweep batch: the verdicts stored, and the orders set aside because judging raised."""

    verdicts: list[OrderVerdict]
    set_aside: list[int] = field(default_factory=list)


async def reconcile_due_orders(
    session: AsyncSession, *, now: datetime, config: ReconciliationConfig, limit: int = 500
) -> SweepOutcome:
    """One sweep: every order whose next look is due, oldest due first. An order whose judgement
    raises is set aside and the others are judged all the same."""
    order_ids = await repository.claim_due_order_ids(session, now=now, limit=limit)
    if not order_ids:
        return SweepOutcome([])
    sizes = await repository.count_legs(session, order_ids)
    try:
        async with session.begin_nested():
            verdicts = []
            for chunk in chunks_by_legs(order_ids, sizes, max_legs=CHUNK_LEGS):
                verdicts += await reconcile_orders(session, order_ids=chunk, now=now, config=config)
        return SweepOutcome(verdicts)
    except Exception as error:
        if is_outage(error):
            raise
    return await _reconcile_one_by_one(session, order_ids, now=now, config=config)


def chunks_by_legs(
    order_ids: Sequence[int], sizes: Mapping[int, int], *, max_legs: int
) -> list[list[int]]:
    """Consecutive runs of orders holding at most `max_legs` legs (an order bigger than that
    alone), so that no step of a sweep handles more legs at once than the loop can spare."""
    chunks: list[list[int]] = []
    legs = max_legs
    for order_id in order_ids:
        size = sizes.get(order_id, 0)
        if not chunks or legs + size > max_legs:
            chunks.append([])
            legs = 0
        chunks[-1].append(order_id)
        legs += size
    return chunks


async def _reconcile_one_by_one(
    session: AsyncSession, order_ids: Sequence[int], *, now: datetime, config: ReconciliationConfig
) -> SweepOutcome:
    """The batch raised: judges each order in its own savepoint to find the ones that raise."""
    outcome = SweepOutcome([])
    for order_id in order_ids:
        try:
            async with session.begin_nested():
                outcome.verdicts.extend(
                    await reconcile_orders(session, order_ids=[order_id], now=now, config=config)
                )
        except Exception as error:
            if is_outage(error):
                raise
            await set_order_aside(session, order_id=order_id, error=error, now=now)
            outcome.set_aside.append(order_id)
    return outcome


async def set_order_aside(
    session: AsyncSession, *, order_id: int, error: BaseException, now: datetime
) -> None:
    """Quarantines an order whose judgement raised: it is judged again when it next changes (any
    writer makes it due now) or when its retry time comes, whichever is first."""
    logger.error("judging order id %s raised; set aside", order_id, exc_info=error)
    retry_at = await quarantine_repository.set_aside(
        session,
        quarantine_repository.SetAside(
            member_type="order",
            member_id=order_id,
            job="rules",
            order_id=order_id,
            error_type=type(error).__name__,
            error=describe_error(error),
        ),
        now=now,
    )
    await judging_schedule.judge_order_at(session, order_id, retry_at)
