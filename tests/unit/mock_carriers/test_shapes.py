from datetime import datetime, timedelta

import httpx
import pytest

from carriers.sandbox import Scenario, plan_timeline
from carriers.sandbox.numbering import parse_last_mile_number
from mock_carriers import MockCarrierServer, MockShipment
from tests.unit.mock_carriers.conftest import LABEL_AT, NOW
from tests.unit.mock_carriers.helpers import fetch_token, number, track, track_ok

USPS_EVENT_FIELDS = {
    "eventType", "eventTimestamp", "GMTTimestamp", "GMTOffset", "eventCountry", "eventCity",
    "eventState", "eventZIP", "firm", "name", "authorizedAgent", "eventCode",
}  # fmt: skip
UPS_ACTIVITY_FIELDS = {"location", "status", "date", "time", "gmtDate", "gmtTime", "gmtOffset"}
FEDEX_SCAN_FIELDS = {
    "date", "eventType", "eventDescription", "exceptionCode", "exceptionDescription",
    "scanLocation", "locationType", "derivedStatusCode", "derivedStatus",
}  # fmt: skip


async def test_usps_detail_answer_lists_events_newest_first_with_local_and_gmt_times(client):
    answer = (await track_ok(client, "usps", number("usps"))).json()
    events = answer["trackingEvents"]
    assert answer["trackingNumber"] == number("usps")
    assert events[0]["eventCode"] == "01"
    assert events[-1]["eventCode"] == "GX"
    assert all(set(e) == USPS_EVENT_FIELDS for e in events)
    gmt = [datetime.fromisoformat(e["GMTTimestamp"]) for e in events]
    assert gmt == sorted(gmt, reverse=True)
    for event in events:
        local = datetime.fromisoformat(event["eventTimestamp"] + event["GMTOffset"])
        assert local == datetime.fromisoformat(event["GMTTimestamp"])


async def test_usps_names_processing_plants_in_the_city_field_alone(client):
    events = (await track_ok(client, "usps", number("usps"))).json()["trackingEvents"]
    plants = [e for e in events if "DISTRIBUTION CENTER" in (e["eventCity"] or "")]
    assert plants
    assert all(e["eventState"] is None and e["eventZIP"] is None for e in plants)


async def test_usps_omits_status_category_for_some_numbers_only(client):
    answers = [
        (await track_ok(client, "usps", number("usps", "normal", i))).json() for i in range(24)
    ]
    with_category = [a for a in answers if "statusCategory" in a]
    assert 0 < len(with_category) < len(answers)
    assert {a["statusCategory"] for a in with_category} == {"Delivered"}


async def test_usps_expected_delivery_comes_without_an_offset(manual_time):
    usps = number("usps")
    journey = plan_timeline("usps", usps, label_created_at=LABEL_AT)
    manual_time.wall = journey.scans[2].at  # in transit: accepted, not yet delivered
    server = MockCarrierServer(
        clock=manual_time.now, shipments=[MockShipment("usps", usps, label_created_at=LABEL_AT)]
    )
    answer = await _answer(server, "usps", usps)
    stamp = datetime.fromisoformat(answer["expectedDeliveryTimeStamp"])
    assert stamp.tzinfo is None
    assert journey.delivery_due_at is not None
    assert stamp == journey.delivery_due_at.replace(tzinfo=None)
    assert answer["trackingEvents"][0]["eventCode"] == journey.scans[2].wording.code


