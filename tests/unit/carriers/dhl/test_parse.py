import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from carriers.dhl.parse import STATUS_CODES, STATUS_LABELS, parse_problem, parse_shipments
from carriers.errors import CarrierResponseInvalid, TrackingNotFound
from carriers.types import (
    Handoff,
    Location,
    PartnerNumber,
    TrackingQuery,
    TrackingSnapshot,
    TrackingStatus,
)
from tests.unit.carriers.dhl.payloads import dump, load, load_text, shipment_of

S = TrackingStatus
CET_SUMMER = timezone(timedelta(hours=2))


def snapshot_of(answer: dict[str, Any], service: str | None = None) -> TrackingSnapshot:
    number = str(shipment_of(answer)["id"])
    result = parse_shipments(dump(answer), TrackingQuery(tracking_number=number, service=service))
    assert isinstance(result, TrackingSnapshot), result
    return result


def event(code: str, status: str, timestamp: str, postal_code: str = "10115") -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "location": {"address": {"countryCode": "DE", "postalCode": postal_code}},
        "statusCode": code,
        "status": status,
    }


def answer_with(events: list[dict[str, Any]]) -> dict[str, Any]:
    answer = load("parcel_de_failure.json")
    shipment = shipment_of(answer)
    shipment["events"] = events
    shipment["status"] = events[0] if events else shipment["status"]
    return answer


def test_delivered_express_shipment_is_delivered_with_events_oldest_first():
    snapshot = snapshot_of(load("express_delivered.json"))

    assert snapshot.status is S.DELIVERED
    assert snapshot.carrier == "dhl"
    assert snapshot.service == "express"
    assert [event.carrier_code for event in snapshot.events] == [
        "pre-transit",
        "transit",
        "transit",
        "transit",
        "delivered",
    ]
    assert snapshot.events[-1].occurred_at == datetime(2023, 6, 13, 10, 42, tzinfo=CET_SUMMER)
    assert snapshot.events[-1].location == Location(
        city="AMSTERDAM - NETHERLANDS", postal_code="1043 AG", country="NL"
    )
    assert snapshot.events[1].description == "Shipment picked up"


def test_pre_transit_is_label_created_never_in_transit():
    snapshot = snapshot_of(
        answer_with([event("pre-transit", "Data sent", "2024-03-04T18:12+01:00")])
    )

    assert snapshot.status is S.LABEL_CREATED
    assert snapshot.events[0].status is S.LABEL_CREATED


def test_shipment_with_no_events_yet_is_a_label_created_snapshot():
    snapshot = snapshot_of(load("parcel_de_no_events.json"))

    assert snapshot.status is S.LABEL_CREATED
    assert snapshot.events == ()
    assert snapshot.tracking_number == "00340434161094015902"


def test_shipment_with_no_events_takes_dhl_current_status():
    answer = load("parcel_de_no_events.json")
    shipment_of(answer)["status"]["statusCode"] = "transit"

    assert snapshot_of(answer).status is S.IN_TRANSIT


def test_shipment_with_neither_events_nor_status_is_label_created():
    answer = load("parcel_de_no_events.json")
    del shipment_of(answer)["status"]

    assert snapshot_of(answer).status is S.LABEL_CREATED


def test_event_time_without_offset_takes_the_offset_stated_for_the_same_moment():
    answer = load("express_naive_events.json")
    shipment_of(answer)["status"]["timestamp"] = "2018-03-02T07:53:47+01:00"

    [only] = snapshot_of(answer).events

    assert only.occurred_at == datetime(2018, 3, 2, 7, 53, 47, tzinfo=timezone(timedelta(hours=1)))


def test_times_without_any_offset_in_the_answer_are_taken_as_utc():
    snapshot = snapshot_of(load("ecommerce_us_handoff.json"))

    assert snapshot.events[0].occurred_at == datetime(2023, 5, 1, 10, 2, 48, tzinfo=UTC)


def test_event_times_never_borrow_the_offset_of_the_delivery_estimate():
    # DHL drops the estimate once delivered; a borrowed offset would move the scan between polls.
    answer = load("ecommerce_us_handoff.json")
    shipment_of(answer)["estimatedTimeOfDelivery"] = "2023-05-04T20:00:00-05:00"

    snapshot = snapshot_of(answer)

    assert snapshot.events[0].occurred_at == datetime(2023, 5, 1, 10, 2, 48, tzinfo=UTC)
    assert snapshot.estimated_delivery_at == datetime(2023, 5, 5, 1, tzinfo=UTC)


def test_status_label_refines_only_the_code_it_comes_with():
    # DHL's own example pairs the label "DELIVERED" with the code pre-transit.
    snapshot = snapshot_of(load("express_naive_events.json"))

    assert snapshot.status is S.LABEL_CREATED


def test_ecommerce_us_parcel_is_handed_off_to_usps_under_the_local_tracking_number():
    snapshot = snapshot_of(load("ecommerce_us_handoff.json"))

    assert snapshot.handoff == Handoff(carrier="usps", tracking_number="9361289691090239488371")
    assert snapshot.status is S.HANDED_OFF


