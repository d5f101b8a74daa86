"""The story firstscan was built for, replayed hour by hour on a fixed clock.

A FedEx Ground Economy label is printed Thu 17 Dec 2026 10:00 New York. FedEx scans the parcel
out of Brooklyn Park and across the country through Tue 22 Dec, and on Wed 23 Dec 09:15 reports
"Tendered to USPS for final delivery" under a USPS number. USPS never scans it.

Documented deadline (calendar.py): the hand-off happened before the 17:00 cutoff on a business
day, so Wed 23 Dec is business day 0; business day 1 is Thu 24 Dec; Fri 25 Dec is Christmas and
26-27 Dec a weekend, so business day 2 is Mon 28 Dec. Day 2 ends, and the handoff_gap alert opens,
at 00:00 New York on Tue 29 Dec 2026.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.reconciliation.facts import EventFacts, LegFacts, OrderFacts
from app.reconciliation.rules import upcoming_findings
from carriers.types import TrackingStatus
from tests.unit.reconciliation.facts_builders import (
    CALENDARS,
    NEW_YORK,
    THRESHOLDS,
    findings_at,
    make_event,
    make_leg,
    make_order,
    ny,
    polled_at,
)

CENTRAL = ZoneInfo("America/Chicago")
LABEL_AT = ny(2026, 12, 17, 10)
TENDERED_AT = ny(2026, 12, 23, 9, 15)
DOCUMENTED_DEADLINE = ny(2026, 12, 29)
# FedEx reports each scan in the local time of the hub, so Minnesota scans carry Central time.
FEDEX_SCANS = (
    make_event(TrackingStatus.LABEL_CREATED, LABEL_AT, "Shipment information sent to FedEx"),
    make_event(
        TrackingStatus.ACCEPTED,
        datetime(2026, 12, 17, 18, 20, tzinfo=CENTRAL),
        "Picked up",
        location="Brooklyn Park, MN",
    ),
    make_event(
        TrackingStatus.IN_TRANSIT,
        datetime(2026, 12, 18, 2, 10, tzinfo=CENTRAL),
        "Departed FedEx location",
        location="Brooklyn Park, MN",
    ),
    make_event(TrackingStatus.IN_TRANSIT, ny(2026, 12, 21, 5, 30), "Arrived at FedEx location"),
    make_event(TrackingStatus.IN_TRANSIT, ny(2026, 12, 22, 11, 45), "In transit"),
    make_event(TrackingStatus.HANDED_OFF, TENDERED_AT, "Tendered to USPS for final delivery"),
)


def what_firstscan_knows_at(now: datetime) -> OrderFacts:
    """The scans visible at `now`; the USPS leg exists once FedEx has named it at the tender."""
    seen: tuple[EventFacts, ...] = tuple(e for e in FEDEX_SCANS if e.occurred_at <= now)
    fedex = make_leg(
        leg_id=1,
        carrier="fedex",
        service="ground_economy",
        tracking_number="612999000000001",
        label_created_at=LABEL_AT,
        events=seen,
        current_status=seen[-1].status if seen else TrackingStatus.NOT_FOUND,
    )
    legs: list[LegFacts] = [fedex]
    if now >= TENDERED_AT:
        legs = [replace(fedex, handoff_to_leg_id=2), _usps_leg()]
    return polled_at(make_order(*legs), now - timedelta(minutes=20))


def _usps_leg() -> LegFacts:
    return make_leg(
        leg_id=2,
        sequence=2,
        tracking_number="9261290100130400000001",
        label_created_at=LABEL_AT,  # FedEx assigned the USPS number when it printed the label
        tracking_started_at=TENDERED_AT + timedelta(minutes=20),
        current_status=TrackingStatus.LABEL_CREATED,
        handed_off_at=TENDERED_AT,
    )


def hourly(start: datetime, end: datetime):
    at = start.astimezone(UTC)
    while at <= end:
        yield at
        at += timedelta(hours=1)


def test_the_handoff_gap_first_appears_exactly_at_the_documented_business_day_deadline():
    first_seen = None
    others = set()
    for now in hourly(LABEL_AT, ny(2027, 1, 8)):
        findings = findings_at(what_firstscan_knows_at(now), now, fresh=False)
        if any(f.rule == "handoff_gap" for f in findings):
            first_seen = now
            break
        others |= {f.rule for f in findings}

    assert first_seen == DOCUMENTED_DEADLINE
    local = first_seen.astimezone(NEW_YORK)
    assert local.weekday() < 5
    assert (local.month, local.day) != (12, 25)
    assert CALENDARS.for_carrier("usps").is_business_day(local.date())
    assert others == set(), "nothing else may alert before the hand-off gap"


def test_at_the_deadline_the_only_alert_is_the_handoff_gap_on_the_usps_leg():
    findings = findings_at(what_firstscan_knows_at(DOCUMENTED_DEADLINE), DOCUMENTED_DEADLINE)

    assert [(f.rule, f.leg_id, f.carrier) for f in findings] == [("handoff_gap", 2, "usps")]
    assert "Wed 23 Dec 09:15 UTC-05:00" in findings[0].explanation
    assert "2 business days have passed (threshold 2)" in findings[0].explanation


def test_from_the_tender_on_the_poller_is_told_the_documented_deadline():
    for now in (TENDERED_AT + timedelta(hours=1), ny(2026, 12, 26, 12), ny(2026, 12, 28, 23)):
        facts = what_firstscan_knows_at(now)

        upcoming = upcoming_findings(facts, now=now, thresholds=THRESHOLDS, calendars=CALENDARS)

        assert upcoming is not None
        assert upcoming.at == DOCUMENTED_DEADLINE
