"""Writing a batch of poll outcomes: events once each, legs moved on, revealed hand-off legs
added, partner numbers kept for lookups, the orders that changed queued for the rules. One
transaction per batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.audit import repository as audit_repository
from app.shipments import judging_schedule, poll_schedule
from app.shipments.models import Leg, Order, Shipment
from app.tracking.cadence import CADENCE, max_poll_age
from app.tracking.claims import LegClaim
from app.tracking.models import CarrierCallCount, LegEvent, LegPartnerNumber
from app.tracking.progress import LegProgress
from carriers.numbers import normalize_tracking_number
from carriers.types import Handoff, PartnerNumber, TrackingEvent, TrackingStatus


@dataclass(frozen=True, slots=True)
class LegOutcome:
    """What one poll did to one leg. `progress` is None when the poll failed: a failed poll never
    moves a leg's state, only its schedule."""

    claim: LegClaim
    progress: LegProgress | None
    events: Sequence[TrackingEvent]
    next_poll_at: datetime | None
    error: str | None
    handoff: Handoff | None = None
    counts_as_failure: bool = False
    unknown_codes: Sequence[str] = ()
    dropped_events: Sequence[str] = ()  # why each dropped event was dropped
    set_aside: bool = False  # the answer could not be judged: the leg goes to the quarantine
    partner_numbers: Sequence[PartnerNumber] = ()  # searchable, never polled


@dataclass(frozen=True, slots=True)
class RecordedBatch:
    events_stored: int
    legs_updated: int
    legs_added: int


