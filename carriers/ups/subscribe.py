"""UPS Track Alert subscriptions by tracking number (UPSTrackAlert.yaml, v1 `POST
/api/track/v1/subscription/standard/package`): the request and the answer. Pure.

At most 100 numbers a request (VSS220 rejects the whole request beyond that); a subscription
lasts 14 days; the answer splits the numbers into `validTrackingNumbers` (subscribed) and
`invalidTrackingNumbers` (not). v1 names the push destination in the request: the listener URL
and the opaque `credential` UPS sends back in a header with every event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import Field

from carriers.answers import decode_answer
from carriers.numbers import normalize_tracking_number
from carriers.types import SubscriptionAnswer
from carriers.ups.parse import CARRIER, _Model

MAX_NUMBERS = 100
LIFETIME = timedelta(days=14)
PATH = "/api/track/v1/subscription/standard/package"
# Codes the spec marks Transient: asking again later can help. Every other VSS code is Hard.
TRANSIENT_CODES = frozenset({"VSS100", "10004"})


class _Answer(_Model):
    valid: list[str] | None = Field(None, alias="validTrackingNumbers")
    invalid: list[str] | None = Field(None, alias="invalidTrackingNumbers")


def build_subscription_request(
    numbers: Sequence[str], *, listener_url: str, credential: str
) -> dict[str, object]:
    """The request body for up to MAX_NUMBERS numbers; raises ValueError for more (or none)."""
    if not 1 <= len(numbers) <= MAX_NUMBERS:
        raise ValueError(f"a Track Alert request takes 1 to {MAX_NUMBERS} numbers")
    return {
        "locale": "en_US",
        "countryCode": "US",
        "trackingNumberList": list(numbers),
        "destination": {"url": listener_url, "credentialType": "Bearer", "credential": credential},
    }


def parse_subscription_answer(body: bytes | str) -> SubscriptionAnswer:
    """The numbers UPS subscribed and refused; raises CarrierResponseInvalid for another body."""
    answer = decode_answer(_Answer, body, carrier=CARRIER, what="Track Alert answer")
    return SubscriptionAnswer(
        subscribed=tuple(normalize_tracking_number(n) for n in answer.valid or ()),
        refused=tuple(normalize_tracking_number(n) for n in answer.invalid or ()),
    )
