from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.kernel.calendar import BusinessCalendar, CalendarTable
from app.kernel.findings import Severity
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
CHRISTMAS_EVE = date(2026, 12, 24)


def in_transit(**overrides):
    values = {
        "events": (make_event(TrackingStatus.IN_TRANSIT, ny(2026, 12, 23, 8), "In transit"),),
        "current_status": TrackingStatus.IN_TRANSIT,
    }
    values.update(overrides)
    return make_leg(**values)


# --- late ------------------------------------------------------------------------------------


def test_late_opens_when_the_promised_day_ends_in_the_carriers_time_zone():
    order = make_order(in_transit(), promised_delivery_on=CHRISTMAS_EVE)

    assert ("late", 1) not in rules_at(order, ny(2026, 12, 25) - SECOND)
    finding = only(findings_at(order, ny(2026, 12, 25)), "late")
    assert finding.explanation.startswith(
        "Order FS-1001 was promised for Thu 24 Dec; USPS 9400111899223100000001 is in transit"
    )


def test_late_uses_the_delivering_carriers_own_time_zone():
    calendars = CalendarTable(by_carrier={"usps": BusinessCalendar(timezone="America/Los_Angeles")})
    order = make_order(in_transit(), promised_delivery_on=CHRISTMAS_EVE)
    midnight_pacific = datetime(2026, 12, 25, 8, tzinfo=UTC)

    assert ("late", 1) not in rules_at(order, midnight_pacific - SECOND, calendars=calendars)
    assert ("late", 1) in rules_at(order, midnight_pacific, calendars=calendars)


@pytest.mark.parametrize(
    ("leg_overrides", "order_overrides"),
    [
        pytest.param({"current_status": TrackingStatus.DELIVERED}, {}, id="delivered"),
        pytest.param({}, {"claimed_status": "cancelled"}, id="order cancelled"),
        pytest.param({}, {"promised_delivery_on": None}, id="nothing promised"),
    ],
)
def test_late_stays_silent_without_a_broken_promise(leg_overrides, order_overrides):
    values = {"promised_delivery_on": CHRISTMAS_EVE, **order_overrides}
    order = make_order(in_transit(**leg_overrides), **values)

    assert ("late", 1) not in rules_at(order, ny(2026, 12, 28))


def test_late_is_suppressed_while_a_delivery_could_be_unseen():
    order = make_order(in_transit(), promised_delivery_on=CHRISTMAS_EVE)

    assert ("late", 1) not in rules_at(order, ny(2026, 12, 28), fresh=False)


def test_late_points_at_the_last_mile_leg_not_the_consolidator():
    fedex = make_leg(
        leg_id=1,
        carrier="fedex",
        events=(
            make_event(TrackingStatus.DELIVERED, ny(2026, 12, 22, 9), "Delivered to post office"),
        ),
        current_status=TrackingStatus.DELIVERED,
        handoff_to_leg_id=2,
    )
    order = make_order(fedex, in_transit(leg_id=2, sequence=2), promised_delivery_on=CHRISTMAS_EVE)

    late = {leg_id for rule, leg_id in rules_at(order, ny(2026, 12, 28)) if rule == "late"}
    assert late == {2}


def test_a_voided_label_is_not_late_when_a_replacement_carries_the_parcel():
    voided = make_leg(leg_id=1, current_status=TrackingStatus.CANCELLED)
    order = make_order(voided, in_transit(leg_id=2), promised_delivery_on=CHRISTMAS_EVE)

    late = {leg_id for rule, leg_id in rules_at(order, ny(2026, 12, 28)) if rule == "late"}
    assert late == {2}


def test_an_order_without_any_tracking_is_late_without_waiting_for_a_poll():
    order = make_order(promised_delivery_on=CHRISTMAS_EVE)

    finding = only(findings_at(order, ny(2026, 12, 25), fresh=False), "late")
    assert (finding.leg_id, finding.carrier) == (None, None)
    assert "has no tracking number yet" in finding.explanation


