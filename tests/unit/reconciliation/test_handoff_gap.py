from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from app.kernel.findings import Severity
from app.reconciliation.facts import LegFacts, OrderFacts
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
GAP = ("handoff_gap", 2)
LABEL_AT = ny(2026, 12, 17, 10)


def fedex_leg(*events, status: TrackingStatus = TrackingStatus.HANDED_OFF) -> LegFacts:
    scans = (
        make_event(TrackingStatus.ACCEPTED, ny(2026, 12, 17, 18), "Picked up"),
        make_event(TrackingStatus.IN_TRANSIT, ny(2026, 12, 18, 3), "Departed FedEx hub"),
        *events,
    )
    return make_leg(
        leg_id=1,
        carrier="fedex",
        service="ground_economy",
        tracking_number="612999000000001",
        events=scans,
        current_status=status,
        handoff_to_leg_id=2,
    )


def usps_leg(**overrides) -> LegFacts:
    values = {
        "leg_id": 2,
        "sequence": 2,
        "label_created_at": LABEL_AT,
        "tracking_started_at": LABEL_AT,
        "current_status": TrackingStatus.NOT_FOUND,
    }
    values.update(overrides)
    return make_leg(**values)


def tendered_on(at: datetime, **usps_overrides) -> OrderFacts:
    tender = make_event(TrackingStatus.HANDED_OFF, at, "Tendered to USPS for final delivery")
    return make_order(fedex_leg(tender), usps_leg(**usps_overrides))


@pytest.mark.parametrize(
    ("handed_at", "due_at"),
    [
        pytest.param(ny(2026, 12, 23, 14, 10), ny(2026, 12, 29), id="Wed before Xmas: opens Tue"),
        pytest.param(ny(2026, 12, 23, 17, 30), ny(2026, 12, 30), id="after the cutoff: from Thu"),
        pytest.param(ny(2026, 12, 18, 11), ny(2026, 12, 23), id="Fri: the weekend is skipped"),
        pytest.param(ny(2026, 12, 19, 8), ny(2026, 12, 24), id="Saturday tender: from Mon"),
    ],
)
def test_handoff_gap_opens_exactly_at_its_business_day_deadline(handed_at, due_at):
    order = tendered_on(handed_at)

    assert GAP not in rules_at(order, due_at - SECOND)
    assert GAP in rules_at(order, due_at)


def test_handoff_gap_names_both_carriers_both_numbers_and_the_tender_words():
    finding = only(
        findings_at(tendered_on(ny(2026, 12, 23, 14, 10)), ny(2026, 12, 29)), "handoff_gap"
    )

    assert finding.severity is Severity.CRITICAL
    assert (finding.carrier, finding.tracking_number) == ("usps", "9400111899223100000001")
    assert finding.explanation == (
        "FedEx handed the parcel to USPS on Wednesday 23 December; USPS has not scanned it since. "
        "FedEx's hand-off scan: Wed 23 Dec 14:10 UTC-05:00, \"Tendered to USPS for final "
        'delivery". USPS number 9400111899223100000001: 2 business days have passed (threshold 2).'
    )
    assert finding.evidence["story"] == (
        "FedEx handed the parcel to USPS on Wednesday 23 December; USPS has not scanned it since."
    )
    assert finding.recommended_action.startswith("Ask FedEx for proof of tender to USPS")
    assert finding.evidence["previous_tracking_number"] == "612999000000001"


def test_tender_words_count_as_a_handoff_when_the_status_does_not_say_so():
    words = make_event(
        TrackingStatus.DELIVERED, ny(2026, 12, 23, 9), "Delivered to local post office"
    )
    order = make_order(fedex_leg(words, status=TrackingStatus.DELIVERED), usps_leg())

    assert GAP not in rules_at(order, ny(2026, 12, 28, 23))
    assert GAP in rules_at(order, ny(2026, 12, 29))


def test_a_handed_off_status_wins_over_earlier_tender_words():
    order = make_order(
        fedex_leg(
            make_event(TrackingStatus.IN_TRANSIT, ny(2026, 12, 18, 9), "Tendered to hub partner"),
            make_event(TrackingStatus.HANDED_OFF, ny(2026, 12, 23, 9), "Handed to USPS"),
        ),
        usps_leg(),
    )

    finding = only(findings_at(order, ny(2026, 12, 29)), "handoff_gap")
    assert finding.evidence["handed_off_at"] == "2026-12-23T14:00:00+00:00"


def test_the_last_mile_legs_own_handoff_time_is_used_when_the_first_leg_is_unknown():
    order = make_order(usps_leg(handed_off_at=ny(2026, 12, 23, 14, 10)))

    finding = only(findings_at(order, ny(2026, 12, 29)), "handoff_gap")
    assert finding.explanation.startswith("The previous carrier handed the parcel to USPS on")
    assert GAP not in rules_at(order, ny(2026, 12, 28, 23, 59))


def test_a_usps_acceptance_scan_closes_the_gap():
    accepted = make_event(TrackingStatus.ACCEPTED, ny(2026, 12, 28, 8), "Accepted at USPS facility")
    order = tendered_on(
        ny(2026, 12, 23, 14), events=(accepted,), current_status=TrackingStatus.ACCEPTED
    )

    assert GAP not in rules_at(order, ny(2026, 12, 30))


def test_a_stale_last_mile_leg_suppresses_the_gap_but_a_stale_first_leg_does_not():
    now = ny(2026, 12, 30)
    fedex, usps = tendered_on(ny(2026, 12, 23, 14)).legs
    stale_usps = make_order(
        replace(fedex, last_successful_poll_at=now),
        replace(usps, last_successful_poll_at=now - timedelta(days=1)),
    )
    stale_fedex = make_order(
        replace(fedex, last_successful_poll_at=None),
        replace(usps, last_successful_poll_at=now),
    )

    assert GAP not in rules_at(stale_usps, now, fresh=False)
    assert GAP in rules_at(stale_fedex, now, fresh=False)


def test_the_last_mile_leg_raises_one_alert_not_never_inducted_or_not_found_as_well():
    order = tendered_on(ny(2026, 12, 23, 14))

    for now in (ny(2026, 12, 24, 12), ny(2026, 12, 29), ny(2027, 1, 8)):
        rules = rules_at(order, now)
        assert ("never_inducted", 2) not in rules
        assert ("not_found", 2) not in rules
        assert ("stalled", 1) not in rules


def test_before_the_tender_a_known_last_mile_number_raises_nothing_of_its_own():
    order = make_order(fedex_leg(status=TrackingStatus.IN_TRANSIT), usps_leg())

    rules = rules_at(order, ny(2026, 12, 22, 12))

    assert {rule for rule, leg_id in rules if leg_id == 2} == set()
