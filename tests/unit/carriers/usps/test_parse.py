import json
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from carriers.errors import MAX_EXCERPT_CHARS, CarrierResponseInvalid
from carriers.types import PHYSICAL_STATUSES, Location, TrackingStatus
from carriers.usps.parse import (
    STATUS_CATEGORIES,
    STATUS_CODES,
    parse_error_message,
    parse_tracking,
)
from tests.unit.carriers.payloads import payload_bytes, payload_json

EST = timezone(timedelta(hours=-5))
NUMBER = "9400100000000000000013"

# Written out independently of STATUS_CODES: changing a mapping must fail a test here.
EXPECTED_STATUS = {
    "label_created": "GX MA TM 80 81 82",
    "accepted": "03 OA 43",
    "in_transit": "10 A1 T1 TL EF SF PC 07 06 41",
    "handed_off": "42",
    "out_for_delivery": "OF",
    "available_for_pickup": "14 16",
    "delivery_attempted": "02 30 51 52 53 54 55 56",
    "delivered": "01",
    "exception": "04 05 08 11 15 71 DX",
    "returned_to_sender": "09 21 22 23 24 25 26 27 28 29 31 44",
}
EXPECTED_BY_CODE = {
    code: TrackingStatus(status)
    for status, codes in EXPECTED_STATUS.items()
    for code in codes.split()
}


def parse(name, number=NUMBER):
    return parse_tracking(payload_bytes("usps", name), tracking_number=number)


def test_delivered_answer_lists_events_oldest_first():
    snapshot = parse("delivered.json")
    assert [e.carrier_code for e in snapshot.events] == [
        "GX", "03", "SF", "10", "T1", "TL", "A1", "07", "OF", "01"
    ]  # fmt: skip
    assert snapshot.status is TrackingStatus.DELIVERED
    assert snapshot.carrier == "usps"
    assert snapshot.tracking_number == NUMBER


def test_event_time_is_the_local_wall_clock_with_uspss_offset():
    delivered = parse("delivered.json").events[-1]
    assert delivered.occurred_at == datetime(2024, 11, 22, 13, 58, tzinfo=EST)
    assert delivered.occurred_at.utcoffset() == timedelta(hours=-5)
    assert delivered.occurred_at.astimezone(UTC) == datetime(2024, 11, 22, 18, 58, tzinfo=UTC)


def test_event_keeps_uspss_wording_and_location():
    delivered = parse("delivered.json").events[-1]
    assert delivered.description == "Delivered, Parcel Locker"
    assert delivered.location == Location("HERNANDO", "FL", "34442", None)


def test_event_without_any_place_has_no_location():
    in_transit = next(e for e in parse("delivered.json").events if e.carrier_code == "TL")
    assert in_transit.location is None


def test_service_is_the_mail_class_without_html_markup():
    assert parse("delivered.json").service == "USPS Ground Advantage™"


def test_label_only_answer_is_label_created_not_in_transit():
    snapshot = parse("label_created.json")
    assert snapshot.status is TrackingStatus.LABEL_CREATED
    assert [e.status for e in snapshot.events] == [TrackingStatus.LABEL_CREATED]


def test_expected_delivery_without_offset_takes_the_newest_events_offset():
    snapshot = parse("label_created.json")
    assert snapshot.estimated_delivery_at == datetime(2024, 11, 19, tzinfo=EST)


def test_expected_delivery_with_an_explicit_offset_is_believed():
    body = payload_json("usps", "label_created.json")
    body["expectedDeliveryTimeStamp"] = "2024-11-19T21:00:00-08:00"
    snapshot = parse_tracking(json.dumps(body), tracking_number=NUMBER)
    assert snapshot.estimated_delivery_at == datetime(
        2024, 11, 19, 21, tzinfo=timezone(timedelta(hours=-8))
    )


def test_accepted_answer_with_an_empty_status_category_is_accepted():
    snapshot = parse("accepted.json")
    assert snapshot.status is TrackingStatus.ACCEPTED
    assert snapshot.events[-1].status in PHYSICAL_STATUSES


def test_local_time_suffixed_z_is_local_and_its_offset_comes_from_the_gmt_time():
    accepted = parse("accepted.json").events[-1]
    # "2024-11-18T07:31:00Z" with GMTTimestamp "2024-11-18T12:31:22Z": 7:31 am in Richmond, VA.
    assert accepted.occurred_at == datetime(2024, 11, 18, 7, 31, tzinfo=EST)


def test_event_with_no_offset_at_all_takes_the_offset_given_elsewhere_in_the_answer():
    label = parse("accepted.json").events[0]
    assert label.carrier_code == "GX"
    assert label.occurred_at == datetime(2024, 11, 17, 16, 5, tzinfo=EST)


def test_shipping_partner_scans_are_still_before_usps_acceptance():
    snapshot = parse("shipping_partner.json", number="9200190000000000000023")
    assert snapshot.status is TrackingStatus.LABEL_CREATED
    assert not any(e.status in PHYSICAL_STATUSES for e in snapshot.events)


