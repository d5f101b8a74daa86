"""A leg's place in the polling queue, written here and nowhere else: `legs.next_poll_at` (when
it is due), `legs.active` (whether it is polled at all) and `legs.alert_deadline_at` (the earliest
alert deadline waiting on it, its priority when calls are rationed).

Ingest, tracking and the rules each decide something about *when* a leg is polled (a new leg is
due at once, the carrier's cadence after a poll, an alert deadline that is near); they ask this
module to write it, so there is one place to read when a leg is not polled as expected. One
column carries the priority and drives the cadence: see `follow_alert_deadline`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.shipments.models import Leg


def new_leg(*, now: datetime, alert_deadline_at: datetime | None) -> dict[str, object]:
    """A new leg's queue columns: due at once, its priority what is known at ingest."""
    return {"active": True, "next_poll_at": now, "alert_deadline_at": alert_deadline_at}


def after_poll(next_poll_at: datetime | None) -> dict[str, object]:
    """The queue columns after a poll: due again at `next_poll_at`; None ends the polling."""
    return {"active": next_poll_at is not None, "next_poll_at": next_poll_at}


def stop_polling(leg: Leg) -> None:
    """The leg leaves the queue for good (its story has ended, or another leg carries it)."""
    leg.active = False
    leg.next_poll_at = None


async def stop_polling_leg(session: AsyncSession, leg_id: int, *, now: datetime) -> None:
    """`stop_polling` for a leg that is not loaded; the caller holds its row lock."""
    await session.execute(
        update(Leg).where(Leg.id == leg_id).values(active=False, next_poll_at=None, updated_at=now)
    )


def follow_alert_deadline(
    leg: Leg, deadline: datetime | None, *, now: datetime, sooner: datetime | None
) -> None:
    """Records the earliest alert deadline waiting on the leg, and polls sooner if it is near
    (`sooner`, the cadence's answer for that deadline), or at once if it has passed and only a
    fresh poll stands between it and its alert (unless the leg is backing off a failing
    carrier). The deadline is both the claim's priority and the cadence's target, so one column
    serves both: a second one would only ever hold the same instant."""
    leg.alert_deadline_at = deadline
    if not leg.active or leg.next_poll_at is None or deadline is None:
        return
    if deadline <= now:
        if leg.consecutive_failures == 0:
            leg.next_poll_at = min(leg.next_poll_at, now)
        return
    if sooner is not None and sooner < leg.next_poll_at:
        leg.next_poll_at = max(sooner, now)


async def poll_now(session: AsyncSession, leg_ids: Sequence[int], *, now: datetime) -> None:
    """These legs are due at once (a carrier that recovered: its backed-off legs)."""
    if leg_ids:
        await session.execute(update(Leg).where(Leg.id.in_(leg_ids)).values(next_poll_at=now))


def retry_at(at: datetime) -> dict[str, object]:
    """The queue column of a leg whose handling raised: tried again at `at`, state unchanged."""
    return {"next_poll_at": at}


def put_off(at: object) -> dict[str, object]:
    """The queue column of a leg whose first poll can wait (push tells its story, or its own
    subscription is on its way): due at `at` (a time, or a bound parameter)."""
    return {"next_poll_at": at}
