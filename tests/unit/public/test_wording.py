from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.alerts.customer_notice import NOTICE_PROBLEMS
from app.kernel.calendar import BusinessCalendar
from app.public.wording import (
    ALERT_WORDS,
    AlertView,
    CustomerState,
    LegView,
    ScanView,
    alert_message,
    build_notice_email,
    contact_by,
    current_leg,
    describe_shipment,
    most_important_alert,
)

CALENDAR = BusinessCalendar()
# Thursday 17 December 2026, 10:00 in New York.
THURSDAY = datetime(2026, 12, 17, 15, 0, tzinfo=UTC)


def leg(leg_id: int, status: str | None, carrier: str = "FedEx", eta=None) -> LegView:
    return LegView(leg_id=leg_id, carrier_name=carrier, status=status, estimated_delivery_at=eta)


def scan(leg_id: int, status: str, at: datetime, city: str | None = "Memphis") -> ScanView:
    return ScanView(
        leg_id=leg_id,
        status=status,
        occurred_at=at,
        utc_offset_minutes=-360,
        city=city,
        region="TN",
    )


def describe(legs, scans=(), alerts=(), *, now=THURSDAY, promised_on=None):
    return describe_shipment(
        legs, list(scans), list(alerts), promised_on=promised_on, now=now, calendar=CALENDAR
    )


@pytest.mark.parametrize(
    ("opened_at", "now", "expected"),
    [
        # Thursday morning: two business days later is Monday (the weekend does not count).
        (THURSDAY, THURSDAY, date(2026, 12, 21)),
        # Wednesday 23 Dec after the pickup cutoff counts from Thursday 24; Friday 25 is a
        # holiday, so the two business days are Monday 28 and Tuesday 29.
        (datetime(2026, 12, 23, 23, 0, tzinfo=UTC), THURSDAY, date(2026, 12, 29)),
        # The promised day has passed: promise the next business day instead of a past date.
        (THURSDAY, datetime(2027, 1, 5, 15, 0, tzinfo=UTC), date(2027, 1, 6)),
    ],
)
def test_contact_by_is_two_business_days_out_and_never_in_the_past(opened_at, now, expected):
    assert contact_by(opened_at, now=now, calendar=CALENDAR) == expected


def test_the_never_inducted_message_is_honest_and_names_the_day():
    alert = AlertView(rule="never_inducted", leg_id=1, opened_at=THURSDAY)

    message = alert_message(alert, now=THURSDAY, calendar=CALENDAR)

    assert message == (
        "The carrier has not received your parcel yet. We are looking into it and will contact "
        "you by Monday 21 December."
    )


def test_a_handoff_gap_reads_the_same_as_never_inducted_to_the_customer():
    assert ALERT_WORDS["handoff_gap"] == ALERT_WORDS["never_inducted"]
    assert NOTICE_PROBLEMS["handoff_gap"] == NOTICE_PROBLEMS["never_inducted"]


def test_the_most_fundamental_alert_wins_and_internal_ones_are_not_customer_news():
    late = AlertView(rule="late", leg_id=1, opened_at=THURSDAY - timedelta(days=2))
    gap = AlertView(rule="handoff_gap", leg_id=2, opened_at=THURSDAY)
    outage = AlertView(rule="carrier_unreachable", leg_id=None, opened_at=THURSDAY)
    attempted = AlertView(rule="delivery_attempted", leg_id=1, opened_at=THURSDAY)

    assert most_important_alert([late, gap, outage]) is gap
    assert most_important_alert([outage, attempted]) is None


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["handed_off", "label_created"], 1),  # the last mile never scanned: still the first leg
        (["handed_off", "in_transit"], 2),
        (["label_created", None], 1),
        ([None], 1),
    ],
)
def test_the_current_leg_is_the_last_one_a_carrier_scanned(statuses, expected):
    legs = [leg(i + 1, s) for i, s in enumerate(statuses)]

    assert current_leg(legs).leg_id == expected


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (None, CustomerState.PREPARING),
        ("label_created", CustomerState.PREPARING),
        ("accepted", CustomerState.IN_TRANSIT),
        ("out_for_delivery", CustomerState.OUT_FOR_DELIVERY),
        ("available_for_pickup", CustomerState.READY_FOR_PICKUP),
        ("delivered", CustomerState.DELIVERED),
        ("exception", CustomerState.PROBLEM),
        ("returned_to_sender", CustomerState.RETURNING),
        ("not_found", CustomerState.CHECKING),
        ("some_new_status", CustomerState.IN_TRANSIT),
    ],
)
def test_each_carrier_status_has_plain_customer_words(status, state):
    words = describe([leg(1, status)])

    assert words.state is state
    assert words.headline
    assert "_" not in words.headline


def test_an_open_alert_replaces_a_cheerful_label_created():
    alert = AlertView(rule="never_inducted", leg_id=1, opened_at=THURSDAY)

    words = describe([leg(1, "label_created")], alerts=[alert])

    assert words.state is CustomerState.DELAYED
    assert words.headline.startswith("The carrier has not received your parcel yet.")


def test_last_scan_is_the_newest_physical_scan_in_its_local_date():
    scans = [
        scan(1, "label_created", THURSDAY, city="Shipper town"),
        # 02:00 UTC on Friday is still Thursday evening in Memphis (UTC-6).
        scan(1, "in_transit", datetime(2026, 12, 18, 2, 0, tzinfo=UTC)),
        scan(1, "accepted", THURSDAY),
    ]

    words = describe([leg(1, "in_transit")], scans, now=THURSDAY + timedelta(days=1))

    assert (words.last_scan_place, words.last_scan_on) == ("Memphis, TN", date(2026, 12, 17))


def test_no_physical_scan_means_no_last_scan():
    words = describe([leg(1, "label_created")], [scan(1, "label_created", THURSDAY)])

    assert (words.last_scan_place, words.last_scan_on) == (None, None)


def test_expected_delivery_prefers_the_carrier_estimate_then_our_promise():
    eta = datetime(2026, 12, 22, 20, 0, tzinfo=UTC)

    assert describe([leg(1, "in_transit", eta=eta)]).expected_delivery_on == date(2026, 12, 22)
    promised = describe([leg(1, "in_transit")], promised_on=date(2026, 12, 23))
    assert promised.expected_delivery_on == date(2026, 12, 23)


def test_a_passed_or_pointless_expected_date_is_not_shown():
    late = describe([leg(1, "in_transit")], promised_on=date(2026, 12, 16))
    delivered = describe([leg(1, "delivered")], promised_on=date(2026, 12, 23))

    assert late.expected_delivery_on is None
    assert delivered.expected_delivery_on is None


def test_the_notice_email_carries_the_message_and_the_link():
    subject, body = build_notice_email(
        order_number="FS-1001",
        message="The carrier has not received your parcel yet.",
        link="https://shop.example/track/t/abc",
        link_expires_on=date(2027, 1, 16),
    )

    assert subject == "Order FS-1001: an update on your parcel"
    assert "The carrier has not received your parcel yet." in body
    assert "https://shop.example/track/t/abc" in body
    assert "Saturday 16 January" in body
