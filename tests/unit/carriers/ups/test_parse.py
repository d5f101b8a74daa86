import json
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from carriers.errors import MAX_EXCERPT_CHARS, CarrierResponseInvalid, TrackingNotFound
from carriers.types import PHYSICAL_STATUSES, Handoff, Location, TrackingStatus
from carriers.ups.parse import STATUS_CODES, STATUS_TYPES, parse_errors, parse_tracking
from tests.unit.carriers.payloads import payload_bytes, payload_json

EST = timezone(timedelta(hours=-5))
CST = timezone(timedelta(hours=-6))
NUMBER = "1Z999AA10123456784"
SECOND = "1Z999AA10123456793"

# Written out independently of the tables: changing a mapping must fail a test here.
EXPECTED_TYPES = {
    "M": "label_created",
    "MV": "cancelled",
    "P": "accepted",
    "I": "in_transit",
    "W": "in_transit",
    "DO": "in_transit",
    "DD": "in_transit",
    "O": "out_for_delivery",
    "D": "delivered",
    "X": "exception",
    "RS": "returned_to_sender",
    "NA": "unknown",
}
EXPECTED_CODES = {"OR": "accepted", "OT": "out_for_delivery"}


def parse(name, number=NUMBER):
    return parse_tracking(payload_bytes("ups", name), tracking_number=number)


def with_newest_status(name, **status):
    body = payload_json("ups", name)
    body["trackResponse"]["shipment"][0]["package"][0]["activity"][0]["status"].update(status)
    return json.dumps(body)