# --- carrier-reported trouble ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words", "severity"),
    [
        (TrackingStatus.EXCEPTION, "Incorrect address - delivery attempt failed", Severity.WARNING),
        (TrackingStatus.RETURNED_TO_SENDER, "Return to sender - refused", Severity.CRITICAL),
        (TrackingStatus.DELIVERY_ATTEMPTED, "Notice left (no secure location)", Severity.INFO),
    ],
)
def test_carrier_reported_trouble_quotes_the_carriers_own_words(status, words, severity):
    leg = in_transit(
        events=(make_event(status, ny(2026, 12, 22, 14, 5), words),), current_status=status
    )

    finding = only(findings_at(make_order(leg), ny(2026, 12, 22, 15)), str(status))

    assert finding.severity is severity
    assert f'"{words}"' in finding.explanation
    assert "Tue 22 Dec 14:05 UTC-05:00" in finding.explanation
    assert finding.evidence["carrier_words"] == words


def test_carrier_reported_trouble_still_shows_when_polls_are_failing():
    leg = in_transit(
        events=(make_event(TrackingStatus.EXCEPTION, ny(2026, 12, 22, 14), "Damaged"),),
        current_status=TrackingStatus.EXCEPTION,
        last_successful_poll_at=ny(2026, 12, 22, 14, 30),
    )

    assert ("exception", 1) in rules_at(make_order(leg), ny(2027, 1, 5), fresh=False)


def test_carrier_reported_trouble_without_an_event_says_no_details_were_given():
    leg = in_transit(current_status=TrackingStatus.EXCEPTION)

    finding = only(findings_at(make_order(leg), ny(2026, 12, 22)), "exception")
    assert "(no details given)" in finding.explanation


# --- claim_mismatch --------------------------------------------------------------------------


def test_we_say_delivered_but_the_carrier_does_not():
    order = make_order(in_transit(), claimed_status="delivered")

    finding = only(findings_at(order, ny(2026, 12, 23, 9)), "claim_mismatch")
    assert finding.severity is Severity.WARNING
    assert "says order FS-1001 was delivered, but USPS shows" in finding.explanation
    assert ("claim_mismatch", 1) not in rules_at(order, ny(2026, 12, 23, 9), fresh=False)


@pytest.mark.parametrize("claim", ["Delivered", " delivered "])
def test_a_delivered_claim_agreeing_with_the_carrier_is_no_mismatch(claim):
    leg = in_transit(current_status=TrackingStatus.DELIVERED)

    assert rules_at(make_order(leg, claimed_status=claim), ny(2026, 12, 23, 9)) == set()


def test_a_cancelled_order_that_the_carrier_scanned_is_critical_even_on_stale_data():
    order = make_order(in_transit(last_successful_poll_at=None), claimed_status="cancelled")

    finding = only(findings_at(order, ny(2026, 12, 23, 9), fresh=False), "claim_mismatch")
    assert finding.severity is Severity.CRITICAL
    assert 'scanned 9400111899223100000001 on Wed 23 Dec 08:00 UTC-05:00: "In transit"' in (
        finding.explanation
    )


def test_a_cancelled_order_whose_label_was_never_used_is_no_mismatch():
    order = make_order(make_leg(), claimed_status="canceled")

    assert rules_at(order, ny(2027, 1, 2)) == set()


@pytest.mark.parametrize("claim", ["shipped", "fulfilled"])
def test_we_say_shipped_but_the_carrier_cancelled_the_label(claim):
    order = make_order(make_leg(current_status=TrackingStatus.CANCELLED), claimed_status=claim)

    finding = only(findings_at(order, ny(2026, 12, 18), fresh=False), "claim_mismatch")
    assert "shows the label 9400111899223100000001 as cancelled" in finding.explanation


def test_a_findings_key_is_stable_while_its_wording_ages():
    order = make_order(make_leg())
    first = only(findings_at(order, ny(2026, 12, 22)), "never_inducted")
    later = only(findings_at(order, ny(2026, 12, 29)), "never_inducted")

    assert first.explanation != later.explanation
    assert first.key == later.key == ("never_inducted", 1, "usps")
    with pytest.raises(TypeError):
        first.evidence["deadline_at"] = "tampered"  # type: ignore[index]
