import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from carriers.errors import (
    CarrierResponseInvalid,
    InvalidTrackingNumber,
    TrackingNotFound,
)
from carriers.fedex.parse import (
    STATUS_CODES,
    parse_error_body,
    parse_track_response,
)
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.types import Handoff, Location, TrackingSnapshot, TrackingStatus
from tests.unit.carriers.fedex.payloads import dump, first_result, load, load_text

S = TrackingStatus


def snapshot_of(answer: dict[str, Any], number: str | None = None) -> TrackingSnapshot:
    number = number or answer["output"]["completeTrackResults"][0]["trackingNumber"]
    [result] = parse_track_response(dump(answer), [number])
    assert isinstance(result, TrackingSnapshot), result
    return result


def failure_of(result: TrackingResult) -> TrackingFailure:
    assert isinstance(result, TrackingFailure), result
    return result


def scan(event_type: str | None, date: str, derived: str | None = None) -> dict[str, Any]:
    return {
        "date": date,
        "eventType": event_type,
        "eventDescription": "",
        "exceptionCode": "",
        "exceptionDescription": "",
        "scanLocation": {"city": "MEMPHIS", "stateOrProvinceCode": "TN", "countryCode": "US"},
        "derivedStatusCode": derived,
    }


def label_only_with(scans: list[dict[str, Any]], detail: str | None = None) -> dict[str, Any]:
    answer = load("track_label_only.json")
    result = first_result(answer)
    result["scanEvents"] = scans
    if detail is None:
        del result["latestStatusDetail"]
    else:
        result["latestStatusDetail"] = {"code": detail, "derivedCode": ""}
    return answer


def test_pickup_time_without_offset_takes_the_offset_fedex_states_for_the_same_moment():
    snapshot = snapshot_of(load("track_in_transit.json"))

    pickup = next(event for event in snapshot.events if event.carrier_code == "PU")
    assert pickup.occurred_at == datetime(2022, 8, 22, tzinfo=timezone(timedelta(hours=-6)))


def test_events_come_oldest_first_with_fedex_codes_and_locations():
    snapshot = snapshot_of(load("track_in_transit.json"))

    assert [event.carrier_code for event in snapshot.events] == ["PU", "OC", "AR", "DP"]
    assert snapshot.events[-1].location == Location(
        city="MEMPHIS", state="TN", postal_code="38106", country="US"
    )
    assert snapshot.events[1].location == Location(postal_code="38118", country="US")
    assert snapshot.events[-1].description == "Departed FedEx location"


def test_in_transit_answer_is_in_transit_with_its_service():
    snapshot = snapshot_of(load("track_in_transit.json"))

    assert snapshot.status is S.IN_TRANSIT
    assert snapshot.carrier == "fedex"
    assert snapshot.service == "GROUND_HOME_DELIVERY"
    assert snapshot.handoff is None
    assert snapshot.unknown_codes == ()


def test_shipment_information_stamped_after_the_pickup_does_not_undo_the_pickup():
    scans = [
        scan("OC", "2022-08-22T10:37:00-05:00", "IN"),
        scan("PU", "2022-08-22T00:00:00-06:00", "PU"),
    ]
    snapshot = snapshot_of(label_only_with(scans, detail="OC"))

    assert snapshot.events[-1].status is S.LABEL_CREATED
    assert snapshot.status is S.ACCEPTED


def test_label_only_result_with_empty_scan_events_is_a_label_created_snapshot():
    snapshot = snapshot_of(load("track_label_only.json"))

    assert snapshot.status is S.LABEL_CREATED
    assert snapshot.events == ()
    assert snapshot.tracking_number == "794612345678"


def test_label_only_result_without_any_status_is_still_label_created():
    snapshot = snapshot_of(label_only_with([], detail=None))

    assert snapshot.status is S.LABEL_CREATED


def test_delivered_answer_is_delivered():
    snapshot = snapshot_of(load("track_delivered.json"))

    assert snapshot.status is S.DELIVERED
    assert snapshot.events[-1].carrier_code == "DL"
    assert snapshot.service == "PRIORITY_OVERNIGHT"


