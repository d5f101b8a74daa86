"""UPS Track Alert's subscription endpoint (UPSTrackAlert.yaml v1, `POST
/api/track/v1/subscription/standard/package`): checks first, as the spec lists its VSS errors,
then the numbers split into valid (subscribed for 14 days) and invalid."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from mock_carriers.payloads.errors import error_body
from mock_carriers.responses import json_response
from mock_carriers.tokens import TokenIssuer

MAX_NUMBERS = 100
LIFETIME = timedelta(days=14)
# TrackingNumber in the spec: 1Z and 16 characters, or 1R and 14 or 26.
VALID = re.compile(r"^(1Z[0-9A-Z]{16}|1R[0-9A-Z]{14}|1R[0-9A-Z]{26})$")


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    credential: str
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

    async def subscribe(self, request: Request) -> Response:
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
        refusal = _refusal(body if isinstance(body, dict) else {})
        if refusal is not None:
            return refusal
        numbers = [str(n) for n in body["trackingNumberList"]]
        valid = [n for n in numbers if VALID.match(n)]
        invalid = [n for n in numbers if not VALID.match(n)]
        if not valid:
            return _vss("VSS210", "No valid tracking number.", invalidTrackingNumbers=invalid)
        destination = body["destination"]
        expires_at = self._clock() + LIFETIME
        for number in valid:
            self.subscribed[number] = Subscription(
                destination["url"], destination["credential"], expires_at
            )
        answer: dict[str, object] = {"validTrackingNumbers": valid}
        if invalid:
            answer["invalidTrackingNumbers"] = invalid
        return json_response(200, answer)


def _refusal(body: dict[str, object]) -> Response | None:
    numbers = body.get("trackingNumberList")
    if not isinstance(numbers, list) or not numbers:
        return _vss("VSS200", "Tracking Number List is required.")
    if len(numbers) > MAX_NUMBERS:
        return _vss("VSS220", "You have submitted over 100 tracking numbers.")
    if body.get("locale") != "en_US":
        return _vss("VSS310", "Please enter a valid locale.")
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
