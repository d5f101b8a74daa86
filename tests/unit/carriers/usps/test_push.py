"""USPS Subscriptions - Tracking notifications: the X-HMAC check and the payload."""

import base64
import hashlib
import hmac
import json

import pytest

from carriers.errors import CarrierResponseInvalid
from carriers.types import TrackingStatus
from carriers.usps.push import parse_notification, sign_notification, signature_matches
from tests.unit.carriers.payloads import payload_bytes

SECRET = "0123456789abcdef0123456789abcdef"  # 32 characters, as a subscription's secret
STAMP = "2026-12-04T14:32:00Z"


def envelope(payload: str, *, timestamp: str = STAMP) -> bytes:
    return json.dumps(
        {
            "subscriptionId": "a1b2c3d4",
            "subscriptionType": "TRACKING",
            "timestamp": timestamp,
            "payload": payload,
            "links": [{"rel": "self", "href": "https://apis.usps.com/"}],
        }
    ).encode()


def test_the_signature_is_base64_hmac_sha256_of_timestamp_then_payload():
    payload = '{"trackingNumber":"9400100000000000000013"}'
    by_hand = base64.b64encode(
        hmac.new(SECRET.encode(), (STAMP + payload).encode(), hashlib.sha256).digest()
    ).decode()

    assert sign_notification(SECRET, timestamp=STAMP, payload=payload) == by_hand
    assert signature_matches(SECRET, envelope(payload), by_hand)


@pytest.mark.parametrize("tamper", ["payload", "timestamp", "secret", "missing"])
def test_a_changed_or_missing_signature_does_not_match(tamper):
    payload = payload_bytes("usps", "accepted.json").decode()
    signed = sign_notification(SECRET, timestamp=STAMP, payload=payload)
    body = envelope(payload)
    if tamper == "payload":
        body = envelope(payload.replace("RICHMOND", "NORFOLK"))
    elif tamper == "timestamp":
        body = envelope(payload, timestamp="2026-12-04T14:33:00Z")
    secret = "another-secret" if tamper == "secret" else SECRET

    assert not signature_matches(secret, body, None if tamper == "missing" else signed)


def test_a_body_that_is_not_an_envelope_never_matches():
    assert not signature_matches(SECRET, b"[1, 2]", "anything")


def test_the_payload_is_read_by_the_polled_parser():
    snapshot = parse_notification(envelope(payload_bytes("usps", "accepted.json").decode()))

    assert snapshot.tracking_number == "9405500000000000000047"
    assert snapshot.status is TrackingStatus.ACCEPTED
    assert [e.carrier_code for e in snapshot.events][-1] == "03"


def test_a_payload_in_another_shape_is_invalid():
    with pytest.raises(CarrierResponseInvalid):
        parse_notification(envelope('{"status": "Delivered"}'))
