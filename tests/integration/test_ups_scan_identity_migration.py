"""Revision 0017 (migrations/versions/2026-12-04_ups_scan_identity.py) on a database that holds
UPS scans under the worded keys of 0016, on each backend: keys rewritten, a stored double
collapsed to its first row, other carriers untouched; down and up again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from app import db, migrate
from app.tracking.models import LegEvent
from app.tracking.recording import _event_row
from carriers.types import Location, TrackingEvent, TrackingStatus
from carriers.ups.parse import parse_tracking
from carriers.ups.push import parse_push
from tests.factories import create_order, dhl_number, ups_number
from tests.support.ups_answers import polled_activity, polled_answer, pushed_origin_scan

NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)
BEFORE = "0016"


def worded(event: TrackingEvent) -> TrackingEvent:
    """The event keyed as before 0017 (its wording in the key)."""
    return dataclasses.replace(event, code_names_scan=False)


def row(leg_id: int, event: TrackingEvent, *, source: str, minutes: int) -> dict[str, object]:
    at = NOW + timedelta(minutes=minutes)
    return _event_row(leg_id, worded(event), now=at, source=source)


async def stored(session, leg_id: int) -> list[tuple[str, str, str]]:
    rows = await session.execute(
        select(LegEvent.carrier_code, LegEvent.description, LegEvent.dedupe_key)
        .where(LegEvent.leg_id == leg_id)
        .order_by(LegEvent.id)
    )
    return [tuple(r) for r in rows]


async def test_stored_ups_scans_are_rekeyed_and_a_stored_double_keeps_its_first_row(
    empty_database_url,
):
    migrate.upgrade(empty_database_url, BEFORE)
    engine = db.create_engine(empty_database_url)
    sessionmaker = db.create_sessionmaker(engine)
    one, two, dhl = ups_number(), ups_number(), dhl_number()
    [pushed] = parse_push(pushed_origin_scan(one)).events
    [polled, arrival] = parse_tracking(
        polled_answer(
            one, [polled_activity(code="AR", description="On the Way"), polled_activity()]
        ),
        tracking_number=one,
    ).events
    assert (pushed.carrier_code, polled.carrier_code, arrival.carrier_code) == ("OR", "OR", "AR")
    hub = datetime(2024, 4, 23, 1, 29, tzinfo=UTC)
    dhl_scans = [
        TrackingEvent(TrackingStatus.IN_TRANSIT, hub, "transit", words, Location("Leipzig"))
        for words in ("Arrived at hub", "Departed from hub")
    ]
    try:
        async with sessionmaker() as session:
            legs = {}
            for number, carrier in ((one, "ups"), (two, "ups"), (dhl, "dhl")):
                _, (leg,) = await create_order(
                    session,
                    now=NOW - timedelta(days=3),
                    label_at=NOW - timedelta(days=3),
                    shipments=[{"tracking_number": number, "carrier": carrier}],
                )
                legs[number] = leg.id
            # What 0016 stored: the push, then the same scan polled in other words (the double),
            # a different scan at the same minute and place, and the scan on another leg.
            rows = [
                row(legs[one], pushed, source="webhook", minutes=0),
                row(legs[one], polled, source="poll", minutes=60),
                row(legs[one], arrival, source="poll", minutes=60),
                row(legs[two], polled, source="poll", minutes=60),
                *(row(legs[dhl], e, source="poll", minutes=0) for e in dhl_scans),
            ]
            await session.execute(insert(LegEvent), rows)
            await session.commit()
            dhl_before = await stored(session, legs[dhl])
            assert len(await stored(session, legs[one])) == 3

        migrate.upgrade(empty_database_url)

        expected_one = [
            ("OR", "On the Way", polled.dedupe_key),  # the first stored row, under the poll's key
            ("AR", "On the Way", arrival.dedupe_key),
        ]
        async with sessionmaker() as session:
            assert pushed.dedupe_key == polled.dedupe_key
            assert await stored(session, legs[one]) == expected_one
            assert await stored(session, legs[two]) == [("OR", "Origin Scan", polled.dedupe_key)]
            assert await stored(session, legs[dhl]) == dhl_before

        migrate.downgrade(empty_database_url, BEFORE)

        async with sessionmaker() as session:
            assert await stored(session, legs[one]) == [
                ("OR", "On the Way", worded(pushed).dedupe_key),
                ("AR", "On the Way", worded(arrival).dedupe_key),
            ]
            assert await stored(session, legs[dhl]) == dhl_before

        migrate.upgrade(empty_database_url)

        async with sessionmaker() as session:
            assert await stored(session, legs[one]) == expected_one
    finally:
        await engine.dispose()
