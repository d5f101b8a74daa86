"""USPS Subscriptions - Tracking notifications turned into snapshots. Pure.

USPS keeps its Subscriptions - Tracking reference behind the developer portal
(developers.usps.com/subscriptions-trackingv3r2); docs/carrier-push.md says what is public and
where firstscan assumed. A notification is an envelope {subscriptionId, subscriptionType,
timestamp, payload, links} whose `payload` is a string of JSON, signed with the subscription's
secret in the `X-HMAC` header: Base64 of HMAC-SHA256 over `timestamp` followed by `payload`, as
received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from pydantic import Field

from carriers.answers import decode_answer
from carriers.errors import CarrierResponseInvalid
from carriers.numbers import normalize_tracking_number
from carriers.types import TrackingSnapshot
from carriers.usps.parse import CARRIER, _Details, _Model, parse_tracking

SIGNATURE_HEADER = "X-HMAC"
# The spelling USPS is said to have used before X-HMAC; read when X-HMAC is absent.
OLD_SIGNATURE_HEADER = "hmac-header"


class _Envelope(_Model):
    subscription_id: str | None = Field(None, alias="subscriptionId")
    subscription_type: str | None = Field(None, alias="subscriptionType")
    timestamp: str = Field(min_length=1)
    payload: str = Field(min_length=1)


def sign_notification(secret: str, *, timestamp: str, payload: str) -> str:
    """The X-HMAC value USPS sends for this notification."""
    digest = hmac.new(secret.encode(), (timestamp + payload).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_matches(secret: str, body: str | bytes, given: str | None) -> bool:
    """True only when `given` is the X-HMAC of this notification under `secret`; a body that is
    not an envelope never matches. Constant time."""
    if not given:
        return False
    try:
        envelope = decode_answer(_Envelope, body, carrier=CARRIER, what="notification")
    except CarrierResponseInvalid:
        return False
    expected = sign_notification(secret, timestamp=envelope.timestamp, payload=envelope.payload)
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def parse_notification(body: str | bytes) -> TrackingSnapshot:
    """Returns what the notification says about its one tracking number, events oldest first.

    Raises CarrierResponseInvalid for a body that is not a notification envelope or whose
    payload is not a Tracking API answer.
    """
    envelope = decode_answer(_Envelope, body, carrier=CARRIER, what="notification")
    return _payload_snapshot(envelope.payload)


def _payload_snapshot(payload: str) -> TrackingSnapshot:
    # ASSUMPTION (the one place): the payload of a "TRACKING" notification is a Tracking API v3
    # answer for one number (trackingNumber, trackingEvents[]...), so the polled parser reads
    # it. USPS says notifications "follow the modernized Tracking API response"; the public
    # material shows no full example. A payload in another shape fails here, visibly.
    details = decode_answer(_Details, payload, carrier=CARRIER, what="notification payload")
    number = normalize_tracking_number(details.tracking_number)
    return parse_tracking(payload, tracking_number=number)
