"""FedEx AIV pushes: the fdx-signature check, and the body read as a Track API answer."""

import base64
import hashlib
import hmac

import pytest

from carriers.errors import CarrierResponseInvalid
from carriers.fedex.push import parse_push, sign_push, signature_matches
from carriers.protocol import TrackingFailure
from carriers.types import TrackingSnapshot
from tests.unit.carriers.payloads import payload_bytes

TOKEN = "security-token-from-the-webhook-project"


def test_the_signature_is_base64_hmac_sha256_of_the_body():
    body = payload_bytes("fedex", "track_in_transit.json")
    by_hand = base64.b64encode(hmac.new(TOKEN.encode(), body, hashlib.sha256).digest()).decode()

    assert sign_push(TOKEN, body) == by_hand
    assert signature_matches(TOKEN, body, by_hand)


@pytest.mark.parametrize("tamper", ["body", "token", "missing", "hex"])
def test_a_changed_missing_or_hex_signature_does_not_match(tamper):
    body = payload_bytes("fedex", "track_in_transit.json")
    signed = sign_push(TOKEN, body)
    if tamper == "hex":
        signed = hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    sent = body + b" " if tamper == "body" else body
    token = "other" if tamper == "token" else TOKEN

    assert not signature_matches(token, sent, None if tamper == "missing" else signed)


def test_a_push_naming_several_numbers_gives_one_result_each_in_its_order():
    results = parse_push(payload_bytes("fedex", "track_multiple_numbers.json"))

    assert [r.tracking_number for r in results] == ["111111111111", "222222222222", "333333333333"]
    assert [isinstance(r, TrackingSnapshot) for r in results] == [True, False, True]
    assert isinstance(results[1], TrackingFailure)  # its own error, the others unharmed


def test_a_push_in_another_shape_is_invalid():
    with pytest.raises(CarrierResponseInvalid):
        parse_push(b'{"trackingNumber": "277053421731"}')