def test_ecommerce_receipt_at_the_distribution_center_is_the_acceptance_scan():
    snapshot = snapshot_of(load("ecommerce_us_handoff.json"))

    statuses = [event.status for event in snapshot.events]
    assert statuses[:3] == [S.LABEL_CREATED, S.LABEL_CREATED, S.ACCEPTED]
    assert snapshot.unknown_codes == ()


def test_international_ecommerce_local_number_is_no_usps_handoff():
    assert snapshot_of(load("ecommerce_international.json")).handoff is None


def test_international_ecommerce_local_number_is_a_partner_number_unnamed_by_dhl():
    snapshot = snapshot_of(load("ecommerce_international.json"))

    assert snapshot.partner_numbers == (PartnerNumber(number="H01PQA0010751022"),)
    assert snapshot.handoff is None


def test_partner_is_named_when_dhl_names_the_carrier_and_it_is_not_dhl():
    answer = load("ecommerce_international.json")
    shipment_of(answer)["details"]["carrier"] = {
        "@type": "Organization",
        "organizationName": " Royal  Mail ",
    }

    assert snapshot_of(answer).partner_numbers == (
        PartnerNumber(number="H01PQA0010751022", partner_name="Royal Mail"),
    )


def test_dhl_naming_itself_as_carrier_leaves_the_partner_unnamed():
    answer = load("ecommerce_international.json")
    shipment_of(answer)["details"]["carrier"] = {"organizationName": "DHL eCommerce"}

    assert snapshot_of(answer).partner_numbers == (PartnerNumber(number="H01PQA0010751022"),)


def test_us_ecommerce_local_number_stays_the_usps_handoff_and_no_partner_number():
    snapshot = snapshot_of(load("ecommerce_us_handoff.json"))

    assert snapshot.handoff == Handoff(carrier="usps", tracking_number="9361289691090239488371")
    assert snapshot.partner_numbers == ()


def test_partner_numbers_are_listed_once_each_and_never_the_number_asked_for():
    answer = load("ecommerce_international.json")
    references = shipment_of(answer)["details"]["references"]
    references += [
        {"number": " H01PQA0010751022 ", "type": "local-tracking-number"},
        {"number": "GMDBD8E9CCE94842E495B7", "type": "local-tracking-number"},
        {"number": "", "type": "local-tracking-number"},
        {"number": "LP00123456789", "type": "local-tracking-number"},
    ]

    assert [p.number for p in snapshot_of(answer).partner_numbers] == [
        "H01PQA0010751022",
        "LP00123456789",
    ]


def test_a_shipment_without_references_has_no_partner_numbers():
    answer = load("ecommerce_international.json")
    del shipment_of(answer)["details"]

    assert snapshot_of(answer).partner_numbers == ()


def test_a_single_reference_object_is_read_like_a_list():
    answer = load("ecommerce_us_handoff.json")
    details = shipment_of(answer)["details"]
    details["references"] = {"number": "9361289691090239400000", "type": "local-tracking-number"}

    assert snapshot_of(answer).handoff == Handoff("usps", "9361289691090239400000")


def test_pre_transit_event_after_the_parcel_was_received_does_not_undo_the_receipt():
    answer = load("ecommerce_international.json")
    shipment = shipment_of(answer)
    shipment["events"] = shipment["events"][5:]  # awaiting shipment, received, label created

    snapshot = snapshot_of(answer)

    assert snapshot.events[-1].status is S.LABEL_CREATED
    assert snapshot.status is S.ACCEPTED


def test_dhl_unknown_events_are_unknown_and_recorded_with_their_label(caplog):
    with caplog.at_level(logging.WARNING, logger="carriers.dhl"):
        snapshot = snapshot_of(load("ecommerce_international.json"))

    assert snapshot.status is S.IN_TRANSIT
    assert snapshot.unknown_codes == ("unknown:CLOSE BAG", "unknown:SCANNED INTO SACK/CONTAINER")
    assert any("CLOSE BAG" in record.getMessage() for record in caplog.records)


def test_unknown_newest_event_makes_the_snapshot_unknown_never_in_transit():
    answer = load("ecommerce_international.json")
    shipment_of(answer)["events"].pop(0)

    assert snapshot_of(answer).status is S.UNKNOWN


def test_unrecognised_status_code_is_unknown_recorded_and_logged(caplog):
    answer = answer_with([event("returned", "Returned", "2024-03-09T10:00:00+01:00")])
    with caplog.at_level(logging.WARNING, logger="carriers.dhl"):
        snapshot = snapshot_of(answer)

    assert snapshot.status is S.UNKNOWN
    assert snapshot.unknown_codes == ("returned",)
    assert [record.name for record in caplog.records] == ["carriers.dhl"]


def test_failure_is_an_exception():
    snapshot = snapshot_of(load("parcel_de_failure.json"))

    assert snapshot.status is S.EXCEPTION
    assert snapshot.events[-1].description.startswith("The shipment could not be delivered")


