from __future__ import annotations

from datetime import timedelta

import pytest

from app.kernel.findings import Severity
from app.kernel.thresholds import ThresholdTable
from carriers.types import TrackingStatus
from tests.unit.reconciliation.facts_builders import (
    findings_at,
    make_event,
    make_leg,
    make_order,
    ny,
    only,
    rules_at,
)

SECOND = timedelta(seconds=1)
ACCEPTED_AT = ny(2026, 12, 14, 18)


def moving_leg(last_scan_at, status=TrackingStatus.IN_TRANSIT, **overrides):
    events = (
        make_event(TrackingStatus.ACCEPTED, ACCEPTED_AT, "Accepted at USPS origin facility"),
        make_event(
            status, last_scan_at, "Departed USPS regional facility", location="Kearny, NJ 07032"
        ),
    )
    values = {"events": events, "current_status": status, "label_created_at": ACCEPTED_AT}
    values.update(overrides)
    return make_leg(**values)


# --- not_found -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started_at", "due_at"),
    [
        pytest.param(ny(2026, 12, 17, 10), ny(2026, 12, 21), id="Thu start: Fri is the grace day"),
        pytest.param(ny(2026, 12, 24, 10), ny(2026, 12, 29), id="Christmas Eve: Mon is grace"),
        pytest.param(ny(2026, 12, 18, 19), ny(2026, 12, 23), id="Fri after cutoff: Tue is grace"),
    ],
)
def test_not_found_opens_after_one_business_day_of_grace(started_at, due_at):
    leg = make_leg(
        current_status=TrackingStatus.NOT_FOUND,
        label_created_at=started_at,
        tracking_started_at=started_at,
    )
    order = make_order(leg)

    assert ("not_found", 1) not in rules_at(order, due_at - SECOND)
    finding = only(findings_at(order, due_at), "not_found")
    assert finding.severity is Severity.WARNING
    assert "USPS still does not know tracking number 9400111899223100000001" in (
        finding.explanation
    )


def test_not_found_is_suppressed_while_the_data_are_stale():
    order = make_order(make_leg(current_status=TrackingStatus.NOT_FOUND))

    assert rules_at(order, ny(2026, 12, 21, 12), fresh=False) == set()


# --- stalled ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_scan_at", "due_at"),
    [
        pytest.param(ny(2026, 12, 21, 9), ny(2026, 12, 28), id="Mon scan: Xmas and weekend off"),
        pytest.param(ny(2026, 12, 18, 20), ny(2026, 12, 28), id="Fri evening scan: from Mon"),
        pytest.param(ny(2026, 12, 15, 10), ny(2026, 12, 21), id="Tue scan: opens next Mon"),
    ],
)
def test_stalled_opens_three_business_days_after_the_newest_scan(last_scan_at, due_at):
    order = make_order(moving_leg(last_scan_at))

    assert ("stalled", 1) not in rules_at(order, due_at - SECOND)
    assert ("stalled", 1) in rules_at(order, due_at)


def test_stalled_quotes_the_last_scan_and_where_it_happened():
    finding = only(
        findings_at(make_order(moving_leg(ny(2026, 12, 15, 10))), ny(2026, 12, 21)), "stalled"
    )

    assert finding.explanation == (
        "USPS last scanned 9400111899223100000001 on Tue 15 Dec 10:00 UTC-05:00 at Kearny, "
        'NJ 07032: "Departed USPS regional facility"; no scan since and 3 business days have '
        "passed (threshold 3)."
    )


@pytest.mark.parametrize(
    ("status", "stalls"),
    [
        (TrackingStatus.ACCEPTED, True),
        (TrackingStatus.IN_TRANSIT, True),
        (TrackingStatus.OUT_FOR_DELIVERY, True),
        (TrackingStatus.HANDED_OFF, True),  # no next leg is known: nobody else watches it
        (TrackingStatus.UNKNOWN, True),
        (TrackingStatus.AVAILABLE_FOR_PICKUP, False),
        (TrackingStatus.DELIVERED, False),
        (TrackingStatus.EXCEPTION, False),
        (TrackingStatus.RETURNED_TO_SENDER, False),
    ],
)
def test_only_a_parcel_that_should_be_moving_can_stall(status, stalls):
    order = make_order(moving_leg(ny(2026, 12, 15, 10), status=status))

    assert (("stalled", 1) in rules_at(order, ny(2026, 12, 22))) is stalls


def test_an_unknown_status_without_any_physical_scan_is_not_stalled():
    leg = make_leg(
        events=(make_event(TrackingStatus.UNKNOWN, ny(2026, 12, 15, 10), "Code ZZ"),),
        current_status=TrackingStatus.UNKNOWN,
    )

    assert ("stalled", 1) not in rules_at(make_order(leg), ny(2026, 12, 22))


def test_stalled_respects_a_service_override():
    thresholds = ThresholdTable(
        overrides={("usps", "ground_advantage"): {"stalled_business_days": 5}}
    )
    order = make_order(moving_leg(ny(2026, 12, 15, 10), service="ground_advantage"))

    assert ("stalled", 1) not in rules_at(order, ny(2026, 12, 22, 12), thresholds=thresholds)
    assert ("stalled", 1) in rules_at(order, ny(2026, 12, 23), thresholds=thresholds)


def test_stalled_is_suppressed_while_the_data_are_stale():
    order = make_order(moving_leg(ny(2026, 12, 15, 10), last_successful_poll_at=None))

    assert rules_at(order, ny(2026, 12, 23), fresh=False) == set()


# --- expired ---------------------------------------------------------------------------------


def test_expired_opens_thirty_days_after_the_last_change_whatever_the_weekday():
    order = make_order(moving_leg(ny(2026, 12, 15, 10)))
    due_at = ny(2027, 1, 14, 10)

    assert ("expired", 1) not in rules_at(order, due_at - SECOND)
    finding = only(findings_at(order, due_at), "expired")
    assert finding.severity is Severity.INFO
    assert "firstscan stops polling it" in finding.explanation


def test_expired_counts_from_tracking_start_when_that_is_newer_than_the_last_scan():
    order = make_order(moving_leg(ny(2026, 12, 15, 10), tracking_started_at=ny(2026, 12, 20, 10)))

    assert ("expired", 1) not in rules_at(order, ny(2027, 1, 19, 9))
    finding = only(findings_at(order, ny(2027, 1, 19, 10)), "expired")
    # It says what the carrier last showed, not when firstscan started asking.
    assert "since its last scan on Tue 15 Dec 2026" in finding.explanation


@pytest.mark.parametrize(
    "status",
    [TrackingStatus.DELIVERED, TrackingStatus.RETURNED_TO_SENDER, TrackingStatus.CANCELLED],
)
def test_a_terminal_leg_never_expires(status):
    order = make_order(moving_leg(ny(2026, 12, 15, 10), status=status))

    assert ("expired", 1) not in rules_at(order, ny(2027, 6, 1))


def test_expired_is_suppressed_while_the_data_are_stale():
    order = make_order(moving_leg(ny(2026, 12, 15, 10), last_successful_poll_at=None))

    assert ("expired", 1) not in rules_at(order, ny(2027, 6, 1), fresh=False)
