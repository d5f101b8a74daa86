"""DHL Shipment Tracking - Unified `GET /track/shipments?trackingNumber=` answers.

Shaped like recorded DHL eCommerce Americas answers: service "ecommerce", events newest first
with a fixed upper-case `status` label beside `statusCode` and no description, `timestamp` in
local time without an offset, event places as "City, ST, US" in `addressLocality`, the USPS
last-mile number as the "local-tracking-number" reference once tendered. An unknown number is
a 404 problem.
"""

from __future__ import annotations

from datetime import datetime

from carriers.sandbox import Scan, Timeline
from carriers.sandbox.geography import Place
from carriers.types import PHYSICAL_STATUSES, TERMINAL_STATUSES
from mock_carriers.payloads.errors import error_body
from mock_carriers.payloads.timestamps import wall_clock, with_offset
from mock_carriers.responses import JSONValue


def tracking_answer(timeline: Timeline, now: datetime) -> tuple[int, JSONValue]:
    """Returns the HTTP status and body DHL gives for the number at `now`."""
    number, scans = timeline.tracking_number, timeline.visible(now)
    if not scans:
        return 404, error_body("dhl", 404)
    events = [_event(scan) for scan in reversed(scans)]
    references: list[JSONValue] = [{"number": number, "type": "customer-confirmation-number"}]
    handoff = timeline.handed_off(now)
    if handoff is not None:
        references.append({"number": handoff.tracking_number, "type": "local-tracking-number"})
    shipment: dict[str, JSONValue] = {
        "id": number,
        "service": "ecommerce",
        "origin": {"address": _city(timeline.origin)},
        "destination": {"address": _city(timeline.destination)},
        "status": events[0],
        "details": {
            "product": {"productName": timeline.service},
            "weight": {"value": 1.4, "unitText": "LB"},
            "references": references,
        },
        "events": events,
    }
    scanned = any(scan.status in PHYSICAL_STATUSES for scan in scans)
    due = timeline.delivery_due_at
    if scanned and due is not None and scans[-1].status not in TERMINAL_STATUSES:
        shipment["estimatedTimeOfDelivery"] = with_offset(due)
    url = f"/track/shipments?trackingNumber={number}&limit=10"
    return 200, {
        "url": url,
        "firstUrl": url,
        "prevUrl": url,
        "nextUrl": url,
        "lastUrl": url,
        "shipments": [shipment],
        "possibleAdditionalShipmentsUrl": [
            f"/track/shipments?trackingNumber={number}&service=express",
            f"/track/shipments?trackingNumber={number}&service=parcel-de",
        ],
    }


def _event(scan: Scan) -> JSONValue:
    event: dict[str, JSONValue] = {"timestamp": wall_clock(scan.local_at)}
    if scan.located:
        place = scan.place
        event["location"] = {
            "address": {
                "countryCode": "US",
                "postalCode": place.postal_code,
                "addressLocality": f"{place.city}, {place.state}, US",
            }
        }
    event["statusCode"] = scan.wording.code
    event["status"] = scan.wording.description
    return event


def _city(place: Place) -> JSONValue:
    return {
        "countryCode": "US",
        "postalCode": place.postal_code,
        "addressLocality": place.city.upper(),
    }
