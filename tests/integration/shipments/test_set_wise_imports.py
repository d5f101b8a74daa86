"""The set-wise import path (PostgreSQL) stores exactly what the row-by-row path stores: the
same files imported through each into two databases give the same answers and the same rows,
field by field (ids and audit times aside), through new orders, labels added to stored orders,
changes, conflicts, the shipment limit, warnings and replays, in chunks small enough that an
order's rows fall into several waves and chunks."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import db, migrate
from app.audit.models import AuditEntry
from app.models import LegPartnerNumber
from app.shipments import import_storage, imports, service
from app.shipments.models import Leg, Order, Shipment
from tests.conftest import throwaway_database
from tests.factories import ups_number, usps_number

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC).replace(microsecond=0)
LABEL = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
RELABEL = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
HEADER = (
    "order_number,tracking_number,carrier,service,label_created_at,customer_email,"
    "promised_delivery_date,claimed_status,last_mile_carrier,last_mile_tracking_number"
)


def context() -> service.IngestContext:
    return service.IngestContext(
        actor="tests",
        now=NOW,
        reuse_window=timedelta(days=90),
        max_shipments_per_order=3,
        first_alert_deadline=lambda carrier, svc, label_at: label_at + timedelta(days=3),
    )


def files() -> list[str]:
    """Three files in turn: new orders, then changes and additions to them, then a replay."""
    n = [ups_number() for _ in range(12)]
    lm = [usps_number() for _ in range(4)]
    first = [
        f"A-1,{n[0]},ups,ground,{LABEL},a@example.com,,shipped,,",
        f"A-2,{n[1]},ups,,{LABEL},,9999-12-31,,usps,{lm[0]}",  # a placeholder promise: warned
        f"A-3,{n[2]},,,{LABEL},c@example.com,,,,",
        f"A-3,{n[3]},ups,,{LABEL},c@example.com,,,usps,{lm[1]}",  # a second label, a later wave
        f"A-3,{n[4]},ups,,{LABEL},,,,,",
        f"A-3,{n[5]},ups,,{LABEL},,,,,",  # the fourth: over the limit of 3
        f"A-4,{n[0]},ups,,{LABEL},,,,,",  # A-1's number inside the reuse window
        f"A-5,{n[6]},ups,,not a date,,,,,",  # invalid
        f"A-1,{n[0]},ups,ground,{LABEL},a@example.com,,shipped,,",  # the same row again
        f"A-6,{n[7]},ups,,{LABEL},,,,usps,{lm[0]}",  # A-2's last mile as its own
        f"A-7,{n[8]},ups,,{LABEL},,,,,",
    ]
    second = [
        f"A-1,{n[0]},ups,ground,{LABEL},a@example.com,,delivered,,",  # a field changes
        f"A-2,{n[1]},ups,express,{RELABEL},,,,usps,{lm[0]}",  # the label changes
        f"A-7,{n[8]},ups,,{LABEL},,,,usps,{lm[2]}",  # a last mile added
        f"A-2,{n[1]},ups,,{RELABEL},,,,usps,{lm[3]}",  # a second last mile: a conflict
        f"A-1,{n[9]},ups,,{LABEL},,9999-12-31,,,",  # a new label, a placeholder promise
        f"A-8,{n[1]},ups,,{LABEL},,,,,",  # A-2's number
        f"A-3,{n[2]},ups,,{LABEL},c@example.com,,,,",  # unchanged
        f"A-3,{n[3]},ups,,{LABEL},,,,usps,{lm[1]}",  # unchanged
        f"A-9,{n[10]},ups,,{LABEL},,,pending,,",
        f"A-9,{n[11]},ups,,{LABEL},,,shipped,,",  # a new label and a change (back, on replay)
    ]
    return ["\n".join([HEADER, *rows]) for rows in (first, second, second)]


async def import_files(url: str, bodies: list[str], *, set_wise: bool, monkeypatch) -> list:
    if not set_wise:
        monkeypatch.setattr(imports, "store_chunk", import_storage.store_chunk_row_by_row)
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine)
    tallies = []
    try:
        for body in bodies:
            rows = imports.parse_file(io.BytesIO(body.encode()), "csv")
            tally = await imports.import_rows(
                sessionmaker, rows, context=context, tally=imports.ImportTally()
            )
            tallies.append(
                (tally.stored, tally.unchanged, tally.rejected, tally.warnings, tally.through_line)
            )
        return [tallies, await stored_rows(sessionmaker)]
    finally:
        monkeypatch.undo()
        await engine.dispose()


def sorted_rows(rows) -> list[dict]:
    return sorted(rows, key=repr)


async def stored_rows(sessionmaker) -> dict[str, list]:
    """Every row an import writes, ids replaced by what they point at."""
    async with sessionmaker() as session:
        orders = {o.id: o for o in (await session.execute(select(Order))).scalars()}
        shipments = {s.id: s for s in (await session.execute(select(Shipment))).scalars()}
        legs = {leg.id: leg for leg in (await session.execute(select(Leg))).scalars()}
        audit = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        partners = (await session.execute(select(LegPartnerNumber))).scalars()

        def columns(row, *, leave=("id",)) -> dict:
            names = [c.key for c in row.__table__.columns if c.key not in leave]
            return {name: getattr(row, name) for name in names}

        def leg_key(leg_id):
            leg = legs[leg_id]
            return (orders[shipments[leg.shipment_id].order_id].order_number, leg.sequence,
                    leg.carrier, leg.tracking_number)  # fmt: skip

        def shipment_key(shipment_id):
            return leg_key(next(i for i, leg in legs.items() if leg.shipment_id == shipment_id))

        return {
            "orders": sorted(
                (columns(o) for o in orders.values()), key=lambda o: o["order_number"]
            ),
            "shipments": sorted_rows(
                {
                    **columns(s, leave=("id", "order_id")),
                    "order": orders[s.order_id].order_number,
                    "key": shipment_key(s.id),
                }
                for s in shipments.values()
            ),
            "legs": sorted_rows(
                {
                    **columns(leg, leave=("id", "shipment_id", "handoff_from_leg_id")),
                    "shipment": shipment_key(leg.shipment_id),
                    "after": leg_key(leg.handoff_from_leg_id) if leg.handoff_from_leg_id else None,
                }
                for leg in legs.values()
            ),
            # In the order written for each order (rows of different orders may interleave
            # differently: within a wave they are independent).
            "audit": sorted(
                (
                    columns(a, leave=("id", "occurred_at", "order_id"))
                    | {"order": orders[a.order_id].order_number if a.order_id else None}
                    for a in audit
                ),
                key=lambda a: a["entity_id"],
            ),
            "partner numbers": sorted_rows(
                (columns(p, leave=("id", "leg_id", "first_seen_at")) | {"leg": leg_key(p.leg_id)})
                for p in partners
            ),
        }


@pytest.mark.parametrize("chunk_rows", [4, imports.CHUNK_ROWS])
async def test_the_set_wise_path_stores_exactly_what_the_row_by_row_path_stores(
    tmp_path, monkeypatch, caplog, chunk_rows
):
    caplog.set_level(logging.WARNING, logger="app.shipments.imports")
    bodies = files()
    results = []
    for set_wise in (False, True):
        with throwaway_database("postgres", tmp_path) as url:
            migrate.upgrade(url)
            monkeypatch.setattr(imports, "CHUNK_ROWS", chunk_rows)
            results.append(
                await import_files(url, bodies, set_wise=set_wise, monkeypatch=monkeypatch)
            )
    (row_tallies, row_rows), (set_tallies, set_rows) = results

    assert "set-wise raised" not in caplog.text  # no chunk fell back to the row-by-row path
    assert set_tallies == row_tallies
    for table in row_rows:
        assert set_rows[table] == row_rows[table], table
    # The files reach every case: stored, unchanged, rejected and warned rows in each.
    counts = [(t[0], t[1], len(t[2]), len(t[3])) for t in row_tallies]
    assert counts == [(6, 1, 4, 1), (6, 2, 2, 1), (2, 6, 2, 1)]
    assert {a["action"] for a in row_rows["audit"]} == {
        "order.created",
        "order.updated",
        "shipment.created",
        "shipment.updated",
    }
