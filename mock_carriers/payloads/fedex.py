"""FedEx Track API `POST /track/v1/trackingnumbers` answers.

Follows FedEx's published Track API and recorded responses: one `completeTrackResults` entry per
number asked, scans newest first with the local time and offset in `date`, a USPS hand-off in
`additionalTrackingInfo.packageIdentifiers` as PARTNER_CARRIER_NUMBER with `values` (the live
spelling; the OpenAPI example says `value`), an unknown number as a per-number `error`.
Quirks kept on purpose: half the label-only answers have an empty `scanEvents`; while a parcel
returns to the shipper, `latestStatusDetail` still shows the delivery exception.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, time

from carriers.sandbox import Scan, Timeline
from carriers.sandbox.geography import Place
from carriers.sandbox.scenarios import HANDOFF_SCENARIOS
from carriers.sandbox.vocabulary import Milestone
from carriers.types import PHYSICAL_STATUSES, TERMINAL_STATUSES
from mock_carriers.payloads.timestamps import with_offset
from mock_carriers.responses import JSONValue

MAX_NUMBERS_PER_REQUEST = 30
NOT_FOUND = {
    "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
    "message": "Tracking number cannot be found. Please correct the tracking number and try again.",
}
_LOCATION_TYPES = {
    Milestone.LABEL_CREATED: "CUSTOMER",
    Milestone.ACCEPTED: "PICKUP_LOCATION",
    Milestone.ARRIVED: "FEDEX_FACILITY",
    Milestone.DEPARTED: "FEDEX_FACILITY",
    Milestone.AT_DESTINATION: "DESTINATION_FEDEX_FACILITY",
    Milestone.OUT_FOR_DELIVERY: "VEHICLE",
    Milestone.DELIVERED: "DELIVERY_LOCATION",
    Milestone.EXCEPTION: "DELIVERY_LOCATION",
    Milestone.RETURNING: "DESTINATION_FEDEX_FACILITY",
    Milestone.TENDERED: "NON_FEDEX_FACILITY",
}
_WEIGHT = [{"value": "1.4", "unit": "LB"}, {"value": "0.64", "unit": "KG"}]


def tracking_answer(timelines: Sequence[Timeline], now: datetime) -> JSONValue:
    """Returns FedEx's 200 body for the numbers asked, in the order asked."""
    results = [_complete_result(timeline, now) for timeline in timelines]
    return {"transactionId": str(uuid.uuid4()), "output": {"completeTrackResults": results}}


def _complete_result(timeline: Timeline, now: datetime) -> JSONValue:
    number, scans = timeline.tracking_number, timeline.visible(now)
    if not scans:
        info = {"trackingNumber": number, "trackingNumberUniqueId": "", "carrierCode": ""}
        return {
            "trackingNumber": number,
            "trackResults": [{"trackingNumberInfo": info, "error": NOT_FOUND}],
        }
    return {"trackingNumber": number, "trackResults": [_track_result(timeline, scans, now)]}


def _track_result(timeline: Timeline, scans: tuple[Scan, ...], now: datetime) -> JSONValue:
    number, handing_off = timeline.tracking_number, timeline.scenario in HANDOFF_SCENARIOS
    carrier_code = "FXSP" if handing_off else "FDXG"
    label_local = scans[0].local_at
    scanned = any(scan.status in PHYSICAL_STATUSES for scan in scans)
    label_only_empty = not scanned and _flip(number, "empty-scan-events")
    handoff = timeline.handed_off(now)
    identifiers = (
        [{"type": "PARTNER_CARRIER_NUMBER", "values": [handoff.tracking_number],
          "trackingNumberUniqueId": "", "carrierCode": ""}]
        if handoff else []
    )  # fmt: skip
    return {
        "trackingNumberInfo": {
            "trackingNumber": number,
            "trackingNumberUniqueId": f"{label_local.strftime('%y%j')}000~{number}~FX",
            "carrierCode": carrier_code,
        },
        "additionalTrackingInfo": {
            "nickname": "",
            "packageIdentifiers": identifiers,
            "hasAssociatedShipments": False,
        },
        **_parties(timeline),
        "latestStatusDetail": _latest_detail(scans),
        "dateAndTimes": _dates(timeline, scans),
        "availableImages": [],
        **_package(scanned),
        "scanEvents": [] if label_only_empty else [_scan_event(s) for s in reversed(scans)],
        "availableNotifications": ["ON_DELIVERY", "ON_EXCEPTION", "ON_ESTIMATED_DELIVERY"],
        "deliveryDetails": {
            "deliveryAttempts": _attempts(scans),
            "deliveryOptionEligibilityDetails": [],
        },
        "serviceDetail": {
            "type": "SMART_POST" if handing_off else "FEDEX_GROUND",
            "description": timeline.service,
            "shortDescription": "SP" if handing_off else "FG",
        },
        "estimatedDeliveryTimeWindow": {"window": _window(timeline, scans)},
        "goodsClassificationCode": "",
        "returnDetail": {},
    }


