"""A carrier's push channel: which legs count as pushed, and when the channel counts as silent.

A leg is **pushed** while an active subscription covers it (its own number, or its carrier's
account) and its carrier's channel is not silent (`subscriptions.is_pushed`); a pushed leg is
polled only to confirm (see app/tracking/cadence.py). A channel is **silent** when no push has
come from the carrier for `silence` (FIRSTSCAN_PUSH_SILENCE_MINUTES) while legs it pushes for
should be moving: then its legs are polled on the ordinary cadence again
(`fall_back_to_polling`), and one push_silent alert says so until a push comes again
(app/reconciliation/system_alerts.py).

The newest push is noted by the worker that reads the inbox (`note_pushes_received`), never by
the receiving request: every push of a carrier would otherwise wait on the one carrier_states
row. Silence is measured from the newest push, or from the first active subscription when the
carrier has never pushed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.shipments import poll_schedule
from app.shipments.models import Leg
from app.tracking import carrier_state
from app.tracking.models import CarrierPush, CarrierState, CarrierSubscription
from app.tracking.subscriptions import (
    ACTIVE,
    covered_since,
    is_pushed,
    is_subscribed,
    polled_only_to_confirm,
)
from carriers.types import TrackingStatus

# Legs in these statuses are scanned every few hours: their carrier should be pushing.
MOVING = (
    TrackingStatus.ACCEPTED.value,
    TrackingStatus.IN_TRANSIT.value,
    TrackingStatus.OUT_FOR_DELIVERY.value,
)
SILENT, RESUMED = "silent", "resumed"


async def list_pushed_leg_ids(session: AsyncSession, leg_ids: Sequence[int]) -> set[int]:
    """Of these legs, the ones polled only to confirm: pushed, and polled before or pushed from
    their label on (subscriptions.polled_only_to_confirm)."""
    if not leg_ids:
        return set()
    stmt = select(Leg.id, Leg.status, Leg.label_created_at, covered_since()).where(
        Leg.id.in_(list(leg_ids)), is_pushed()
    )
    return {
        leg_id
        for leg_id, status, label_created_at, since in (await session.execute(stmt)).all()
        if polled_only_to_confirm(
            pushed=True, status=status, label_created_at=label_created_at, since=since
        )
    }


async def note_pushes_received(
    session: AsyncSession, *, push_ids: Sequence[int], now: datetime
) -> None:
    """Moves each carrier's `last_push_at` on to the newest of these pushes (any push counts,
    even one about a number we do not track: the channel is alive)."""
    if not push_ids:
        return
    stmt = (
        select(CarrierPush.carrier, func.max(CarrierPush.received_at))
        .where(CarrierPush.id.in_(list(push_ids)))
        .group_by(CarrierPush.carrier)
        .order_by(CarrierPush.carrier)  # carrier_states rows locked in one order
    )
    for carrier, newest in (await session.execute(stmt)).all():
        state = await carrier_state.lock_carrier_state(session, carrier, now=now)
        if state.last_push_at is None or state.last_push_at < newest:
            state.last_push_at = newest


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What decides whether one carrier's push channel is silent."""

    carrier: str
    subscribed: bool  # some active subscription of this carrier exists
    last_push_at: datetime | None
    watched_since: datetime | None  # the first active subscription's activation
    silent_since: datetime | None
    moving_legs: bool  # a subscribed leg of this carrier should be scanned every few hours


def judge_channel(channel: ChannelState, *, now: datetime, silence: timedelta) -> str | None:
    """SILENT when the channel has just stopped, RESUMED when a silent one pushes again (or no
    longer has anything subscribed), else None (nothing changes). Pure."""
    if channel.silent_since is not None:
        pushed_again = channel.last_push_at is not None and (
            channel.last_push_at > channel.silent_since
        )
        return RESUMED if pushed_again or not channel.subscribed else None
    since = channel.last_push_at or channel.watched_since
    if not channel.subscribed or not channel.moving_legs or since is None:
        return None
    return SILENT if now - since >= silence else None


async def list_channels(session: AsyncSession) -> list[ChannelState]:
    """Every carrier with an active subscription or a silent channel, by carrier."""
    subscribed = dict(
        (
            await session.execute(
                select(CarrierSubscription.carrier, func.min(CarrierSubscription.updated_at))
                .where(CarrierSubscription.state == ACTIVE)
                .group_by(CarrierSubscription.carrier)
            )
        ).all()
    )
    states = {
        s.carrier: s
        for s in (
            await session.execute(
                select(CarrierState).where(
                    or_(
                        CarrierState.carrier.in_(list(subscribed)),
                        CarrierState.push_silent_since.is_not(None),
                    )
                )
            )
        ).scalars()
    }
    channels = []
    for carrier in sorted(set(subscribed) | set(states)):
        state = states.get(carrier)
        channels.append(
            ChannelState(
                carrier=carrier,
                subscribed=carrier in subscribed,
                last_push_at=state.last_push_at if state else None,
                watched_since=subscribed.get(carrier),
                silent_since=state.push_silent_since if state else None,
                moving_legs=await _has_moving_legs(session, carrier),
            )
        )
    return channels


async def _has_moving_legs(session: AsyncSession, carrier: str) -> bool:
    stmt = select(Leg.id).where(
        Leg.active, Leg.carrier == carrier, Leg.status.in_(MOVING), is_subscribed()
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def mark_channel(session: AsyncSession, carrier: str, change: str, *, now: datetime) -> None:
    """Records a channel's change of state on its carrier_states row."""
    state = await carrier_state.lock_carrier_state(session, carrier, now=now)
    state.push_silent_since = now if change == SILENT else None
    state.updated_at = now


async def fall_back_to_polling(session: AsyncSession, *, carrier: str, now: datetime) -> int:
    """Makes the subscribed legs of a silent carrier that were not polled since it went silent
    due now; from their next poll on they follow the ordinary cadence. Skips rows others hold
    (their writer finishes first); the next run catches them. Returns how many."""
    silent_since = select(CarrierState.push_silent_since).where(CarrierState.carrier == carrier)
    stmt = (
        select(Leg.id)
        .where(
            Leg.active,
            Leg.carrier == carrier,
            Leg.next_poll_at > now,
            is_subscribed(),
            or_(
                Leg.last_polled_at.is_(None),
                Leg.last_polled_at < silent_since.scalar_subquery(),
            ),
        )
        .order_by(Leg.id)
    )
    ids = list((await session.execute(db.lock_rows(stmt, of=Leg, skip_locked=True))).scalars())
    await poll_schedule.poll_now(session, ids, now=now)
    return len(ids)