async def test_unknown_usps_number_is_a_404_with_the_usps_error_body(client):
    response = await track_ok(client, "usps", number("usps", "not_found"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "404"
    assert "Tracking is not available" in response.json()["error"]["message"]


async def test_ups_activity_is_newest_first_with_type_code_and_gmt_fields(client):
    answer = (await track_ok(client, "ups", number("ups"))).json()
    package = answer["trackResponse"]["shipment"][0]["package"][0]
    activity = package["activity"]
    assert all(set(a) == UPS_ACTIVITY_FIELDS for a in activity)
    assert [activity[0]["status"]["type"], activity[-1]["status"]["type"]] == ["D", "M"]
    assert activity[-1]["location"]["address"] == {"country": "US", "countryCode": "US"}
    stamps = [a["gmtDate"] + a["gmtTime"] for a in activity]
    assert stamps == sorted(stamps, reverse=True)
    assert package["deliveryDate"][0]["type"] == "DEL"


async def test_ups_sends_current_status_for_some_numbers_only(client):
    packages = []
    for i in range(12):
        answer = (await track_ok(client, "ups", number("ups", "normal", i))).json()
        packages.append(answer["trackResponse"]["shipment"][0]["package"][0])
    with_current = [p for p in packages if "currentStatus" in p]
    assert 0 < len(with_current) < len(packages)
    assert {p["currentStatus"]["statusCode"] for p in with_current} == {"011"}


async def test_ups_hand_off_names_the_usps_pic(client):
    answer = (await track_ok(client, "ups", number("ups", "handoff"))).json()
    package = answer["trackResponse"]["shipment"][0]["package"][0]
    (alternate,) = package["alternateTrackingNumber"]
    assert alternate["type"] == "USPS_PIC"
    assert parse_last_mile_number(alternate["number"]) is not None
    tender = package["activity"][0]["status"]
    assert (tender["type"], tender["code"], tender["statusCode"]) == ("I", "DS", "005")


async def test_unknown_ups_numbers_answer_404_or_200_with_tw0001(client):
    outcomes = set()
    for i in range(8):
        response = await track_ok(client, "ups", number("ups", "not_found", i))
        if response.status_code == 200:
            (shipment,) = response.json()["trackResponse"]["shipment"]
            assert "package" not in shipment
            assert shipment["warnings"][0]["code"] == "TW0001"
        else:
            assert response.json()["response"]["errors"][0]["code"] == "TW0001"
        outcomes.add(response.status_code)
    assert outcomes == {200, 404}


async def test_ups_requires_its_transaction_headers(client):
    token = await fetch_token(client, "ups")
    response = await client.get(
        f"/ups/api/track/v1/details/{number('ups')}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert "errors" in response.json()["response"]


async def test_fedex_answers_every_number_asked_in_order(client):
    asked = [number("fedex", "normal"), number("fedex", "not_found"), number("fedex", "stalled")]
    token = await fetch_token(client, "fedex")
    body = {"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in asked]}
    response = await client.post(
        "/fedex/track/v1/trackingnumbers", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    results = response.json()["output"]["completeTrackResults"]
    assert [r["trackingNumber"] for r in results] == asked
    assert results[1]["trackResults"][0]["error"]["code"] == "TRACKING.TRACKINGNUMBER.NOTFOUND"
    delivered = results[0]["trackResults"][0]
    assert delivered["latestStatusDetail"]["code"] == "DL"
    assert all(set(e) >= FEDEX_SCAN_FIELDS for e in delivered["scanEvents"])
    assert delivered["scanEvents"][-1]["derivedStatusCode"] == "IN"


async def test_fedex_hand_off_carries_the_partner_number_in_values(client):
    answer = (await track_ok(client, "fedex", number("fedex", "handoff_gap"))).json()
    result = answer["output"]["completeTrackResults"][0]["trackResults"][0]
    (identifier,) = result["additionalTrackingInfo"]["packageIdentifiers"]
    assert identifier["type"] == "PARTNER_CARRIER_NUMBER"
    leg = parse_last_mile_number(identifier["values"][0])
    assert leg is not None
    assert leg.gap
    assert result["serviceDetail"]["type"] == "SMART_POST"
    assert result["scanEvents"][0]["eventType"] == "AX"


async def test_fedex_keeps_the_exception_as_latest_detail_while_returning(client):
    answer = (await track_ok(client, "fedex", number("fedex", "returned_to_sender"))).json()
    result = answer["output"]["completeTrackResults"][0]["trackResults"][0]
    assert result["scanEvents"][0]["eventType"] == "RS"
    assert result["latestStatusDetail"]["code"] == "DE"


async def test_fedex_label_only_answers_sometimes_have_no_scan_events(client):
    scans = []
    for i in range(10):
        answer = (await track_ok(client, "fedex", number("fedex", "never_inducted", i))).json()
        result = answer["output"]["completeTrackResults"][0]["trackResults"][0]
        assert result["latestStatusDetail"]["code"] == "OC"
        scans.append(len(result["scanEvents"]))
    assert set(scans) == {0, 1}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"trackingInfo": []}, "TRACKING.TRACKINGNUMBER.EMPTY"),
        ({"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": f"{n:012d}"}}
                           for n in range(31)]}, "TRACKING.TRACKINGNUMBER.LIMITEXCEEDED"),
        ({"trackingInfo": "nope"}, "INVALID.INPUT.EXCEPTION"),
    ],
)  # fmt: skip
async def test_fedex_refuses_bad_requests_whole(client, body, code):
    token = await fetch_token(client, "fedex")
    response = await client.post(
        "/fedex/track/v1/trackingnumbers", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == code


async def test_thirty_fedex_numbers_are_still_one_answer(client):
    token = await fetch_token(client, "fedex")
    asked = [number("fedex", "normal", i) for i in range(30)]
    body = {"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in asked]}
    response = await client.post(
        "/fedex/track/v1/trackingnumbers", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert len(response.json()["output"]["completeTrackResults"]) == 30


async def test_dhl_answer_is_an_ecommerce_shipment_with_naive_local_event_times(client):
    answer = (await track_ok(client, "dhl", number("dhl"))).json()
    (shipment,) = answer["shipments"]
    events = shipment["events"]
    assert shipment["service"] == "ecommerce"
    assert shipment["status"] == events[0]
    assert [events[0]["statusCode"], events[-1]["statusCode"]] == ["delivered", "unknown"]
    assert events[-1]["status"] == "LABEL CREATED"
    assert all(datetime.fromisoformat(e["timestamp"]).tzinfo is None for e in events)
    assert events[0]["location"]["address"]["addressLocality"].endswith(", US")


async def test_dhl_hand_off_lists_the_usps_number_as_local_tracking_number(client):
    answer = (await track_ok(client, "dhl", number("dhl", "handoff"))).json()
    references = answer["shipments"][0]["details"]["references"]
    local = [r["number"] for r in references if r["type"] == "local-tracking-number"]
    assert len(local) == 1
    assert parse_last_mile_number(local[0]) is not None


async def test_unknown_dhl_number_is_a_404_problem(client):
    response = await track_ok(client, "dhl", number("dhl", "not_found"))
    assert response.status_code == 404
    assert response.json()["title"] == "No result found"


async def test_dhl_without_a_tracking_number_is_a_bad_request(client):
    response = await client.get("/dhl/track/shipments", headers={"DHL-API-Key": "mock-dhl-api-key"})
    assert response.status_code == 400


@pytest.mark.parametrize("carrier", ["usps", "ups", "fedex", "dhl"])
async def test_answers_follow_the_clock_and_only_grow(manual_time, carrier):
    tracked = number(carrier, "normal")
    server = MockCarrierServer(
        clock=manual_time.now,
        monotonic=manual_time.monotonic,
        shipments=[MockShipment(carrier, tracked, label_created_at=LABEL_AT)],
    )
    counts = []
    for days in (0, 2, 4, 8):
        manual_time.wall = LABEL_AT + timedelta(days=days, minutes=1)
        counts.append(_event_count(carrier, await _answer(server, carrier, tracked)))
    assert counts == sorted(counts)
    assert counts[0] == 1
    assert counts[-1] == len(plan_timeline(carrier, tracked, label_created_at=LABEL_AT).scans)


async def test_runtime_shipment_settings_fix_scenario_and_label_time(client, manual_time):
    tracked = number("fedex", "normal")
    setting = {"carrier": "fedex", "tracking_number": tracked, "scenario": "never_inducted",
               "label_created_at": (NOW - timedelta(hours=2)).isoformat()}  # fmt: skip
    response = await client.post("/_mock/shipments", json={"shipments": [setting]})
    assert response.json() == {"registered": 1}
    answer = (await track_ok(client, "fedex", tracked)).json()
    result = answer["output"]["completeTrackResults"][0]["trackResults"][0]
    assert result["latestStatusDetail"]["code"] == "OC"
    assert result["dateAndTimes"][-1]["dateTime"].startswith(NOW.strftime("%Y-%m-%d"))


async def test_shipment_settings_are_validated(client):
    bad = {"shipments": [{"carrier": "fedex", "tracking_number": "1", "scenario": "lost"}]}
    naive = {"shipments": [{"carrier": "fedex", "tracking_number": "1",
                            "label_created_at": "2026-01-01T00:00:00"}]}  # fmt: skip
    usps_handoff = {"shipments": [{"carrier": "usps", "tracking_number": "1",
                                   "scenario": "handoff"}]}  # fmt: skip
    for body in (bad, naive, usps_handoff):
        assert (await client.post("/_mock/shipments", json=body)).status_code == 400


def test_a_fixed_hand_off_on_a_carrier_without_one_is_refused_up_front():
    with pytest.raises(ValueError, match="cannot play"):
        MockCarrierServer(shipments=[MockShipment("usps", "1", scenario=Scenario.HANDOFF_GAP)])


async def test_first_seen_label_times_start_journeys_at_the_first_request(manual_time):
    tracked = number("ups", "normal")
    server = MockCarrierServer(clock=manual_time.now, label_times="first_seen")
    first = await _answer(server, "ups", tracked)
    activity = first["trackResponse"]["shipment"][0]["package"][0]["activity"]
    assert len(activity) == 1
    manual_time.wall = NOW + timedelta(days=9)
    later = await _answer(server, "ups", tracked)
    assert len(later["trackResponse"]["shipment"][0]["package"][0]["activity"]) > 1


async def _answer(server: MockCarrierServer, carrier: str, tracked: str) -> dict:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
        token = None if carrier == "dhl" else await fetch_token(http, carrier)
        response = await track(http, carrier, tracked, token)
    assert response.status_code == 200, response.text
    return response.json()


def _event_count(carrier: str, answer: dict) -> int:
    if carrier == "usps":
        return len(answer["trackingEvents"])
    if carrier == "ups":
        return len(answer["trackResponse"]["shipment"][0]["package"][0]["activity"])
    if carrier == "fedex":
        result = answer["output"]["completeTrackResults"][0]["trackResults"][0]
        return max(1, len(result["scanEvents"]))  # a label-only answer may list no scan
    return len(answer["shipments"][0]["events"])