def test_delivered_latest_status_wins_over_a_cancellation_scan_listed_after_it():
    answer = load("track_delivered.json")
    first_result(answer)["scanEvents"].insert(0, scan("CA", "2024-04-26T10:00:00-07:00"))

    assert snapshot_of(answer).status is S.DELIVERED


def test_delivery_exception_keeps_the_reason_in_the_description():
    snapshot = snapshot_of(load("track_delivery_exception.json"))

    assert snapshot.status is S.EXCEPTION
    assert snapshot.events[-1].description == (
        "Delivery exception: Customer not available or business closed"
    )


def test_return_to_shipper_scan_wins_over_the_delivery_exception_kept_as_latest_status():
    snapshot = snapshot_of(load("track_returning_to_shipper.json"))

    assert snapshot.status is S.RETURNED_TO_SENDER
    assert snapshot.handoff is None  # the return label number is no last-mile hand-off


def test_return_in_latest_status_wins_over_an_exception_scan():
    answer = load("track_returning_to_shipper.json")
    result = first_result(answer)
    result["scanEvents"].pop(0)
    result["latestStatusDetail"] = {"code": "RS", "derivedCode": "RS"}

    assert snapshot_of(answer).status is S.RETURNED_TO_SENDER


def test_ground_economy_partner_number_in_values_is_a_usps_handoff():
    snapshot = snapshot_of(load("track_ground_economy_handoff.json"))

    assert snapshot.handoff == Handoff(carrier="usps", tracking_number="9261299998820821171811")
    assert snapshot.status is S.HANDED_OFF
    assert snapshot.service == "SMART_POST"


def test_partner_number_in_the_openapi_value_form_is_read_too():
    answer = load("track_ground_economy_handoff.json")
    identifier = first_result(answer)["additionalTrackingInfo"]["packageIdentifiers"][0]
    del identifier["values"]
    identifier["value"] = "9261299998820821170000"

    assert snapshot_of(answer).handoff == Handoff("usps", "9261299998820821170000")


def test_answers_map_per_number_in_the_order_asked():
    numbers = ["333333333333", "222222222222", "111111111111"]
    results = parse_track_response(load_text("track_multiple_numbers.json"), numbers)

    assert [result.tracking_number for result in results] == numbers
    out_for_delivery, not_found, reused = results
    assert isinstance(out_for_delivery, TrackingSnapshot)
    assert out_for_delivery.status is S.OUT_FOR_DELIVERY
    assert isinstance(failure_of(not_found).error, TrackingNotFound)
    assert isinstance(reused, TrackingSnapshot)


def test_reused_number_resolves_to_the_shipment_with_the_latest_activity():
    [result] = parse_track_response(load_text("track_multiple_numbers.json"), ["111111111111"])

    assert isinstance(result, TrackingSnapshot)
    assert result.status is S.ACCEPTED
    assert result.events[-1].occurred_at.year == 2024


def test_estimated_delivery_prefers_the_end_of_the_delivery_window_in_utc():
    [_, _, result] = parse_track_response(
        load_text("track_multiple_numbers.json"), ["111111111111", "222222222222", "333333333333"]
    )

    assert isinstance(result, TrackingSnapshot)
    assert result.estimated_delivery_at == datetime(2024, 9, 5, 18, 30, tzinfo=UTC)


def test_estimated_delivery_falls_back_to_the_estimated_delivery_date():
    snapshot = snapshot_of(load("track_in_transit.json"))

    assert snapshot.estimated_delivery_at == datetime(2022, 8, 25, 6, 0, tzinfo=UTC)


def test_estimated_delivery_without_offset_uses_the_offset_stated_for_the_same_moment():
    answer = load("track_in_transit.json")
    first_result(answer)["dateAndTimes"][0]["dateTime"] = "2022-08-25T00:00:00"

    assert snapshot_of(answer).estimated_delivery_at == datetime(2022, 8, 25, 6, tzinfo=UTC)


def test_empty_tracking_number_error_is_an_invalid_number():
    [result] = parse_track_response(load_text("track_invalid_number.json"), ["  "])

    assert isinstance(failure_of(result).error, InvalidTrackingNumber)


