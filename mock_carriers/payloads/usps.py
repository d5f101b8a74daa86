"""USPS Tracking v3 `GET /tracking/v3/tracking/{n}?expand=DETAIL` answers (TrackingDetails).

Follows the published OpenAPI (Package Tracking and Notification 3.2) and recorded responses:
events newest first, `eventTimestamp` local without an offset beside `GMTTimestamp` and
`GMTOffset`, processing plants named in `eventCity` with state and ZIP null, and
`expectedDeliveryTimeStamp` without an offset. One number in eight omits `statusCategory`,
as live answers sometimes do.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from carriers.sandbox import Scan, Timeline
from carriers.sandbox.scenarios import HANDOFF_SCENARIOS
from carriers.sandbox.vocabulary import Milestone
from carriers.types import PHYSICAL_STATUSES, TERMINAL_STATUSES
from mock_carriers.payloads.errors import error_body
from mock_carriers.payloads.timestamps import offset_text, wall_clock, zulu
from mock_carriers.responses import JSONValue


def tracking_answer(timeline: Timeline, now: datetime) -> tuple[int, JSONValue]:
    """Returns the HTTP status and body USPS gives for the number at `now`."""
    scans = timeline.visible(now)
    if not scans:
        return 404, error_body("usps", 404)
    latest, last_mile = scans[-1], timeline.scenario in HANDOFF_SCENARIOS
    origin, destination = timeline.origin, timeline.destination
    document: dict[str, JSONValue] = {
        "trackingNumber": timeline.tracking_number,
        "mailClass": timeline.service,
        "mailType": "DOMESTIC_MAIL",
        "serviceTypeCode": "612" if last_mile else "001",
        "originCity": origin.city.upper(),
        "originState": origin.state,
        "originZIP": origin.postal_code,
        "destinationCity": destination.city.upper(),
        "destinationState": destination.state,
        "destinationZIP": destination.postal_code,
        "emailEnabled": True,
        "kahalaIndicator": False,
        "proofOfDeliveryEnabled": False,
        "redeliveryEnabled": False,
        "restoreEnabled": False,
        "services": ["USPS Tracking<SUP>&#174;</SUP>"],
        "status": latest.wording.description,
        "statusCategory": latest.wording.category,
        "statusSummary": _summary(latest),
        "tableCode": "T",
        "trackingEvents": [_event(scan) for scan in reversed(scans)],
    }
    if _omits_status_category(timeline.tracking_number):
        del document["statusCategory"]
    scanned = any(scan.status in PHYSICAL_STATUSES for scan in scans)
    if scanned and latest.status not in TERMINAL_STATUSES and timeline.delivery_due_at:
        document["expectedDeliveryTimeStamp"] = wall_clock(timeline.delivery_due_at)
    return 200, document


def _event(scan: Scan) -> JSONValue:
    local, place = scan.local_at, scan.place
    named_plant = scan.located and place.named_facility
    return {
        "eventType": scan.wording.description,
        "eventTimestamp": wall_clock(local),
        "GMTTimestamp": zulu(scan.at),
        "GMTOffset": offset_text(local),
        "eventCountry": None,
        "eventCity": place.city.upper() if scan.located else None,
        "eventState": place.state if scan.located and not named_plant else None,
        "eventZIP": place.postal_code if scan.located and not named_plant else None,
        "firm": None,
        "name": None,
        "authorizedAgent": False,
        "eventCode": scan.wording.code,
    }


def _summary(scan: Scan) -> str:
    local = scan.local_at
    when = f"{local.strftime('%I:%M %p').lstrip('0').lower()} on {local.strftime('%B %d, %Y')}"
    place = scan.place
    where = (
        place.city
        if place.named_facility
        else f"{place.city.upper()}, {place.state} {place.postal_code}"
    )
    if scan.milestone is Milestone.DELIVERED:
        return f"Your item was delivered in or at the mailbox at {when} in {where}."
    if scan.milestone in (Milestone.LABEL_CREATED, Milestone.PRE_SHIPMENT_INFO):
        return (
            f"A shipping label has been prepared for your item at {when}. This does not "
            "indicate receipt by the USPS or the actual mailing date."
        )
    return f"{scan.wording.description} at {when} in {where}."


def _omits_status_category(tracking_number: str) -> bool:
    return hashlib.sha256(f"usps-category|{tracking_number}".encode()).digest()[0] % 8 == 0