def test_delivered_answer_lists_activity_oldest_first():
    snapshot = parse("delivered.json")
    assert [e.carrier_code for e in snapshot.events] == ["MP", "OR", "DP", "AR", "OT", "FS"]
    assert [e.status for e in snapshot.events] == [
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.ACCEPTED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert snapshot.status is TrackingStatus.DELIVERED
    assert (snapshot.carrier, snapshot.tracking_number) == ("ups", NUMBER)


def test_activity_time_is_local_with_the_gmt_offset_ups_gives():
    delivered = parse("delivered.json").events[-1]
    assert delivered.occurred_at == datetime(2025, 3, 6, 14, 23, 5, tzinfo=CST)
    assert delivered.occurred_at.astimezone(UTC) == datetime(2025, 3, 6, 20, 23, 5, tzinfo=UTC)


def test_activity_keeps_upss_wording_and_location():
    delivered = parse("delivered.json").events[-1]
    assert delivered.description == "DELIVERED"
    assert delivered.location == Location("CHICAGO", "IL", "60614", "US")


def test_service_is_upss_service_description():
    assert parse("delivered.json").service == "UPS Ground"


def test_a_delivered_package_has_no_estimated_delivery():
    assert parse("delivered.json").estimated_delivery_at is None


def test_label_only_answer_is_label_created_not_in_transit():
    snapshot = parse("label_created.json")
    assert snapshot.status is TrackingStatus.LABEL_CREATED
    assert not any(e.status in PHYSICAL_STATUSES for e in snapshot.events)


def test_gmt_time_without_its_leading_zero_gives_the_offset_when_gmt_offset_is_absent():
    label = parse("label_created.json").events[0]
    # local 02:47:00, gmtTime "74700" (07:47:00 GMT), no gmtOffset: -05:00.
    assert label.occurred_at == datetime(2025, 3, 3, 2, 47, tzinfo=EST)


def test_scheduled_delivery_without_a_window_is_the_end_of_that_day():
    snapshot = parse("label_created.json")
    assert snapshot.estimated_delivery_at == datetime(2025, 3, 7, 23, 59, 59, tzinfo=EST)


def test_rescheduled_delivery_wins_and_ends_with_its_window():
    snapshot = parse("exception.json")
    assert snapshot.estimated_delivery_at == datetime(2025, 3, 7, 16, 0, tzinfo=CST)


def test_pickup_scan_is_the_acceptance_even_without_current_status():
    snapshot = parse("picked_up.json")
    assert (
        "currentStatus"
        not in payload_json("ups", "picked_up.json")["trackResponse"]["shipment"][0]["package"][0]
    )
    assert snapshot.status is TrackingStatus.ACCEPTED


def test_activity_without_gmt_fields_takes_the_offset_of_its_neighbour():
    pickup = parse("picked_up.json").events[-1]
    assert pickup.occurred_at == datetime(2025, 3, 3, 17, 12, tzinfo=EST)


def test_answer_without_any_offset_reads_local_times_as_utc_and_warns(caplog):
    body = payload_json("ups", "picked_up.json")
    for activity in body["trackResponse"]["shipment"][0]["package"][0]["activity"]:
        for key in ("gmtDate", "gmtTime", "gmtOffset"):
            activity.pop(key, None)
    with caplog.at_level(logging.WARNING, logger="carriers.ups"):
        snapshot = parse_tracking(json.dumps(body), tracking_number=NUMBER)
    assert snapshot.events[-1].occurred_at == datetime(2025, 3, 3, 17, 12, tzinfo=UTC)
    assert "reading its time as UTC" in caplog.text


def test_delivery_exception_is_an_exception():
    assert parse("exception.json").status is TrackingStatus.EXCEPTION


def test_returned_to_shipper_is_returned_to_sender():
    assert parse("returned.json").status is TrackingStatus.RETURNED_TO_SENDER


def test_voided_label_is_cancelled():
    assert parse("voided.json").status is TrackingStatus.CANCELLED


def test_multi_package_answer_gives_the_package_asked_about():
    snapshot = parse("multi_package.json", number=SECOND)
    assert snapshot.status is TrackingStatus.LABEL_CREATED
    assert [e.occurred_at.second for e in snapshot.events] == [31]


def test_multi_package_answer_gives_the_first_package_for_the_shipments_number():
    snapshot = parse("multi_package.json", number=NUMBER)
    assert snapshot.status is TrackingStatus.IN_TRANSIT
    assert len(snapshot.events) == 3


def test_usps_pic_alternate_number_is_a_handoff_to_usps():
    snapshot = parse("usps_handoff.json")
    assert snapshot.handoff == Handoff("usps", "92748990000000000012345126")
    assert snapshot.service == "UPS SurePost"


def test_answer_without_a_usps_pic_has_no_handoff():
    assert parse("delivered.json").handoff is None


def test_unknown_number_answered_with_http_200_and_tw0001_is_not_found():
    with pytest.raises(TrackingNotFound, match="TW0001 Tracking Information Not Found"):
        parse("not_found_200.json")


def test_answer_without_package_or_not_found_warning_is_invalid():
    body = b'{"trackResponse": {"shipment": [{"inquiryNumber": "1Z999AA10123456784"}]}}'
    with pytest.raises(CarrierResponseInvalid, match="no package"):
        parse_tracking(body, tracking_number=NUMBER)


def test_unknown_status_type_is_unknown_recorded_and_logged_never_in_transit(caplog):
    body = with_newest_status("delivered.json", type="ZZ", code="Z1", description="Held")
    with caplog.at_level(logging.WARNING, logger="carriers.ups"):
        snapshot = parse_tracking(body, tracking_number=NUMBER)
    assert snapshot.status is TrackingStatus.UNKNOWN
    assert snapshot.unknown_codes == ("ZZ",)
    assert "'ZZ'" in caplog.text


def test_missing_status_type_is_recorded_as_missing():
    body = with_newest_status("delivered.json", type=None, code=None)
    snapshot = parse_tracking(body, tracking_number=NUMBER)
    assert snapshot.status is TrackingStatus.UNKNOWN
    assert snapshot.unknown_codes == ("missing",)


def test_every_mapped_type_and_code_is_in_the_expected_tables():
    assert set(STATUS_TYPES) == set(EXPECTED_TYPES)
    assert set(STATUS_CODES) == set(EXPECTED_CODES)


@pytest.mark.parametrize("status_type", sorted(EXPECTED_TYPES))
def test_status_type_maps_to_its_status(status_type):
    body = with_newest_status("delivered.json", type=status_type, code="Q9", description="")
    snapshot = parse_tracking(body, tracking_number=NUMBER)
    assert snapshot.events[-1].status is TrackingStatus(EXPECTED_TYPES[status_type])
    assert snapshot.events[-1].description == STATUS_TYPES[status_type][1]
    assert snapshot.unknown_codes == ()


@pytest.mark.parametrize("code", sorted(EXPECTED_CODES))
def test_activity_code_overrides_its_type(code):
    body = with_newest_status("delivered.json", type="I", code=code)
    snapshot = parse_tracking(body, tracking_number=NUMBER)
    assert snapshot.events[-1].status is TrackingStatus(EXPECTED_CODES[code])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>",
        payload_bytes("ups", "delivered.json")[:400],
        payload_bytes("ups", "service_unavailable.html"),
        b'{"trackResponse": {"shipment": []}}',
        b'{"trackResponse": {"shipment": [{"package": [{"activity": [{"time": "101010"}]}]}]}}',
    ],
    ids=["empty", "html-start", "truncated", "html", "no-shipment", "activity-without-date"],
)
def test_body_that_is_not_a_track_answer_is_invalid_with_a_bounded_excerpt(body):
    with pytest.raises(CarrierResponseInvalid) as caught:
        parse_tracking(body, tracking_number=NUMBER)
    assert caught.value.excerpt == body[:MAX_EXCERPT_CHARS].decode("utf-8", "replace")


def test_unreadable_activity_date_makes_the_answer_invalid():
    body = payload_json("ups", "delivered.json")
    body["trackResponse"]["shipment"][0]["package"][0]["activity"][0]["date"] = "2025-03-06"
    with pytest.raises(CarrierResponseInvalid, match="not a UPS date"):
        parse_tracking(json.dumps(body), tracking_number=NUMBER)


def test_error_body_gives_upss_codes_and_messages():
    assert parse_errors(payload_bytes("ups", "invalid_number.json")) == [
        ("TV1002", "Invalid inquiry number")
    ]
    assert parse_errors(payload_bytes("ups", "service_unavailable.html")) == []