def test_unknown_per_number_error_code_is_a_retryable_invalid_answer():
    answer = load("track_invalid_number.json")
    first_result(answer)["error"] = {"code": "SYSTEM.UNAVAILABLE.EXCEPTION", "message": "later"}
    [result] = parse_track_response(dump(answer), ["794612345678"])

    error = failure_of(result).error
    assert isinstance(error, CarrierResponseInvalid)
    assert error.retryable
    assert "SYSTEM.UNAVAILABLE.EXCEPTION" in error.message


EXPECTED_STATUS = {
    "OC": S.LABEL_CREATED,
    "IN": S.LABEL_CREATED,
    "OX": S.LABEL_CREATED,
    "EP": S.LABEL_CREATED,
    "AP": S.LABEL_CREATED,
    "PD": S.LABEL_CREATED,
    "PU": S.ACCEPTED,
    "PX": S.ACCEPTED,
    "AA": S.IN_TRANSIT,
    "AC": S.IN_TRANSIT,
    "AE": S.IN_TRANSIT,
    "AF": S.IN_TRANSIT,
    "AO": S.IN_TRANSIT,
    "AR": S.IN_TRANSIT,
    "CC": S.IN_TRANSIT,
    "CP": S.IN_TRANSIT,
    "DP": S.IN_TRANSIT,
    "EA": S.IN_TRANSIT,
    "EO": S.IN_TRANSIT,
    "FD": S.IN_TRANSIT,
    "IT": S.IN_TRANSIT,
    "IX": S.IN_TRANSIT,
    "LO": S.IN_TRANSIT,
    "OF": S.IN_TRANSIT,
    "PF": S.IN_TRANSIT,
    "PL": S.IN_TRANSIT,
    "SF": S.IN_TRANSIT,
    "TR": S.IN_TRANSIT,
    "AX": S.HANDED_OFF,
    "OD": S.OUT_FOR_DELIVERY,
    "HL": S.AVAILABLE_FOR_PICKUP,
    "HP": S.AVAILABLE_FOR_PICKUP,
    "DL": S.DELIVERED,
    "CD": S.EXCEPTION,
    "DD": S.EXCEPTION,
    "DE": S.EXCEPTION,
    "DY": S.EXCEPTION,
    "SE": S.EXCEPTION,
    "RS": S.RETURNED_TO_SENDER,
    "CA": S.CANCELLED,
}


def test_every_mapped_code_has_an_expected_status():
    assert set(EXPECTED_STATUS) == set(STATUS_CODES)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_STATUS.items()))
def test_event_type_maps_to_its_documented_status(code, expected):
    snapshot = snapshot_of(label_only_with([scan(code, "2024-05-01T09:00:00-05:00")]))

    assert snapshot.events[0].status is expected
    assert snapshot.status is expected
    assert snapshot.unknown_codes == ()


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_STATUS.items()))
def test_latest_status_code_maps_to_its_documented_status_for_a_label_only_result(code, expected):
    snapshot = snapshot_of(label_only_with([], detail=code))

    assert snapshot.status is expected


def test_derived_status_code_maps_when_the_event_type_is_missing():
    snapshot = snapshot_of(label_only_with([scan(None, "2024-05-01T09:00:00-05:00", "IN")]))

    assert snapshot.status is S.LABEL_CREATED
    assert snapshot.events[0].carrier_code == "IN"


def test_unknown_code_is_unknown_recorded_and_logged_never_in_transit(caplog):
    answer = label_only_with([scan("ZQ", "2024-05-01T09:00:00-05:00")], detail="ZQ")
    with caplog.at_level(logging.WARNING, logger="carriers.fedex"):
        snapshot = snapshot_of(answer)

    assert snapshot.status is S.UNKNOWN
    assert snapshot.events[0].status is S.UNKNOWN
    assert snapshot.unknown_codes == ("ZQ",)
    assert any("ZQ" in record.getMessage() for record in caplog.records)
    assert {record.name for record in caplog.records} == {"carriers.fedex"}


def test_unknown_event_type_with_a_known_derived_code_is_mapped_and_still_recorded():
    snapshot = snapshot_of(label_only_with([scan("QQ", "2024-05-01T09:00:00-05:00", "IT")]))

    assert snapshot.status is S.IN_TRANSIT
    assert snapshot.unknown_codes == ("QQ",)


