"""UPS Track API answers built to match a recorded Track Alert push, for tests that need the
same scan reported both ways."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.carriers.payloads import payload_json

PUSHED_ORIGIN_SCAN = "push_origin_scan.json"


def polled_activity(*, code: str = "OR", description: str = "Origin Scan") -> dict[str, Any]:
    """The Track API's activity for push_origin_scan.json's scan (type I, 21:29:01 local at
    Hickory NC, 01:29:01 GMT the next day), in the Track API's own shape and wording."""
    return {
        "location": {
            "address": {
                "city": "Hickory",
                "stateProvince": "NC",
                "countryCode": "US",
                "country": "US",
            }
        },
        "status": {"type": "I", "description": description, "code": code, "statusCode": "005"},
        "date": "20240422",
        "time": "212901",
        "gmtDate": "20240423",
        "gmtTime": "01:29:01",
        "gmtOffset": "-04:00",
    }


def polled_answer(number: str, activities: list[dict[str, Any]]) -> str:
    """A Track API answer for one package with these activities (newest first, as UPS lists)."""
    package = {"trackingNumber": number, "activity": activities}
    shipment = {"inquiryNumber": number, "package": [package]}
    return json.dumps({"trackResponse": {"shipment": [shipment]}})


def pushed_origin_scan(number: str, **status: str) -> str:
    """push_origin_scan.json for `number`; `status` replaces fields of its activityStatus."""
    body = payload_json("ups", PUSHED_ORIGIN_SCAN)
    body["trackingNumber"] = number
    body["activityStatus"] = body["activityStatus"] | status
    return json.dumps(body)
