from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
NEVER_INDUCTED = ("never_inducted", 1)


@pytest.mark.parametrize(
    ("label_at", "due_at"),
    [
        pytest.param(ny(2026, 12, 17, 10), ny(2026, 12, 22), id="Thu morning: opens Tue"),
        pytest.param(ny(2026, 12, 17, 16, 59), ny(2026, 12, 22), id="a minute before cutoff"),
        pytest.param(ny(2026, 12, 17, 17), ny(2026, 12, 23), id="at the cutoff: from Fri"),
        pytest.param(
            datetime(2026, 12, 17, 22, 30, tzinfo=UTC), ny(2026, 12, 23), id="17:30 EST in UTC"
        ),
        pytest.param(ny(2026, 12, 19, 12), ny(2026, 12, 24), id="Saturday label: from Mon"),
        pytest.param(ny(2026, 12, 22, 10), ny(2026, 12, 28), id="never on 25 Dec or weekend"),
        pytest.param(ny(2026, 12, 23, 10), ny(2026, 12, 29), id="Wed before Christmas"),
        pytest.param(ny(2026, 7, 3, 10), ny(2026, 7, 9), id="on an observed July 4th"),
    ],
)
def test_never_inducted_opens_exactly_at_its_business_day_deadline(label_at, due_at):
    order = make_order(make_leg(label_created_at=label_at))

    assert NEVER_INDUCTED not in rules_at(order, due_at - SECOND)
    assert NEVER_INDUCTED in rules_at(order, due_at)
    assert NEVER_INDUCTED in rules_at(order, due_at + SECOND)


def test_never_inducted_explains_carrier_number_dates_and_threshold():
    order = make_order(make_leg(label_created_at=ny(2026, 12, 17, 10)))

    finding = only(findings_at(order, ny(2026, 12, 23, 9)), "never_inducted")

    assert finding.severity is Severity.CRITICAL
    assert finding.explanation == (
        "USPS has had the electronic label since Thursday 17 December but has not scanned the "
        "parcel. USPS number 9400111899223100000001; 3 business days have passed (threshold 2)."
    )
    assert finding.evidence["story"] == (
        "USPS has had the electronic label since Thursday 17 December but has not scanned the "
        "parcel."
    )
    assert "proof of tender" in finding.recommended_action
    assert finding.evidence["deadline_at"] == "2026-12-22T05:00:00+00:00"
    assert finding.evidence["business_days_elapsed"] == "3"


def test_a_label_after_the_cutoff_says_from_which_day_it_is_counted():
    order = make_order(make_leg(label_created_at=ny(2026, 12, 17, 18)))

    finding = only(findings_at(order, ny(2026, 12, 23)), "never_inducted")

    assert "counted from Fri 18 Dec" in finding.explanation
    assert finding.evidence["counting_from_on"] == "2026-12-18"


def test_the_carriers_earlier_label_event_starts_the_clock():
    leg = make_leg(
        label_created_at=ny(2026, 12, 18, 10),
        events=(make_event(TrackingStatus.LABEL_CREATED, ny(2026, 12, 17, 10)),),
    )

    assert NEVER_INDUCTED in rules_at(make_order(leg), ny(2026, 12, 22))


def test_a_carrier_override_moves_the_deadline():
    thresholds = ThresholdTable(overrides={("usps", None): {"never_inducted_business_days": 3}})
    order = make_order(make_leg(label_created_at=ny(2026, 12, 17, 10)))

    assert NEVER_INDUCTED not in rules_at(order, ny(2026, 12, 22, 12), thresholds=thresholds)
    assert NEVER_INDUCTED in rules_at(order, ny(2026, 12, 23), thresholds=thresholds)


@pytest.mark.parametrize(
    ("leg_overrides", "order_overrides"),
    [
        pytest.param(
            {"events": (make_event(TrackingStatus.ACCEPTED, ny(2026, 12, 21, 9)),)},
            {},
            id="an acceptance scan, however late",
        ),
        pytest.param(
            {"current_status": TrackingStatus.IN_TRANSIT}, {}, id="a physical current status"
        ),
        pytest.param({"current_status": TrackingStatus.CANCELLED}, {}, id="a voided label"),
        pytest.param({}, {"claimed_status": "cancelled"}, id="an order we cancelled"),
        pytest.param({"handed_off_at": ny(2026, 12, 17, 12)}, {}, id="a hand-off leg"),
    ],
)
def test_never_inducted_stays_silent_when_the_parcel_is_not_missing(leg_overrides, order_overrides):
    order = make_order(make_leg(**leg_overrides), **order_overrides)

    assert NEVER_INDUCTED not in rules_at(order, ny(2026, 12, 30))


@pytest.mark.parametrize(
    "last_poll_at",
    [
        pytest.param(None, id="never polled"),
        pytest.param(ny(2026, 12, 29, 19), id="last poll older than max_poll_age"),
    ],
)
def test_stale_tracking_data_suppresses_never_inducted(last_poll_at):
    order = make_order(make_leg(last_successful_poll_at=last_poll_at))

    assert rules_at(order, ny(2026, 12, 30), fresh=False) == set()


def test_a_poll_exactly_max_poll_age_old_still_counts_as_fresh():
    now = ny(2026, 12, 30)
    order = make_order(make_leg(last_successful_poll_at=now - timedelta(hours=4)))

    assert NEVER_INDUCTED in rules_at(order, now, fresh=False)


def test_not_found_gives_way_to_never_inducted_on_the_same_leg():
    order = make_order(make_leg(current_status=TrackingStatus.NOT_FOUND))

    assert rules_at(order, ny(2026, 12, 21, 12)) == {("not_found", 1)}
    assert rules_at(order, ny(2026, 12, 22)) == {NEVER_INDUCTED}
    finding = only(findings_at(order, ny(2026, 12, 22)), "never_inducted")
    assert "but USPS does not know it yet" in finding.explanation
