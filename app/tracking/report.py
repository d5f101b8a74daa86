"""`firstscan report calls`: carrier calls per leg per day, by carrier and leg state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.tracking.models import CarrierCallCount


@dataclass(frozen=True, slots=True)
class CallReportRow:
    day: date
    carrier: str
    leg_status: str
    calls: int
    leg_polls: int
    legs: int

    @property
    def calls_per_leg(self) -> float:
        return self.calls / self.legs if self.legs else 0.0


async def load_call_report(session: AsyncSession, *, since: date, days: int) -> list[CallReportRow]:
    first = since - timedelta(days=days - 1)
    stmt = (
        select(CarrierCallCount)
        .where(CarrierCallCount.day >= first)
        .order_by(CarrierCallCount.day, CarrierCallCount.carrier, CarrierCallCount.leg_status)
    )
    return [
        CallReportRow(r.day, r.carrier, r.leg_status, r.calls, r.leg_polls, r.legs)
        for r in (await session.execute(stmt)).scalars()
    ]


def print_call_report(rows: Sequence[object], *, echo: Callable[[str], object]) -> None:
    echo(
        f"{'day':10}  {'carrier':7}  {'leg state':20}  {'calls':>8}  {'legs':>7}  {'calls/leg':>9}"
    )
    total_calls = 0
    for row in rows:
        assert isinstance(row, CallReportRow)
        total_calls += row.calls
        echo(
            f"{row.day.isoformat():10}  {row.carrier:7}  {row.leg_status:20}  "
            f"{row.calls:>8}  {row.legs:>7}  {row.calls_per_leg:>9.2f}"
        )
    echo(f"total carrier calls: {total_calls}")
