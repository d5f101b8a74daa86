"""The carriers' per-number push subscription endpoints.

UPS Track Alert (UPSTrackAlert.yaml, `POST /api/track/{v1,v2}/subscription/standard/package`):
checks first, as the spec lists its VSS errors, then the numbers split into valid (subscribed
for 14 days) and invalid. v1 names the destination (URL and credential) in the request; v2
names none: its pushes go to the webhook registered through `POST /_mock/ups/webhook`, the
mock's "Manage Webhook Credentials" page (URL, token URL, client id and secret), and a v2
request while none is registered is refused (VSS000; UPS does not document this case).

USPS Subscriptions - Tracking (`POST /subscriptions`, as docs/carrier-push.md describes it):
one listener URL, one tracking number and a secret a request; 201 with the `subscriptionId`;
an invalid number is a 400 whose error names the trackingNumber parameter; no expiry."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from mock_carriers.payloads.errors import error_body
from mock_carriers.responses import json_response
from mock_carriers.tokens import TokenIssuer

MAX_NUMBERS = 100
LIFETIME = timedelta(days=14)
# TrackingNumber in the spec: 1Z and 16 characters, or 1R and 14 or 26.
VALID = re.compile(r"^(1Z[0-9A-Z]{16}|1R[0-9A-Z]{14}|1R[0-9A-Z]{26})$")


class UpsWebhook(BaseModel):
    """A v2 webhook as registered in UPS's portal: where events go, and the client credentials
    UPS presents at the customer's token URL for the bearer token it pushes with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1)
    token_url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, repr=False)


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str | None  # None: v2, pushed to the registered webhook
    credential: str | None
    expires_at: datetime


def _vss(code: str, message: str, **extra: object) -> Response:
    return json_response(
        400, {**extra, "response": {"errors": [{"code": code, "message": message}]}}
    )


class TrackAlertSubscriptions:
    def __init__(self, *, tokens: TokenIssuer, clock: Callable[[], datetime]) -> None:
        self._tokens = tokens
        self._clock = clock
        self.subscribed: dict[str, Subscription] = {}
        self.webhook: UpsWebhook | None = None

    async def subscribe(self, request: Request, *, version: str = "v1") -> Response:
        if not self._tokens.accepts("ups", request.headers.get("authorization")):
            return json_response(401, error_body("ups", 401, code="250002"))
        if not request.headers.get("transid"):
            return _vss("VSS002", "Missing transId")
        if not request.headers.get("transactionsrc"):
            return _vss("VSS004", "Missing transactionSrc")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _vss("VSS110", "Subscription request is empty or not present.")
        refusal = _refusal(body if isinstance(body, dict) else {}, version=version)
        if refusal is None and version == "v2" and self.webhook is None:
            refusal = _vss("VSS000", "Invalid request: no webhook credentials registered.")
        if refusal is not None:
            return refusal
        numbers = [str(n) for n in body["trackingNumberList"]]
        valid = [n for n in numbers if VALID.match(n)]
        invalid = [n for n in numbers if not VALID.match(n)]
        if not valid:
            return _vss("VSS210", "No valid tracking number.", invalidTrackingNumbers=invalid)
        destination = body.get("destination") if version == "v1" else None
        url = destination["url"] if destination else None
        credential = destination["credential"] if destination else None
        expires_at = self._clock() + LIFETIME
        for number in valid:
            self.subscribed[number] = Subscription(url, credential, expires_at)
        answer: dict[str, object] = {"validTrackingNumbers": valid}
        if invalid:
            answer["invalidTrackingNumbers"] = invalid
        return json_response(200, answer)


def _refusal(body: dict[str, object], *, version: str) -> Response | None:
    numbers = body.get("trackingNumberList")
    if not isinstance(numbers, list) or not numbers:
        return _vss("VSS200", "Tracking Number List is required.")
    if len(numbers) > MAX_NUMBERS:
        return _vss("VSS220", "You have submitted over 100 tracking numbers.")
    if body.get("locale") != "en_US":
        return _vss("VSS310", "Please enter a valid locale.")
    if version == "v2":
        return None  # v2 has no destination: the webhook is registered in the portal
    destination = body.get("destination")
    if not isinstance(destination, dict):
        return _vss("VSS500", "Destination is required.")
    if not destination.get("url"):
        return _vss("VSS600", "URL is empty or not present.")
    if not destination.get("credential"):
        return _vss("VSS700", "Credential is empty or not present.")
    if not destination.get("credentialType"):
        return _vss("VSS800", "CredentialType is empty or not present.")
    return None


# USPS numbers: IMpb (20 to 34 digits) or a 13-character international number (S10).
USPS_VALID = re.compile(r"^(\d{20,34}|[A-Z]{2}\d{9}[A-Z]{2})$")


@dataclass(frozen=True, slots=True)
class UspsSubscription:
    subscription_id: str
    url: str
    secret: str


def _usps_error(status: int, message: str, **detail: object) -> Response:
    error = {"code": str(status), "message": message, "errors": [{"status": str(status), **detail}]}
    return json_response(status, {"apiVersion": "/subscriptions-tracking/v3", "error": error})


class UspsTrackingSubscriptions:
    def __init__(self, *, tokens: TokenIssuer) -> None:
        self._tokens = tokens
        self.subscribed: dict[str, UspsSubscription] = {}

    async def subscribe(self, request: Request) -> Response:
        if not self._tokens.accepts("usps", request.headers.get("authorization")):
            return json_response(401, error_body("usps", 401))
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _usps_error(400, "Invalid request body.", title="Malformed JSON")
        body = body if isinstance(body, dict) else {}
        url, secret = body.get("listenerURL"), body.get("secret")
        filters = body.get("filterProperties")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _usps_error(400, "Invalid listener URL.", source={"parameter": "listenerURL"})
        if not isinstance(filters, dict) or not isinstance(filters.get("trackingNumber"), str):
            return _usps_error(
                400, "A tracking number or MID is required.",
                source={"parameter": "filterProperties"},
            )  # fmt: skip
        number = filters["trackingNumber"]
        if not USPS_VALID.match(number):
            return _usps_error(
                400, "Invalid tracking number.", code="150001",
                title="Invalid Tracking Number",
                detail=f"The tracking number {number} is not a valid USPS tracking number.",
                source={"parameter": "filterProperties.trackingNumber"},
            )  # fmt: skip
        subscription_id = f"mock-usps-{len(self.subscribed) + 1:08d}"
        self.subscribed[number] = UspsSubscription(subscription_id, url, str(secret or ""))
        answer = {
            "subscriptionId": subscription_id,
            "subscriptionType": "TRACKING",
            "listenerURL": url,
            "filterProperties": filters,
            "status": "ACTIVE",
        }
        return json_response(201, answer)
