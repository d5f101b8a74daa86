"""UPS Track Alert pushes read through the Track API's tables (UPSTrackAlert.yaml examples)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from carriers.errors import CarrierResponseInvalid
from carriers.types import Location, TrackingStatus
from carriers.ups.parse import parse_tracking
from carriers.ups.push import credential_matches, parse_push
from tests.support.ups_answers import polled_activity, polled_answer, pushed_origin_scan
from tests.unit.carriers.payloads import payload_bytes, payload_json


def test_the_specs_manifest_example_is_a_label_with_its_number_trimmed():
    snapshot = parse_push(payload_bytes("ups", "push_manifest.json"))

    assert snapshot.tracking_number == "1ZABCXYZ0112346789"  # " 1Z..." in UPS's own example
    [event] = snapshot.events
    assert (event.status, event.carrier_code) == (TrackingStatus.LABEL_CREATED, "MP")
    # Local 09:12:30 against GMT 04:12:30: UTC+5, as the two times say.
    assert event.occurred_at == datetime(
        2024, 4, 22, 9, 12, 30, tzinfo=timezone(timedelta(hours=5))
    )
    assert event.location == Location(None, None, None, "US")


def test_an_origin_scan_is_the_acceptance_as_in_a_polled_answer():
    snapshot = parse_push(payload_bytes("ups", "push_origin_scan.json"))

    [event] = snapshot.events
    assert (snapshot.status, event.status) == (TrackingStatus.ACCEPTED, TrackingStatus.ACCEPTED)
    assert event.occurred_at.astimezone(UTC) == datetime(2024, 4, 23, 1, 29, 1, tzinfo=UTC)
    assert event.location == Location("Hickory", "NC", None, "US")
    assert snapshot.estimated_delivery_at is not None
    assert snapshot.estimated_delivery_at.date().isoformat() == "2024-04-23"


def test_a_delivery_reads_the_v2_offset_written_with_a_dot():
    snapshot = parse_push(payload_bytes("ups", "push_delivered.json"))

    [event] = snapshot.events
    assert event.status is TrackingStatus.DELIVERED
    assert event.occurred_at == datetime(
        2024, 4, 23, 9, 50, 4, tzinfo=timezone(timedelta(hours=-4))
    )


def test_an_unknown_status_type_stays_unknown_and_is_listed():
    body = payload_json("ups", "push_origin_scan.json")
    body["activityStatus"] = {"type": "U", "code": "ZZ", "description": "Updated delivery date"}

    snapshot = parse_push(json.dumps(body))

    assert snapshot.status is TrackingStatus.UNKNOWN
    assert snapshot.unknown_codes == ("U",)


@pytest.mark.parametrize(
    "change",
    [{"trackingNumber": ""}, {"localActivityDate": ""}, {"activityStatus": None}],
)
def test_a_push_that_is_not_a_track_alert_event_is_invalid(change):
    body = payload_json("ups", "push_origin_scan.json") | change

    with pytest.raises(CarrierResponseInvalid):
        parse_push(json.dumps(body))


@pytest.mark.parametrize(
    ("given", "matches"),
    [("s3cret-value", True), ("s3cret-valuE", False), ("", False), (None, False)],
)
def test_only_the_credential_given_at_subscription_matches(given, matches):
    assert credential_matches("s3cret-value", given) is matches


NUMBER = "1ZABCXYZ0112346789"


def test_a_pushed_scan_and_its_polled_report_worded_otherwise_are_one_scan():
    [pushed] = parse_push(pushed_origin_scan(NUMBER)).events
    [polled] = parse_tracking(
        polled_answer(NUMBER, [polled_activity()]), tracking_number=NUMBER
    ).events

    assert (pushed.description, polled.description) == ("On the Way", "Origin Scan")
    assert pushed.dedupe_key == polled.dedupe_key


def test_two_ups_scans_at_the_same_minute_and_place_with_other_codes_stay_two():
    [origin] = parse_push(pushed_origin_scan(NUMBER)).events
    [arrival] = parse_tracking(
        polled_answer(NUMBER, [polled_activity(code="AR", description="On the Way")]),
        tracking_number=NUMBER,
    ).events

    assert (origin.occurred_at, origin.location) == (arrival.occurred_at, arrival.location)
    assert origin.dedupe_key != arrival.dedupe_key


def test_a_ups_scan_at_another_minute_or_place_is_another_scan():
    [scan] = parse_push(pushed_origin_scan(NUMBER)).events
    later = polled_activity() | {"time": "213001", "gmtTime": "01:30:01"}
    elsewhere = polled_activity()
    elsewhere["location"]["address"]["city"] = "Charlotte"

    for activity in (later, elsewhere):
        [other] = parse_tracking(polled_answer(NUMBER, [activity]), tracking_number=NUMBER).events
        assert other.dedupe_key != scan.dedupe_key
