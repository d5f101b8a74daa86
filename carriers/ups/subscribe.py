"""UPS Track Alert subscriptions by tracking number (UPSTrackAlert.yaml, `POST
/api/track/{version}/subscription/standard/package`): the request and the answer. Pure.

At most 100 numbers a request (VSS220 rejects the whole request beyond that); a subscription
lasts 14 days; the answer splits the numbers into `validTrackingNumbers` (subscribed) and
`invalidTrackingNumbers` (not). v1 names the push destination in the request: the listener URL
and the opaque `credential` UPS sends back in a header with every event. v2 has no
`destination`: the webhook URL and its OAuth client credentials are set in UPS's developer
portal ("Manage Webhook Credentials"), and the body is the numbers, locale and country only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field

from carriers.answers import decode_answer
from carriers.numbers import normalize_tracking_number
from carriers.types import SubscriptionAnswer
from carriers.ups.parse import CARRIER, _Model

MAX_NUMBERS = 100
LIFETIME = timedelta(days=14)
PATH = "/api/track/v1/subscription/standard/package"
PATH_V2 = "/api/track/v2/subscription/standard/package"
# Codes the spec marks Transient: asking again later can help. Every other VSS code is Hard.
TRANSIENT_CODES = frozenset({"VSS100", "10004"})


class _Answer(_Model):
    valid: list[str] | None = Field(None, alias="validTrackingNumbers")
    invalid: list[str] | None = Field(None, alias="invalidTrackingNumbers")


@dataclass(frozen=True, slots=True)
class Destination:
    """v1's push destination: where UPS posts, and the credential it sends with each event."""

    url: str
    credential: str

    def __repr__(self) -> str:  # the credential never reaches a log through a repr
        return f"Destination(url={self.url!r})"


def subscription_path(destination: Destination | None) -> str:
    """v1's path when a destination is named, v2's (the current version) otherwise."""
    return PATH if destination is not None else PATH_V2


def build_subscription_request(
    numbers: Sequence[str], *, destination: Destination | None
) -> dict[str, object]:
    """The request body for up to MAX_NUMBERS numbers, v1 with a destination, v2 without; raises
    ValueError for more numbers (or none)."""
    if not 1 <= len(numbers) <= MAX_NUMBERS:
        raise ValueError(f"a Track Alert request takes 1 to {MAX_NUMBERS} numbers")
    body: dict[str, object] = {
        "locale": "en_US",
        "countryCode": "US",
        "trackingNumberList": list(numbers),
    }
    if destination is not None:
        body["destination"] = {
            "url": destination.url,
            "credentialType": "Bearer",
            "credential": destination.credential,
        }
    return body


def parse_subscription_answer(body: bytes | str) -> SubscriptionAnswer:
    """The numbers UPS subscribed and refused; raises CarrierResponseInvalid for another body."""
    answer = decode_answer(_Answer, body, carrier=CARRIER, what="Track Alert answer")
    return SubscriptionAnswer(
        subscribed=tuple(normalize_tracking_number(n) for n in answer.valid or ()),
        refused=tuple(normalize_tracking_number(n) for n in answer.invalid or ()),
    )
