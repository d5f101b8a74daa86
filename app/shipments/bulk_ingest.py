"""Storing many orders at once, each exactly as `service.ingest_order` stores it alone.

PostgreSQL only: the import's set-wise path (SQLite, the demo, keeps the row-by-row one). The
caller has prepared the orders (`service.prepare_order`) and taken their locks
(`service.lock_prepared`), then stores them in waves (`plan_waves`): orders that share no
advisory key (no order number, no carrier's tracking number) cannot see each other's writes, so
one wave is looked up, checked and inserted in a few statements whatever its size, and an order
that shares a key with an earlier one waits for a later wave, as the file's order wants.

A wave stores the common cases itself: a new order with its label, a new label on a stored order
whose fields it repeats, a label stored as sent (unchanged). Every other order (one that changes
a stored order or label, a number used elsewhere inside the reuse window, an order at its
shipment limit, more than one label) is left to `service.ingest_order`, one at a time, which
words its answer, error and audit exactly as for a single order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.audit import repository as audit_repository
from app.shipments import attaching, dates, judging_schedule, repository, service
from app.shipments.context import IngestContext
from app.shipments.labels import CheckedNumber, CheckedShipment
from app.shipments.repository import NEW_ORDER, LabelLeg, NumberUse, OrderFields

# A label whose number is on two shipments of one order: which one `ingest_order` compares with
# is up to the database, so such a row is left to it.
_AMBIGUOUS = "ambiguous"


@dataclass(slots=True)
class WaveResult:
    done: dict[int, service.IngestOutcome] = field(default_factory=dict)  # by position
    left: list[int] = field(default_factory=list)  # positions for `service.ingest_order`


async def lock_orders(session: AsyncSession, prepared: Sequence[service.PreparedOrder]) -> None:
    """`service.lock_prepared`, set-wise: the advisory keys of every order and label, then the
    orders that exist, in id order (docs/locking.md)."""
    await db.lock_for_update(session, [key for each in prepared for key in each.lock_keys()])
    await repository.lock_orders_with_numbers(session, [p.order_in.order_number for p in prepared])


def plan_waves(prepared: Sequence[service.PreparedOrder]) -> list[list[int]]:
    """Positions of `prepared` in waves: within a wave no two share a lock key, and an order
    comes after every earlier one it shares a key with."""
    wave_of_key: dict[str, int] = {}
    waves: list[list[int]] = []
    for position, each in enumerate(prepared):
        keys = each.lock_keys()
        wave = max((wave_of_key[key] + 1 for key in keys if key in wave_of_key), default=0)
        wave_of_key.update(dict.fromkeys(keys, wave))
        if wave == len(waves):
            waves.append([])
        waves[wave].append(position)
    return waves


async def store_wave(
    session: AsyncSession, wave: Sequence[service.PreparedOrder], *, context: IngestContext
) -> WaveResult:
    """Stores the orders of one wave that it can; the rest are `left`, nothing of them stored."""
    result = WaveResult()
    stored = await repository.list_orders_by_number(
        session, [p.order_in.order_number for p in wave]
    )
    labels = await _labels_on_stored_orders(session, wave, stored)
    counts = await repository.count_shipments_by_order(session, [o.id for o in stored.values()])
    new: list[int] = []
    for position, prepared in enumerate(wave):
        order = stored.get(prepared.order_in.order_number)
        if len(prepared.checked) != 1 or (order is not None and _changes(order, prepared)):
            result.left.append(position)
            continue
        label = prepared.checked[0]
        known = (
            labels.get((order.id, label.first.carrier, label.first.tracking_number))
            if order
            else None
        )
        if known is None and (
            order is None or counts.get(order.id, 0) < context.max_shipments_per_order
        ):
            new.append(position)
        elif isinstance(known, list) and _repeats(known, label):
            result.done[position] = _unchanged(order, prepared)
        else:
            result.left.append(position)
    clashes = await repository.list_recent_uses_elsewhere(
        session, [use for p in new for use in _number_uses(p, wave[p], stored, context)]
    )
    result.left += [p for p in new if p in clashes]
    new = [p for p in new if p not in clashes]
    result.done.update(await _store_new_labels(session, wave, new, stored, context=context))
    return result


def _changes(order: OrderFields, prepared: service.PreparedOrder) -> bool:
    incoming = service.incoming_order_fields(prepared.order_in)
    return any(getattr(order, name) != value for name, value in incoming.items())


async def _labels_on_stored_orders(
    session: AsyncSession,
    wave: Sequence[service.PreparedOrder],
    stored: dict[str, OrderFields],
) -> dict[tuple[int, str, str], list[LabelLeg] | str]:
    """(order id, carrier, number) -> the legs of the shipment `ingest_order` would compare
    the label with: the one whose leg has the number at the lowest sequence."""
    numbers = [
        n.tracking_number
        for p in wave
        if p.order_in.order_number in stored
        for n in _numbers(p.checked)
    ]
    legs = await repository.list_labels_on_orders(
        session, order_ids=[o.id for o in stored.values()], tracking_numbers=numbers
    )
    by_shipment: dict[int, list[LabelLeg]] = {}
    for leg in legs:
        by_shipment.setdefault(leg.shipment_id, []).append(leg)
    found: dict[tuple[int, str, str], tuple[int, list[LabelLeg] | str]] = {}
    for leg in legs:
        key = (leg.order_id, leg.carrier, leg.tracking_number)
        seen = found.get(key)
        if seen is None or leg.sequence < seen[0]:
            found[key] = (leg.sequence, by_shipment[leg.shipment_id])
        elif leg.sequence == seen[0]:
            found[key] = (leg.sequence, _AMBIGUOUS)
    return {key: shipment for key, (_, shipment) in found.items()}


def _numbers(checked: list[CheckedShipment]) -> list[CheckedNumber]:
    return [n for s in checked for n in (s.first, s.last_mile) if n is not None]


def _repeats(legs: list[LabelLeg], label: CheckedShipment) -> bool:
    """Whether storing the label would change nothing (`attaching._update_shipment`)."""
    shipment = legs[0]
    last_miles = {(leg.carrier, leg.tracking_number) for leg in legs if leg.sequence > 1}
    return (
        shipment.label_created_at == label.label_created_at
        and (label.service is None or label.service == shipment.service)
        and (
            label.last_mile is None
            or (label.last_mile.carrier, label.last_mile.tracking_number) in last_miles
        )
    )


def _unchanged(order: OrderFields | None, prepared: service.PreparedOrder) -> service.IngestOutcome:
    assert order is not None  # a label is only known on a stored order
    return service.IngestOutcome(
        order_id=order.id, created=False, changed=False, warnings=prepared.warnings
    )


def _number_uses(
    key: int,
    prepared: service.PreparedOrder,
    stored: dict[str, OrderFields],
    context: IngestContext,
) -> list[NumberUse]:
    """The reuse checks of `attaching._refuse_recent_reuse` for a new label's numbers."""
    label = prepared.checked[0]
    order = stored.get(prepared.order_in.order_number)
    start = dates.shift(label.label_created_at, -context.reuse_window)
    end = dates.shift(label.label_created_at, context.reuse_window)
    return [
        NumberUse(key, n.carrier, n.tracking_number, start, end, order.id if order else NEW_ORDER)
        for n in _numbers(prepared.checked)
    ]