def _parties(timeline: Timeline) -> dict[str, JSONValue]:
    origin, destination = _address(timeline.origin), _address(timeline.destination)
    return {
        "shipperInformation": {"contact": {}, "address": origin},
        "recipientInformation": {"contact": {}, "address": destination},
        "originLocation": {"locationContactAndAddress": {"address": origin}},
        "destinationLocation": {
            "locationContactAndAddress": {"address": destination},
            "locationType": "",
        },
        "lastUpdatedDestinationAddress": destination,
    }


def _package(scanned: bool) -> dict[str, JSONValue]:
    return {
        "packageDetails": {
            "packagingDescription": {"type": "YOUR_PACKAGING", "description": "Your Packaging"},
            "count": "1",
            "weightAndDimensions": {"weight": _WEIGHT},
            "packageContent": [],
        },
        "shipmentDetails": {"possessionStatus": scanned, "weight": _WEIGHT},
    }


def _latest_detail(scans: tuple[Scan, ...]) -> JSONValue:
    latest = scans[-1]
    if latest.milestone is Milestone.RETURNING and len(scans) > 1:
        latest = scans[-2]  # FedEx keeps the exception as latest detail while the parcel returns
    wording = latest.wording
    return {
        "code": wording.code,
        "derivedCode": wording.category,
        "statusByLocale": wording.category_text,
        "description": wording.description,
        "scanLocation": _scan_location(latest),
        "ancillaryDetails": [],
    }


def _scan_event(scan: Scan) -> JSONValue:
    wording = scan.wording
    event: dict[str, JSONValue] = {
        "date": with_offset(scan.local_at),
        "eventType": wording.code,
        "eventDescription": wording.description,
        "exceptionCode": "03" if scan.milestone is Milestone.EXCEPTION else "",
        "exceptionDescription": wording.detail,
        "scanLocation": _scan_location(scan),
        "locationType": _LOCATION_TYPES.get(scan.milestone, "FEDEX_FACILITY"),
        "derivedStatusCode": wording.category,
        "derivedStatus": wording.category_text,
    }
    if scan.located and scan.milestone is not Milestone.TENDERED:
        event["locationId"] = scan.place.city.replace(" ", "")[:4].upper()
    return event


def _dates(timeline: Timeline, scans: tuple[Scan, ...]) -> list[JSONValue]:
    label_local = scans[0].local_at
    midnight = datetime.combine(label_local.date(), time(0), tzinfo=label_local.tzinfo)
    dates: list[JSONValue] = []
    latest = scans[-1]
    if latest.milestone is Milestone.DELIVERED:
        dates.append({"type": "ACTUAL_DELIVERY", "dateTime": with_offset(latest.local_at)})
    elif timeline.delivery_due_at and latest.status not in TERMINAL_STATUSES and len(scans) > 1:
        due = timeline.delivery_due_at
        due_day = datetime.combine(due.date(), time(0), tzinfo=due.tzinfo)
        dates.append({"type": "ESTIMATED_DELIVERY", "dateTime": with_offset(due_day)})
    for scan in scans:
        if scan.milestone is Milestone.ACCEPTED:
            dates.append({"type": "ACTUAL_PICKUP", "dateTime": with_offset(scan.local_at)})
            dates.append({"type": "ACTUAL_TENDER", "dateTime": with_offset(scan.local_at)})
    dates.append({"type": "SHIP", "dateTime": with_offset(midnight)})
    return dates


def _window(timeline: Timeline, scans: tuple[Scan, ...]) -> JSONValue:
    due, latest = timeline.delivery_due_at, scans[-1]
    if due is None or latest.status in TERMINAL_STATUSES or len(scans) < 2:
        return {}
    begins = datetime.combine(due.date(), time(8), tzinfo=due.tzinfo)
    return {"begins": with_offset(begins), "ends": with_offset(due)}


def _attempts(scans: tuple[Scan, ...]) -> str:
    return str(sum(1 for scan in scans if scan.milestone is Milestone.OUT_FOR_DELIVERY))


def _scan_location(scan: Scan) -> JSONValue:
    if not scan.located:
        return {"streetLines": [""], "residential": False}
    return {"streetLines": [""], **_address(scan.place)}


def _address(place: Place) -> dict[str, JSONValue]:
    return {
        "city": place.city.upper(),
        "stateOrProvinceCode": place.state,
        "postalCode": place.postal_code,
        "countryCode": "US",
        "residential": False,
        "countryName": "United States",
    }


def _flip(tracking_number: str, purpose: str) -> bool:
    return hashlib.sha256(f"fedex-{purpose}|{tracking_number}".encode()).digest()[0] % 2 == 0