def _event_row(
    leg_id: int, event: TrackingEvent, *, now: datetime, source: str
) -> dict[str, object]:
    location = event.location
    offset = event.occurred_at.utcoffset()
    return {
        "leg_id": leg_id,
        "status": event.status.value,
        "carrier_code": event.carrier_code[:64],
        "description": event.description,
        "location_city": location.city if location else None,
        "location_state": location.state if location else None,
        "location_postal_code": location.postal_code if location else None,
        "location_country": location.country if location else None,
        "occurred_at": event.occurred_at.astimezone(UTC),
        "utc_offset_minutes": int(offset.total_seconds() // 60) if offset else 0,
        "dedupe_key": event.dedupe_key,
        "source": source,
        "recorded_at": now,
    }


async def store_events(
    session: AsyncSession, rows: list[dict[str, object]]
) -> tuple[int, set[object]]:
    """Inserts events not stored before; returns how many were new and which legs got one."""
    if not rows:
        return 0, set()
    leg_ids = {r["leg_id"] for r in rows}
    existing = set(
        (
            await session.execute(
                select(LegEvent.leg_id, LegEvent.dedupe_key).where(LegEvent.leg_id.in_(leg_ids))
            )
        ).all()
    )
    fresh: dict[tuple[object, object], dict[str, object]] = {}
    for row in rows:
        key = (row["leg_id"], row["dedupe_key"])
        if key not in existing:
            fresh.setdefault(key, row)
    if fresh:
        stmt = db.insert_ignoring_duplicates(
            session, LegEvent.__table__, unique=["leg_id", "dedupe_key"]
        )
        await session.execute(stmt, list(fresh.values()))
    return len(fresh), {leg_id for leg_id, _ in fresh}


LEGS = cast(Table, Leg.__table__)
_LEG_VALUES: dict[str, Any] = {
    "status": bindparam("status"),
    "status_changed_at": bindparam("status_changed_at"),
    "last_event_at": bindparam("last_event_at"),
    "accepted_at": bindparam("accepted_at"),
    "handed_off_at": bindparam("handed_off_at"),
    "delivered_at": bindparam("delivered_at"),
    "estimated_delivery_at": bindparam("estimated_delivery_at"),
    "active": bindparam("active"),
    "next_poll_at": bindparam("next_poll_at"),
    "last_polled_at": bindparam("last_polled_at"),
    "last_poll_day": bindparam("last_poll_day"),
    "last_successful_poll_at": bindparam("last_successful_poll_at"),
    "consecutive_failures": bindparam("consecutive_failures"),
    "last_poll_error": bindparam("last_poll_error"),
    "lease_owner": None,
    "lease_until": None,
    "updated_at": bindparam("updated_at"),
}
# Guarded by the lease: a worker whose lease ran out (and was taken over) writes nothing here.
_LEASED_LEG_UPDATE = (
    update(LEGS)
    .where(LEGS.c.id == bindparam("b_id"), LEGS.c.lease_owner == bindparam("b_owner"))
    .values(**_LEG_VALUES)
)
# Pushed events arrive outside any lease; the caller holds the row lock instead. A push never
# puts the leg's next poll later than it was: a push is not the whole history, so it cannot stand
# in for a poll already due, such as the confirmation before a deadline (cadence.py).
_NEXT_POLL = bindparam("next_poll_at", type_=LEGS.c.next_poll_at.type)
_PUSHED_LEG_UPDATE = (
    update(LEGS)
    .where(LEGS.c.id == bindparam("b_id"))
    .values(
        **_LEG_VALUES
        | {
            "next_poll_at": case(
                (_NEXT_POLL.is_(None), None),
                (LEGS.c.next_poll_at < _NEXT_POLL, LEGS.c.next_poll_at),
                else_=_NEXT_POLL,
            )
        }
    )
)


def _leg_params(
    outcome: LegOutcome, *, worker_id: str, now: datetime, last_success: datetime | None
) -> dict[str, object]:
    claim = outcome.claim
    progress = outcome.progress or claim.progress
    failed = outcome.progress is None
    return {
        "b_id": claim.id,
        "b_owner": worker_id,
        "status": progress.status,
        "status_changed_at": progress.status_changed_at,
        "last_event_at": progress.last_event_at,
        "accepted_at": progress.accepted_at,
        "handed_off_at": progress.handed_off_at,
        "delivered_at": progress.delivered_at,
        "estimated_delivery_at": progress.estimated_delivery_at,
        **poll_schedule.after_poll(outcome.next_poll_at),
        "last_polled_at": now,
        "last_poll_day": now.date(),
        "last_successful_poll_at": last_success if failed else now,
        "consecutive_failures": claim.consecutive_failures + 1
        if outcome.counts_as_failure
        else (claim.consecutive_failures if failed else 0),
        "last_poll_error": outcome.error,
        "updated_at": now,
    }


async def record_outcomes(
    session: AsyncSession,
    *,
    outcomes: Sequence[LegOutcome],
    worker_id: str,
    now: datetime,
    source: str = "poll",
) -> RecordedBatch:
    """Writes a batch in the caller's transaction. Polls write only legs this worker still
    leases; pushed events (source "webhook") write the leg the caller has locked."""
    if not outcomes:
        return RecordedBatch(0, 0, 0)
    await lock_orders(session, sorted({o.claim.order_id for o in outcomes}))
    rows = [_event_row(o.claim.id, e, now=now, source=source) for o in outcomes for e in o.events]
    stored, news = await store_events(session, rows)
    last_success = dict(
        (
            await session.execute(
                select(Leg.id, Leg.last_successful_poll_at).where(
                    Leg.id.in_([o.claim.id for o in outcomes])
                )
            )
        ).all()
    )
    await queue_changed_orders(
        session,
        orders=_orders_with_news(outcomes, news=news, last_success=last_success, now=now),
        now=now,
    )
    params = [
        _leg_params(o, worker_id=worker_id, now=now, last_success=last_success.get(o.claim.id))
        for o in sorted(outcomes, key=lambda o: o.claim.id)
    ]
    statement = _LEASED_LEG_UPDATE if source == "poll" else _PUSHED_LEG_UPDATE
    result = await session.execute(statement, params)
    added = await add_handoff_legs(session, outcomes=outcomes, now=now)
    await store_partner_numbers(session, outcomes=outcomes, now=now)
    return RecordedBatch(stored, cast(CursorResult[Any], result).rowcount or 0, added)


def _orders_with_news(
    outcomes: Sequence[LegOutcome],
    *,
    news: set[object],
    last_success: Mapping[int, datetime | None],
    now: datetime,
) -> list[int]:
    """Orders the rules must look at again: a leg got a new scan, changed state, or was stale
    until this poll (the staleness guard lifts, so silence counts again)."""
    orders = set()
    for o in outcomes:
        if o.progress is None:
            continue
        previous = last_success.get(o.claim.id)
        status = TrackingStatus(o.claim.progress.status) if o.claim.progress.status else None
        was_stale = previous is None or now - previous > max_poll_age(status, CADENCE)
        if o.claim.id in news or o.progress != o.claim.progress or was_stale:
            orders.add(o.claim.order_id)
    return sorted(orders)


async def lock_orders(session: AsyncSession, order_ids: Sequence[int]) -> None:
    """Locks the batch's orders, in id order, before anything else of theirs: the rules' sweep
    holds an order while it writes the order's legs and alerts, so a batch that wrote a leg
    first and then waited for its order would deadlock with it (docs/locking.md)."""
    if order_ids:
        await session.execute(
            db.lock_rows(select(Order.id).where(Order.id.in_(order_ids)).order_by(Order.id))
        )


async def queue_changed_orders(
    session: AsyncSession, *, orders: Sequence[int], now: datetime
) -> None:
    """Marks these orders as due for the rules; the caller has locked them (`lock_orders`)."""
    changed = list(orders)
    if not changed:
        return
    await judging_schedule.judge_orders_now(session, changed, now=now)


async def add_handoff_legs(
    session: AsyncSession, *, outcomes: Sequence[LegOutcome], now: datetime
) -> int:
    """A carrier revealed the last-mile number: track it too, as the next leg of the shipment."""
    wanted = {o.claim.shipment_id: o for o in outcomes if o.handoff is not None}
    if not wanted:
        return 0
    known = (
        await session.execute(
            select(
                Leg.id,
                Leg.shipment_id,
                Leg.carrier,
                Leg.tracking_number,
                Leg.sequence,
                Leg.handoff_from_leg_id,
            ).where(Leg.shipment_id.in_(wanted))
        )
    ).all()
    added = 0
    for shipment_id, outcome in wanted.items():
        handoff = outcome.handoff
        assert handoff is not None
        legs = [k for k in known if k.shipment_id == shipment_id]
        if any(
            (k.carrier, k.tracking_number) == (handoff.carrier, handoff.tracking_number)
            for k in legs
        ):
            continue
        follower = next((k for k in legs if k.handoff_from_leg_id == outcome.claim.id), None)
        if follower is not None:
            await _supersede(session, follower.id, by=handoff, now=now)
        progress = outcome.progress or outcome.claim.progress
        session.add(
            Leg(
                shipment_id=shipment_id,
                sequence=max(k.sequence for k in legs) + 1,
                carrier=handoff.carrier,
                tracking_number=handoff.tracking_number,
                source="carrier",
                handoff_from_leg_id=outcome.claim.id,
                label_created_at=progress.handed_off_at or now,
                tracking_started_at=now,
                **poll_schedule.new_leg(now=now, alert_deadline_at=None),
                consecutive_failures=0,
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    if added:
        await session.flush()
    return added


PARTNER_NUMBER_MAX = 64  # the column's width; a longer "number" is no tracking number
PARTNER_NAME_MAX = 128


async def store_partner_numbers(
    session: AsyncSession, *, outcomes: Sequence[LegOutcome], now: datetime
) -> None:
    """Keeps the partner numbers a carrier named, once per leg and number, for lookups only:
    nothing polls them. One statement for the whole batch; a number seen before is left as is
    (its first_seen_at stays)."""
    rows: dict[tuple[int, str], dict[str, object]] = {}
    for outcome in outcomes:
        for partner in outcome.partner_numbers:
            row = _partner_row(outcome.claim.id, partner, now=now)
            if row is not None:
                rows.setdefault((outcome.claim.id, str(row["lookup_key"])), row)
    if rows:
        stmt = db.insert_ignoring_duplicates(
            session, LegPartnerNumber.__table__, unique=["leg_id", "lookup_key"]
        )
        await session.execute(stmt, [rows[key] for key in sorted(rows)])


def _partner_row(leg_id: int, partner: PartnerNumber, *, now: datetime) -> dict[str, object] | None:
    # Carrier text is checked here, where it meets the columns: an unprintable or over-long
    # number is skipped (it could never be typed into a search), never allowed to fail the batch.
    number = partner.number.strip()
    key = normalize_tracking_number(number)
    if not key or len(number) > PARTNER_NUMBER_MAX or not number.isprintable():
        return None
    raw_name = partner.partner_name or ""
    name = " ".join("".join(c if c.isprintable() else " " for c in raw_name).split())
    return {
        "leg_id": leg_id,
        "number": number,
        "lookup_key": key,
        "partner_name": name[:PARTNER_NAME_MAX] or None,
        "first_seen_at": now,
    }


async def _supersede(session: AsyncSession, leg_id: int, *, by: Handoff, now: datetime) -> None:
    """The carrier handed the parcel on under another number than the shop gave for the last
    mile: the carrier's is the one the next carrier scans, so it becomes the next leg. The shop's
    leg stays (its number still finds the order) but leaves the chain and is no longer polled;
    with its polls stopped, no alert can rest on its silence."""
    await session.execute(
        update(Leg).where(Leg.id == leg_id).values(handoff_from_leg_id=None, updated_at=now)
    )
    await poll_schedule.stop_polling_leg(session, leg_id, now=now)
    order_id = await session.scalar(
        select(Shipment.order_id).join(Leg, Leg.shipment_id == Shipment.id).where(Leg.id == leg_id)
    )
    await audit_repository.record(
        session,
        actor="firstscan",
        action="leg.superseded",
        entity_type="leg",
        entity_id=str(leg_id),
        order_id=order_id,
        detail={"by_carrier": by.carrier, "by_tracking_number": by.tracking_number},
    )


@dataclass(frozen=True, slots=True)
class CallTally:
    """Carrier calls to add to a day's tally, each by leg state; a caller fills what it counted
    (a poll batch its calls and legs, a push its push), the rest stay empty."""

    calls: Counter[str] = field(default_factory=Counter)  # requests, by most of their legs' state
    leg_polls: Counter[str] = field(default_factory=Counter)  # legs asked about
    new_legs: Counter[str] = field(default_factory=Counter)  # asked about first that day
    pushes: Counter[str] = field(default_factory=Counter)  # pushes read
    polls_saved: Counter[str] = field(default_factory=Counter)  # cadence.polls_saved
    subscription_calls: Counter[str] = field(default_factory=Counter)  # push subscription requests


async def count_calls(session: AsyncSession, *, day: date, carrier: str, tally: CallTally) -> None:
    """Adds this batch's carrier calls to the day's tally (one upsert per leg state)."""
    table = cast(Table, CarrierCallCount.__table__)
    # Sorted: rows upserted in the same order by every batch (they also hold carrier_states).
    keys = set(tally.calls) | set(tally.leg_polls) | set(tally.pushes) | set(tally.polls_saved)
    keys |= set(tally.subscription_calls)
    for status in sorted(keys):
        stmt = db.dialect_insert(session, table).values(
            day=day,
            carrier=carrier,
            leg_status=status,
            calls=tally.calls[status],
            leg_polls=tally.leg_polls[status],
            legs=tally.new_legs[status],
            pushes=tally.pushes[status],
            polls_saved=tally.polls_saved[status],
            subscription_calls=tally.subscription_calls[status],
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", "carrier", "leg_status"],
            set_={
                "calls": table.c.calls + stmt.excluded.calls,
                "leg_polls": table.c.leg_polls + stmt.excluded.leg_polls,
                "legs": table.c.legs + stmt.excluded.legs,
                "pushes": table.c.pushes + stmt.excluded.pushes,
                "polls_saved": table.c.polls_saved + stmt.excluded.polls_saved,
                "subscription_calls": table.c.subscription_calls + stmt.excluded.subscription_calls,
            },
        )
        await session.execute(stmt)