def test_delivered_back_at_the_origin_after_a_failure_is_returned_to_sender():
    snapshot = snapshot_of(load("parcel_de_returned.json"))

    assert snapshot.status is S.RETURNED_TO_SENDER
    assert snapshot.events[-1].status is S.RETURNED_TO_SENDER
    assert snapshot.events[-1].carrier_code == "delivered"


def test_delivered_at_the_destination_after_a_failure_is_delivered():
    answer = load("parcel_de_failure.json")
    delivered = event("delivered", "Delivered", "2024-03-08T11:00:00+01:00", postal_code="10115")
    shipment_of(answer)["events"].insert(0, delivered)

    assert snapshot_of(answer).status is S.DELIVERED


def test_delivered_at_the_origin_without_a_failure_is_delivered():
    answer = load("parcel_de_failure.json")
    shipment = shipment_of(answer)
    shipment["events"] = [
        event("delivered", "Delivered", "2024-03-08T11:00:00+01:00", postal_code="04109"),
        *shipment["events"][1:],
    ]

    assert snapshot_of(answer).status is S.DELIVERED


EXPECTED_CODES = {
    "pre-transit": S.LABEL_CREATED,
    "transit": S.IN_TRANSIT,
    "delivered": S.DELIVERED,
    "failure": S.EXCEPTION,
    "unknown": S.UNKNOWN,
}

EXPECTED_LABELS = {
    ("unknown", "LABEL CREATED"): S.LABEL_CREATED,
    ("transit", "PACKAGE RECEIVED AT DHL ECOMMERCE DISTRIBUTION CENTER"): S.ACCEPTED,
    ("transit", "TENDERED TO DELIVERY SERVICE PROVIDER"): S.HANDED_OFF,
    ("transit", "OUT FOR DELIVERY"): S.OUT_FOR_DELIVERY,
}


def test_every_mapped_code_and_label_has_an_expected_status():
    assert set(EXPECTED_CODES) == set(STATUS_CODES)
    assert set(EXPECTED_LABELS) == set(STATUS_LABELS)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_CODES.items()))
def test_status_code_maps_to_its_documented_status(code, expected):
    snapshot = snapshot_of(answer_with([event(code, "Some text", "2024-03-09T10:00:00+01:00")]))

    assert snapshot.events[0].status is expected
    assert snapshot.status is expected


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED_LABELS.items()))
def test_status_label_maps_to_its_documented_status(key, expected):
    code, label = key
    answer = answer_with([event(code, label.lower(), "2024-03-09T10:00:00+01:00")])

    assert snapshot_of(answer).status is expected


def test_service_asked_for_picks_that_shipment_among_several():
    answer = load("express_delivered.json")
    answer["shipments"].append(shipment_of(load("parcel_de_no_events.json")))
    answer["shipments"][1]["id"] = shipment_of(answer)["id"]

    assert snapshot_of(answer, service="parcel-de").status is S.LABEL_CREATED
    assert snapshot_of(answer).status is S.DELIVERED


def test_an_answer_without_shipments_is_not_found():
    with pytest.raises(TrackingNotFound):
        parse_shipments('{"shipments": []}', TrackingQuery(tracking_number="1"))


def test_estimated_delivery_is_the_estimated_time_of_delivery_in_utc():
    snapshot = snapshot_of(load("express_naive_events.json"))

    assert snapshot.estimated_delivery_at == datetime(2018, 8, 3, tzinfo=UTC)


def test_estimated_delivery_falls_back_to_the_end_of_the_time_frame():
    answer = load("express_naive_events.json")
    del shipment_of(answer)["estimatedTimeOfDelivery"]

    assert snapshot_of(answer).estimated_delivery_at == datetime(2018, 8, 3, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    ['{"foo": 1}', '{"shipments": [{"events": [{"statusCode": "transit"}]}]}', "<html></html>"],
)
def test_body_that_is_not_a_tracking_answer_is_an_invalid_response(body):
    with pytest.raises(CarrierResponseInvalid) as raised:
        parse_shipments(body, TrackingQuery(tracking_number="1"))

    assert raised.value.excerpt == body


def test_unreadable_event_time_is_an_invalid_response():
    answer = answer_with([event("transit", "Moving", "last tuesday")])

    with pytest.raises(CarrierResponseInvalid, match="last tuesday"):
        parse_shipments(dump(answer), TrackingQuery(tracking_number="1"))


def test_problem_body_gives_its_detail():
    assert parse_problem(load_text("not_found.json")) == (
        "No shipment with given tracking number found."
    )
    assert parse_problem("<html>bad gateway</html>") == "<html>bad gateway</html>"


def test_two_dhl_scans_with_one_code_and_minute_but_other_words_stay_two():
    # DHL's codes are coarse ("transit" is every hub scan): its wording tells the scans apart.
    at = "2024-03-08T14:05:00+01:00"
    answer = answer_with(
        [event("transit", "Arrived at hub", at), event("transit", "Departed from hub", at)]
    )

    first, second = snapshot_of(answer).events

    assert (first.carrier_code, first.occurred_at) == (second.carrier_code, second.occurred_at)
    assert first.location == second.location
    assert first.dedupe_key != second.dedupe_key