async def _store_new_labels(
    session: AsyncSession,
    wave: Sequence[service.PreparedOrder],
    positions: list[int],
    stored: dict[str, OrderFields],
    *,
    context: IngestContext,
) -> dict[int, service.IngestOutcome]:
    """Inserts the new orders, then every label's shipment, legs and audit rows, a statement
    for each kind; the stored orders that gained a label are judged again."""
    now = context.now
    created = await _insert_new_orders(
        session, [wave[p] for p in positions if wave[p].order_in.order_number not in stored], now
    )
    order_ids = {**{n: o.id for n, o in stored.items()}, **created}
    labels = [wave[p].checked[0] for p in positions]
    owners = [order_ids[wave[p].order_in.order_number] for p in positions]
    shipment_ids = await repository.insert_shipments(
        session,
        [
            attaching.build_shipment_values(order_id=o, label=label, now=now)
            for o, label in zip(owners, labels, strict=True)
        ],
    )
    await _insert_legs(session, shipment_ids, labels, context)
    await judging_schedule.judge_orders_now(
        session, sorted({o for o in owners if o not in created.values()}), now=now
    )
    await audit_repository.record_many(
        session,
        [
            e
            for p, o in zip(positions, owners, strict=True)
            for e in _audit(wave[p], o, created, context)
        ],
    )
    return {
        p: service.IngestOutcome(
            order_id=o,
            created=wave[p].order_in.order_number in created,
            changed=True,
            warnings=wave[p].warnings,
        )
        for p, o in zip(positions, owners, strict=True)
    }


async def _insert_new_orders(
    session: AsyncSession, orders: list[service.PreparedOrder], now: datetime
) -> dict[str, int]:
    values = [
        service.build_order_values(p.order_in, now=now) | judging_schedule.new_order(now=now)
        for p in orders
    ]
    return await repository.insert_orders(session, values)


async def _insert_legs(
    session: AsyncSession,
    shipment_ids: list[int],
    labels: list[CheckedShipment],
    context: IngestContext,
) -> None:
    def leg(
        shipment_id: int, label: CheckedShipment, sequence: int, after: int | None
    ) -> dict[str, object]:
        number = label.first if after is None else label.last_mile
        assert number is not None
        return attaching.build_leg_values(
            shipment_id=shipment_id,
            service=label.service,
            label_created_at=label.label_created_at,
            number=number,
            sequence=sequence,
            handoff_from_leg_id=after,
            context=context,
        )

    pairs = list(zip(shipment_ids, labels, strict=True))
    first_ids = await repository.insert_legs(
        session, [leg(s, label, 1, None) for s, label in pairs]
    )
    await repository.insert_legs(
        session,
        [
            leg(s, label, 2, first)
            for (s, label), first in zip(pairs, first_ids, strict=True)
            if label.last_mile is not None
        ],
    )


def _audit(
    prepared: service.PreparedOrder,
    order_id: int,
    created: dict[str, int],
    context: IngestContext,
) -> list[dict[str, object]]:
    """The audit rows `ingest_order` writes for a new label, in its order."""
    number = prepared.order_in.order_number
    entry = {
        "actor": context.actor,
        "entity_type": "order",
        "entity_id": number,
        "order_id": order_id,
    }
    warned = service.warning_detail(prepared.warnings)
    label = {
        **entry,
        "action": "shipment.created",
        "detail": attaching.shipment_created_detail(prepared.checked[0]),
    }
    if number in created:
        return [{**entry, "action": "order.created", "detail": warned}, label]
    # A label was added but no field changed: the warning still belongs in the audit.
    return [label, {**entry, "action": "order.updated", "detail": warned}] if warned else [label]
