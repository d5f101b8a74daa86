"""USPS Subscriptions - Tracking (API v3) by tracking number: the request and the answer. Pure.

USPS shows the reference only after sign-in (docs/carrier-push.md, "USPS Subscriptions -
Tracking"). What follows is from a third-party description of the 3.2 API and is assumed here,
in this one module: `POST /subscriptions` (OAuth client credentials) with a `listenerURL`,
`filterProperties` naming one tracking number and the events wanted (`ALL_UPDATES`), and the
`secret` USPS signs every notification's X-HMAC with; the answer carries the `subscriptionId`
that each notification's envelope repeats. One number a request, so one call a number against
the app's shared USPS quota. No lifetime is published: a subscription lasts until deleted, and
USPS deletes one that has had no activity for 30 days.
"""

from __future__ import annotations

from pydantic import Field, ValidationError

from carriers.answers import decode_answer
from carriers.numbers import normalize_tracking_number
from carriers.types import SubscriptionAnswer
from carriers.usps.parse import CARRIER, _Model

# ASSUMED: the API's base path, on the pattern of the Tracking API's /tracking/v3.
PATH = "/subscriptions-tracking/v3/subscriptions"
# ASSUMED: the OAuth scope that grants the Subscriptions API (the Tracking API's is "tracking").
SCOPE = "subscriptions"
ALL_UPDATES = "ALL_UPDATES"


class _Answer(_Model):
    subscription_id: str = Field(alias="subscriptionId", min_length=1)


class _Source(_Model):
    parameter: str | None = None


class _ErrorDetail(_Model):
    code: str | None = None
    detail: str | None = None
    title: str | None = None
    source: _Source | None = None


class _Error(_Model):
    errors: list[_ErrorDetail] = Field(default_factory=list)


class _ErrorMessage(_Model):
    error: _Error


def build_subscription_request(number: str, *, listener_url: str, secret: str) -> dict[str, object]:
    """The request body subscribing one number to every update; raises ValueError for a blank
    number, listener URL or secret (USPS would refuse the request, not the number)."""
    if not number.strip() or not listener_url.strip() or not secret:
        raise ValueError("a USPS subscription needs a number, a listener URL and a secret")
    return {
        "listenerURL": listener_url,
        "secret": secret,
        # ASSUMED field name for the event filter (a third-party client's `trackingEventTypes`).
        "filterProperties": {"trackingNumber": number, "trackingEventTypes": [ALL_UPDATES]},
    }


def parse_subscription_answer(body: bytes | str, *, number: str) -> SubscriptionAnswer:
    """The number subscribed, with USPS's subscriptionId as the reference; raises
    CarrierResponseInvalid for a body without one."""
    answer = decode_answer(_Answer, body, carrier=CARRIER, what="subscription answer")
    return SubscriptionAnswer(
        subscribed=(normalize_tracking_number(number),),
        refused=(),
        reference=answer.subscription_id.strip(),
    )


def refused_number_reason(body: bytes | str) -> str | None:
    """USPS's reason when an error answer is about the tracking number (an error whose `source`
    names the trackingNumber parameter, as the Tracking API's error 150001 does); None when the
    body is not a USPS error or blames something else (the listener URL, the secret)."""
    try:
        errors = _ErrorMessage.model_validate_json(body).error.errors
    except ValidationError:
        return None
    for error in errors:
        parameter = (error.source.parameter if error.source else None) or ""
        if "trackingnumber" in parameter.replace("_", "").lower():
            return " ".join(p for p in (error.code, error.detail or error.title) if p) or parameter
    return None
