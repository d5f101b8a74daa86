"""UPS Track Alert pushes (the `TrackingEvent` webhook of UPSTrackAlert.yaml in the public
UPS-API/api-documentation repository) turned into snapshots. Pure.

One POST carries one event of one package. It is read through the same tables and time rules
as a Track API answer (`parse.snapshot_of_package`): the push's fields are put where the Track
API keeps them, so a status code means the same polled or pushed.
"""

from __future__ import annotations

import hmac

from pydantic import Field

from carriers.answers import decode_answer
from carriers.numbers import normalize_tracking_number
from carriers.types import TrackingSnapshot
from carriers.ups.parse import CARRIER, _Model, _Package, snapshot_of_package

# The header Track Alert v1 sends the `credential` given at subscription in ("It is an opaque
# string meant for client authentication. Shared in Subscription request.").
CREDENTIAL_HEADER = "credential"
# v2 posts each event with the bearer token it obtained from the customer's token URL and
# this header, "the clientID of the OAUTH token used for authentication" (`clientOauth2`).
API_KEY_HEADER = "x-api-key"


class _PushStatus(_Model):
    type: str = ""
    code: str = ""
    description: str = ""


class _PushLocation(_Model):
    city: str = ""
    state_province: str = Field("", alias="stateProvince")
    postal_code: str = Field("", alias="postalCode")
    country: str = ""


class _TrackingEvent(_Model):
    # Absent values come as empty strings, not missing keys (the spec's own examples).
    tracking_number: str = Field(alias="trackingNumber", min_length=1)
    activity_status: _PushStatus = Field(alias="activityStatus")
    activity_location: _PushLocation | None = Field(None, alias="activityLocation")
    local_date: str = Field("", alias="localActivityDate")
    local_time: str = Field("", alias="localActivityTime")
    gmt_date: str = Field("", alias="gmtActivityDate")
    gmt_time: str = Field("", alias="gmtActivityTime")
    gmt_offset: str = Field("", alias="gmtOffset")  # "-04.00" (v2 only)
    scheduled_delivery_date: str = Field("", alias="scheduledDeliveryDate")
    delivery_end_time: str = Field("", alias="deliveryEndTime")


def credential_matches(expected: str, given: str | None) -> bool:
    """True only when the pushed credential is the one firstscan gave UPS; constant time."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def parse_push(body: str | bytes) -> TrackingSnapshot:
    """Returns the one pushed event as a snapshot of its package (events: that one).

    Raises CarrierResponseInvalid for a body that is not a Track Alert event or whose times
    cannot be read. The tracking number is normalized: the spec's first example has a leading
    space.
    """
    event = decode_answer(_TrackingEvent, body, carrier=CARRIER, what="Track Alert event")
    number = normalize_tracking_number(event.tracking_number)
    package = _Package.model_validate(_as_track_package(event, number))
    return snapshot_of_package(package, tracking_number=number, body=body)


def _as_track_package(event: _TrackingEvent, number: str) -> dict[str, object]:
    """The event in the Track API's package shape (Activity, Address, deliveryDate)."""
    place = event.activity_location or _PushLocation()
    activity = {
        "date": event.local_date,
        "time": event.local_time,
        "gmtDate": event.gmt_date,
        "gmtTime": event.gmt_time,
        # Track Alert writes the offset as "-04.00"; the Track API as "-04:00".
        "gmtOffset": event.gmt_offset.replace(".", ":"),
        "location": {
            "address": {
                "city": place.city,
                "stateProvince": place.state_province,
                "postalCode": place.postal_code,
                "countryCode": place.country,
            }
        },
        "status": {
            "type": event.activity_status.type,
            "code": event.activity_status.code,
            "description": event.activity_status.description,
        },
    }
    scheduled = event.scheduled_delivery_date.strip()
    return {
        "trackingNumber": number,
        "activity": [activity],
        "deliveryDate": [{"type": "SDD", "date": scheduled}] if scheduled else [],
        "deliveryTime": {"type": "EOD", "endTime": event.delivery_end_time}
        if event.delivery_end_time.strip()
        else None,
    }
