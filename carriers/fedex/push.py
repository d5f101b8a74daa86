"""FedEx Advanced Integrated Visibility (AIV) webhook pushes turned into tracking results. Pure.

FedEx documents the security, not the body: every push carries `fdx-signature`, the Base64
HMAC-SHA256 of the payload keyed with the security token set on the webhook project
(developer.fedex.com, shipment-visibility-webhook, "Advanced Integrated Visibility Validation
Process"). The payload's own schema is not public; see `_ASSUMED_SHAPE`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from carriers.answers import decode_answer
from carriers.fedex import payloads
from carriers.fedex.parse import CARRIER, parse_track_response
from carriers.protocol import TrackingResult

SIGNATURE_HEADER = "fdx-signature"
# ASSUMPTION (the one place): an AIV push is a Track API answer (output.completeTrackResults),
# the shape FedEx's AIV overview calls "the same tracking event data" as the Track API; so the
# polled parser reads it, number by number. A push in another shape fails here, visibly.
_ASSUMED_SHAPE = payloads.TrackResponse


def sign_push(security_token: str, body: bytes) -> str:
    """The fdx-signature value FedEx sends for this body."""
    digest = hmac.new(security_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_matches(security_token: str, body: bytes, given: str | None) -> bool:
    """True only when `given` is the fdx-signature of exactly these bytes; constant time."""
    if not given:
        return False
    expected = sign_push(security_token, body)
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def parse_push(body: str | bytes) -> list[TrackingResult]:
    """Returns one result per tracking number the push names, in its order.

    Raises CarrierResponseInvalid for a body that is not in the assumed shape.
    """
    text = body.decode() if isinstance(body, bytes) else body
    answer = decode_answer(_ASSUMED_SHAPE, text, carrier=CARRIER, what="AIV push")
    numbers = list(dict.fromkeys(r.tracking_number for r in answer.output.complete_track_results))
    return parse_track_response(text, numbers)