def test_known_latest_status_beats_a_newest_scan_we_cannot_read():
    scans = [scan("ZQ", "2024-05-02T09:00:00-05:00"), scan("PU", "2024-05-01T09:00:00-05:00")]

    assert snapshot_of(label_only_with(scans, detail="OD")).status is S.OUT_FOR_DELIVERY


def test_physical_latest_status_beats_a_scan_list_that_only_shows_the_label():
    scans = [scan("OC", "2024-05-01T09:00:00-05:00")]

    assert snapshot_of(label_only_with(scans, detail="PU")).status is S.ACCEPTED


def test_cancelled_latest_status_beats_a_scan_list_that_only_shows_the_label():
    scans = [scan("OC", "2024-05-01T09:00:00-05:00")]

    assert snapshot_of(label_only_with(scans, detail="CA")).status is S.CANCELLED


def test_newest_scan_beats_a_latest_status_that_lags_behind():
    scans = [scan("OD", "2024-05-02T07:00:00-05:00"), scan("AR", "2024-05-01T22:00:00-05:00")]

    assert snapshot_of(label_only_with(scans, detail="AR")).status is S.OUT_FOR_DELIVERY


def test_number_echoed_in_another_form_pairs_with_the_number_asked_in_order():
    [result] = parse_track_response(
        load_text("track_ground_economy_handoff.json"), ["9261299998820821171811"]
    )

    assert isinstance(result, TrackingSnapshot)
    assert result.tracking_number == "9261299998820821171811"


def test_number_missing_from_the_answer_is_a_failure_for_that_number_only():
    results = parse_track_response(load_text("track_delivered.json"), ["776094337676", "X1"])

    assert isinstance(results[0], TrackingSnapshot)
    assert isinstance(failure_of(results[1]).error, CarrierResponseInvalid)


def test_unreadable_scan_time_fails_only_that_number():
    answer = load("track_delivered.json")
    first_result(answer)["scanEvents"][0]["date"] = "yesterday"
    [result] = parse_track_response(dump(answer), ["776094337676"])

    error = failure_of(result).error
    assert isinstance(error, CarrierResponseInvalid)
    assert "yesterday" in error.excerpt


@pytest.mark.parametrize("body", ['{"output": {}}', '{"transactionId": "x"}', "[]"])
def test_body_that_is_not_a_track_answer_is_an_invalid_response(body):
    with pytest.raises(CarrierResponseInvalid) as raised:
        parse_track_response(body, ["776094337676"])

    assert raised.value.excerpt == body


def test_truncated_body_is_an_invalid_response_with_a_bounded_excerpt():
    body = load_text("track_in_transit.json")[:3000]
    with pytest.raises(CarrierResponseInvalid) as raised:
        parse_track_response(body, ["277053421731"])

    assert raised.value.excerpt == body[:500]


def test_error_body_naming_a_missing_number_is_not_found():
    assert isinstance(parse_error_body(load_text("error_number_not_found.json")), TrackingNotFound)


def test_error_body_about_anything_else_names_no_number_error():
    assert parse_error_body(load_text("error_unauthorized.json")) is None
    assert parse_error_body(load_text("gateway_error.html")) is None


def test_a_number_whose_result_our_parser_cannot_read_leaves_the_others_readable(monkeypatch):
    from carriers.errors import AdapterFault
    from carriers.fedex import parse as fedex_parse

    real = fedex_parse._build_snapshot

    def raising_for_one(number, track):
        if number == "111111111111":
            raise AttributeError("'NoneType' object has no attribute 'city'")
        return real(number, track)

    monkeypatch.setattr(fedex_parse, "_build_snapshot", raising_for_one)
    numbers = ["333333333333", "111111111111"]

    out_for_delivery, unreadable = parse_track_response(
        load_text("track_multiple_numbers.json"), numbers
    )

    assert isinstance(out_for_delivery, TrackingSnapshot)
    assert isinstance(failure_of(unreadable).error, AdapterFault)
    assert "AttributeError" in failure_of(unreadable).error.message
