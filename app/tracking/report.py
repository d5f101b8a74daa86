"""`firstscan report calls`: carrier calls per leg per day, by carrier and leg state; the push
subscription requests (the same quota as polls), the pushes read and the polls push saved beside
them; push subscriptions by carrier and state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.tracking import subscriptions
from app.tracking.models import CarrierCallCount

# How `polls_saved` is estimated, said once for the report and the metric's help.
POLLS_SAVED_MEANING = (
    "polls saved: at each poll of a pushed leg, the polls the polled cadence would have made "
    "before its next poll as pushed (status and deadline held), an estimate"
)


@dataclass(frozen=True, slots=True)
class CallReportRow:
    day: date
    carrier: str
    leg_status: str
    calls: int
    leg_polls: int
    legs: int
    pushes: int = 0
    polls_saved: int = 0
    subscription_calls: int = 0

    @property
    def calls_per_leg(self) -> float:
        return self.calls / self.legs if self.legs else 0.0


@dataclass(frozen=True, slots=True)
class CallReport:
    rows: list[CallReportRow]
    subscriptions: dict[tuple[str, str], int]  # (carrier, state) -> how many


@dataclass(frozen=True, slots=True)
class PushTotals:
    pushes: int
    polls_saved: int
    subscription_calls: int = 0


async def load_call_report(session: AsyncSession, *, since: date, days: int) -> CallReport:
    first = since - timedelta(days=days - 1)
    stmt = (
        select(CarrierCallCount)
        .where(CarrierCallCount.day >= first)
        .order_by(CarrierCallCount.day, CarrierCallCount.carrier, CarrierCallCount.leg_status)
    )
    rows = [
        CallReportRow(
            r.day,
            r.carrier,
            r.leg_status,
            r.calls,
            r.leg_polls,
            r.legs,
            r.pushes,
            r.polls_saved,
            r.subscription_calls,
        )
        for r in (await session.execute(stmt)).scalars()
    ]
    return CallReport(rows, await subscriptions.count_by_state(session))


async def load_push_totals(session: AsyncSession) -> dict[str, PushTotals]:
    """Per carrier, the pushes read, the polls saved and the subscription requests sent over
    every day the report keeps."""
    stmt = select(
        CarrierCallCount.carrier,
        func.sum(CarrierCallCount.pushes),
        func.sum(CarrierCallCount.polls_saved),
        func.sum(CarrierCallCount.subscription_calls),
    ).group_by(CarrierCallCount.carrier)
    return {
        str(carrier): PushTotals(int(pushes or 0), int(saved or 0), int(subscribing or 0))
        for carrier, pushes, saved, subscribing in (await session.execute(stmt)).all()
    }


def print_call_report(report: object, *, echo: Callable[[str], object]) -> None:
    assert isinstance(report, CallReport)
    echo(
        f"{'day':10}  {'carrier':7}  {'leg state':20}  {'calls':>8}  {'legs':>7}  "
        f"{'calls/leg':>9}  {'subscr.':>7}  {'pushes':>7}  {'saved':>7}"
    )
    for row in report.rows:
        echo(
            f"{row.day.isoformat():10}  {row.carrier:7}  {row.leg_status:20}  "
            f"{row.calls:>8}  {row.legs:>7}  {row.calls_per_leg:>9.2f}  "
            f"{row.subscription_calls:>7}  {row.pushes:>7}  {row.polls_saved:>7}"
        )
    polls = sum(r.calls for r in report.rows)
    subscribing = sum(r.subscription_calls for r in report.rows)
    echo(
        f"total carrier calls: {polls + subscribing} "
        f"(polls {polls}, subscription requests {subscribing})"
    )
    echo("")
    echo("by carrier: poll calls, subscription requests (same quota), pushes read, polls saved")
    for carrier, rows in _by_carrier(report.rows).items():
        echo(
            f"  {carrier:7}  calls {sum(r.calls for r in rows):>8}  "
            f"subscriptions {sum(r.subscription_calls for r in rows):>6}  "
            f"pushes {sum(r.pushes for r in rows):>8}  saved {sum(r.polls_saved for r in rows):>8}"
        )
    echo(f"({POLLS_SAVED_MEANING})")
    echo("")
    _print_subscriptions(report.subscriptions, echo=echo)


def _by_carrier(rows: Sequence[CallReportRow]) -> dict[str, list[CallReportRow]]:
    grouped: dict[str, list[CallReportRow]] = {}
    for row in rows:
        grouped.setdefault(row.carrier, []).append(row)
    return dict(sorted(grouped.items()))


def _print_subscriptions(
    counts: Mapping[tuple[str, str], int], *, echo: Callable[[str], object]
) -> None:
    if not counts:
        echo("push subscriptions: none (every leg is polled)")
        return
    echo("push subscriptions by carrier and state:")
    for carrier in sorted({carrier for carrier, _ in counts}):
        states = "  ".join(f"{s} {counts.get((carrier, s), 0)}" for s in subscriptions.STATES)
        echo(f"  {carrier:7}  {states}")
