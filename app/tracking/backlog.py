"""What waits for a carrier call right now, per carrier: how many due legs, since when, and how
many of them hold back an alert whose deadline has passed. A quota too small for the shop shows
here (and in /metrics) before it costs an alert."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.shipments.models import Leg


@dataclass(frozen=True, slots=True)
class CarrierBacklog:
    carrier: str
    due_legs: int  # active legs whose next poll time has come
    oldest_due_at: datetime | None
    overdue_legs: int  # of those, legs an alert is waiting on past its deadline

    def oldest_wait(self, now: datetime) -> timedelta:
        return now - self.oldest_due_at if self.oldest_due_at else timedelta(0)


async def load_backlog(session: AsyncSession, *, now: datetime) -> list[CarrierBacklog]:
    overdue = func.sum(case((Leg.alert_deadline_at <= now, 1), else_=0))
    rows = await session.execute(
        select(Leg.carrier, func.count(), func.min(Leg.next_poll_at), overdue)
        .where(Leg.active, Leg.next_poll_at <= now)
        .group_by(Leg.carrier)
        .order_by(Leg.carrier)
    )
    return [
        CarrierBacklog(carrier, int(count), oldest, int(late or 0))
        for carrier, count, oldest, late in rows
    ]


def print_backlog(rows: Sequence[object], *, now: datetime, echo: Callable[[str], object]) -> None:
    echo(f"{'carrier':7}  {'due legs':>8}  {'oldest wait':>12}  {'past an alert deadline':>22}")
    for row in rows:
        assert isinstance(row, CarrierBacklog)
        wait = row.oldest_wait(now)
        hours, rest = divmod(int(wait.total_seconds()), 3600)
        echo(
            f"{row.carrier:7}  {row.due_legs:>8}  {f'{hours} h {rest // 60:02d} min':>12}  "
            f"{row.overdue_legs:>22}"
        )
    if not rows:
        echo("no leg is waiting for a carrier call")


async def urgent_poll_waiting(
    session: AsyncSession, *, carrier: str, now: datetime, within: timedelta
) -> bool:
    """Whether a due leg of `carrier` holds back an alert whose deadline has passed or falls
    within `within`: such a poll comes before anything else that would take the carrier's
    quota (push subscriptions)."""
    stmt = (
        select(Leg.id)
        .where(
            Leg.active,
            Leg.carrier == carrier,
            Leg.next_poll_at <= now,
            Leg.alert_deadline_at <= now + within,
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None
