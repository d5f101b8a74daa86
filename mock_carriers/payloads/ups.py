"""UPS Track API `GET /api/track/v1/details/{n}` answers (TrackApiResponse).

Follows UPS's published OpenAPI (Tracking.yaml): activity newest first, each with status
type/code/description/statusCode, local `date` and `time`, `gmtDate`, `gmtTime`, `gmtOffset`;
a USPS hand-off number in `alternateTrackingNumber` with type USPS_PIC. Half the numbers get
the newer `currentStatus`, half do not, as older answers lack it. An unknown number is a 404
for half the numbers and, as UPS also does, a 200 with warning TW0001 and no package for the
other half.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from carriers.sandbox import Scan, Timeline
from carriers.sandbox.geography import Place
from carriers.sandbox.scenarios import HANDOFF_SCENARIOS
from carriers.types import PHYSICAL_STATUSES, TrackingStatus
from mock_carriers.payloads.errors import error_body
from mock_carriers.payloads.timestamps import offset_text
from mock_carriers.responses import JSONValue

_SIMPLE_TEXT = {
    TrackingStatus.LABEL_CREATED: "Label Created",
    TrackingStatus.ACCEPTED: "On the Way",
    TrackingStatus.IN_TRANSIT: "On the Way",
    TrackingStatus.OUT_FOR_DELIVERY: "Out for Delivery",
    TrackingStatus.DELIVERED: "Delivered",
    TrackingStatus.EXCEPTION: "Exception",
    TrackingStatus.RETURNED_TO_SENDER: "Returned to Sender",
}


def tracking_answer(timeline: Timeline, now: datetime) -> tuple[int, JSONValue]:
    """Returns the HTTP status and body UPS gives for the number at `now`."""
    number, scans = timeline.tracking_number, timeline.visible(now)
    if not scans:
        if _flip(number, "not-found-as-404"):
            return 404, error_body("ups", 404)
        warning = {"code": "TW0001", "message": "Tracking Information Not Found"}
        return 200, {
            "trackResponse": {"shipment": [{"inquiryNumber": number, "warnings": [warning]}]}
        }
    package = _package(timeline, scans, now)
    shipment = {"inquiryNumber": number, "package": [package], "userRelation": []}
    return 200, {"trackResponse": {"shipment": [shipment]}}


def _package(timeline: Timeline, scans: tuple[Scan, ...], now: datetime) -> dict[str, JSONValue]:
    latest = scans[-1]
    handing_off = timeline.scenario in HANDOFF_SCENARIOS
    package: dict[str, JSONValue] = {
        "trackingNumber": timeline.tracking_number,
        "activity": [_activity(scan) for scan in reversed(scans)],
        "packageAddress": [
            {"type": "ORIGIN", "address": _address(timeline.origin)},
            {"type": "DESTINATION", "address": _address(timeline.destination)},
        ],
        "service": {
            "code": "093" if handing_off else "003",
            "levelCode": "093" if handing_off else "003",
            "description": timeline.service,
        },
        "weight": {"unitOfMeasurement": "LBS", "weight": "1.40"},
        "packageCount": 1,
    }
    package.update(_delivery(timeline, scans))
    if _flip(timeline.tracking_number, "current-status"):
        package["currentStatus"] = {
            **activity_status(latest),
            "simplifiedTextDescription": _SIMPLE_TEXT.get(latest.status, "On the Way"),
        }
    handoff = timeline.handed_off(now)
    if handoff is not None:
        package["alternateTrackingNumber"] = [
            {"number": handoff.tracking_number, "type": "USPS_PIC"}
        ]
    return package


def _delivery(timeline: Timeline, scans: tuple[Scan, ...]) -> dict[str, JSONValue]:
    latest = scans[-1]
    if latest.status is TrackingStatus.DELIVERED:
        local = latest.local_at
        return {
            "deliveryDate": [{"type": "DEL", "date": local.strftime("%Y%m%d")}],
            "deliveryTime": {"type": "DEL", "endTime": local.strftime("%H%M%S")},
        }
    scanned = any(scan.status in PHYSICAL_STATUSES for scan in scans)
    if scanned and timeline.delivery_due_at is not None:
        due = timeline.delivery_due_at.strftime("%Y%m%d")
        return {"deliveryDate": [{"type": "SDD", "date": due}], "deliveryTime": {"type": "EOD"}}
    return {}


def _activity(scan: Scan) -> JSONValue:
    local, utc = scan.local_at, scan.at.astimezone(UTC)
    address = _address(scan.place) if scan.located else {"country": "US", "countryCode": "US"}
    return {
        "location": {"address": address, "slic": _slic(scan.place) if scan.located else ""},
        "status": activity_status(scan),
        "date": local.strftime("%Y%m%d"),
        "time": local.strftime("%H%M%S"),
        "gmtDate": utc.strftime("%Y%m%d"),
        "gmtTime": utc.strftime("%H:%M:%S"),
        "gmtOffset": offset_text(local),
    }


def activity_status(scan: Scan) -> dict[str, JSONValue]:
    wording = scan.wording
    return {
        "type": wording.category,
        "description": wording.description,
        "code": wording.code,
        "statusCode": wording.category_text,
    }


def _address(place: Place) -> JSONValue:
    return {
        "city": place.city.upper(),
        "stateProvince": place.state,
        "postalCode": place.postal_code,
        "country": "US",
        "countryCode": "US",
    }


def _slic(place: Place) -> str:
    """Returns a stable 4-digit Site Location Indicator Code for the place."""
    return f"{int(hashlib.sha256(place.city.encode()).hexdigest(), 16) % 9000 + 1000}"


def _flip(tracking_number: str, purpose: str) -> bool:
    return hashlib.sha256(f"ups-{purpose}|{tracking_number}".encode()).digest()[0] % 2 == 0