def test_notice_left_is_a_delivery_attempt():
    assert parse("delivery_attempted.json").status is TrackingStatus.DELIVERY_ATTEMPTED


def test_refused_is_an_exception():
    assert parse("exception_refused.json").status is TrackingStatus.EXCEPTION


def test_return_to_sender_is_returned_to_sender():
    assert parse("returned.json").status is TrackingStatus.RETURNED_TO_SENDER


def test_unknown_code_is_unknown_recorded_and_logged_never_in_transit(caplog):
    with caplog.at_level(logging.WARNING, logger="carriers.usps"):
        snapshot = parse("unknown_code.json")
    assert snapshot.status is TrackingStatus.UNKNOWN
    assert snapshot.unknown_codes == ("Q7", "missing")
    assert [e.status for e in snapshot.events] == [
        TrackingStatus.ACCEPTED,
        TrackingStatus.UNKNOWN,
        TrackingStatus.UNKNOWN,
    ]
    assert "'Q7'" in caplog.text


def test_answer_without_events_takes_its_status_category():
    snapshot = parse("no_events.json", number="9400100000000000000037")
    assert snapshot.status is TrackingStatus.LABEL_CREATED
    assert snapshot.events == ()


def test_null_tracking_events_are_no_events():
    body = payload_json("usps", "no_events.json")
    body["trackingEvents"] = None
    assert parse_tracking(json.dumps(body), tracking_number=NUMBER).events == ()


def test_answer_without_events_or_category_is_unknown():
    body = payload_json("usps", "no_events.json")
    del body["statusCategory"]
    assert parse_tracking(json.dumps(body), tracking_number=NUMBER).status is TrackingStatus.UNKNOWN


@pytest.mark.parametrize(
    ("category", "status"),
    [
        ("Pre-Shipment", "label_created"),
        ("Accepted", "accepted"),
        ("In Transit", "in_transit"),
        ("Out for Delivery", "out_for_delivery"),
        ("Available for Pickup", "available_for_pickup"),
        ("Delivery Attempt", "delivery_attempted"),
        ("Delivered", "delivered"),
        ("Alert", "exception"),
        ("Something New", "unknown"),
    ],
)
def test_status_category_of_an_answer_without_events_maps_to(category, status):
    body = payload_json("usps", "no_events.json")
    body["statusCategory"] = category
    snapshot = parse_tracking(json.dumps(body), tracking_number=NUMBER)
    assert snapshot.status is TrackingStatus(status)
    assert len(STATUS_CATEGORIES) == 8


def test_every_mapped_code_is_in_the_expected_table():
    assert set(STATUS_CODES) == set(EXPECTED_BY_CODE)


@pytest.mark.parametrize("code", sorted(EXPECTED_BY_CODE))
def test_event_code_maps_to_its_status(code):
    body = payload_json("usps", "delivered.json")
    newest = body["trackingEvents"][0]
    newest["eventCode"] = code
    newest["eventType"] = ""
    snapshot = parse_tracking(json.dumps(body), tracking_number=NUMBER)
    assert snapshot.events[-1].status is EXPECTED_BY_CODE[code]
    assert snapshot.status is EXPECTED_BY_CODE[code]
    assert snapshot.events[-1].description == STATUS_CODES[code][1]
    assert snapshot.unknown_codes == ()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        payload_bytes("usps", "delivered.json")[:300],
        payload_bytes("usps", "maintenance.html"),
        b'{"trackingEvents": []}',
        b'{"trackingNumber": "9400100000000000000013", "trackingEvents": "many"}',
    ],
    ids=["empty", "not-json", "truncated", "html", "no-tracking-number", "events-not-a-list"],
)
def test_body_that_is_not_a_tracking_answer_is_invalid_with_a_bounded_excerpt(body):
    with pytest.raises(CarrierResponseInvalid) as caught:
        parse_tracking(body, tracking_number=NUMBER)
    assert caught.value.carrier == "usps"
    assert caught.value.excerpt == body[:MAX_EXCERPT_CHARS].decode("utf-8", "replace")
    assert caught.value.retryable


def test_event_with_an_unreadable_time_makes_the_answer_invalid():
    body = payload_json("usps", "delivered.json")
    body["trackingEvents"][0]["eventTimestamp"] = "yesterday"
    with pytest.raises(CarrierResponseInvalid, match="not a USPS tracking answer"):
        parse_tracking(json.dumps(body), tracking_number=NUMBER)


def test_error_message_joins_uspss_message_and_error_details():
    message = parse_error_message(payload_bytes("usps", "invalid_number.json"))
    assert message == (
        "Invalid tracking number.; "
        "150001 The tracking number 12345 is not a valid USPS tracking number."
    )


def test_error_message_of_a_body_that_is_not_a_usps_error_is_none():
    assert parse_error_message(payload_bytes("usps", "maintenance.html")) is None
    assert parse_error_message(payload_bytes("usps", "delivered.json")) is None
