"""The carriers' token and tracking endpoints: checks first, then faults, then the answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from pydantic import ValidationError

from carriers.mock_server.asgi import JSONValue, Request, Response, json_response
from carriers.mock_server.control import FedexTrackRequest
from carriers.mock_server.faults import Fault, FaultPlan, Malformation, malform
from carriers.mock_server.payloads import dhl, fedex, ups, usps
from carriers.mock_server.payloads.errors import error_body, token_failure
from carriers.mock_server.tokens import (
    ClientCredentials,
    TokenIssuer,
    grant_type,
    presented_credentials,
    token_document,
)
from carriers.sandbox.timeline import Timeline


class TrackingEndpoints:
    def __init__(
        self,
        *,
        credentials: Mapping[str, ClientCredentials],
        dhl_api_key: str,
        tokens: TokenIssuer,
        faults: Callable[[], FaultPlan],
        timeline: Callable[[str, str], Timeline],
        clock: Callable[[], datetime],
    ) -> None:
        self._credentials = credentials
        self._dhl_api_key = dhl_api_key
        self._tokens = tokens
        self._faults = faults
        self._timeline = timeline
        self._clock = clock

    def token(self, carrier: str, request: Request) -> Response:
        """Answers an OAuth 2 client-credentials request; 401 unless the credentials match."""
        if grant_type(carrier, request) != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        if presented_credentials(carrier, request) != self._credentials.get(carrier):
            return json_response(401, token_failure(carrier))
        token, lifetime = self._tokens.issue(carrier)
        client_id = self._credentials[carrier].client_id
        document = token_document(
            carrier, token=token, lifetime=lifetime, client_id=client_id, issued_at=self._clock()
        )
        return json_response(200, document)

    def track(self, carrier: str, request: Request, number: str) -> Response:
        """Answers a tracking request: auth, then faults, then the carrier-shaped timeline."""
        if not self._authorized(carrier, request):
            return json_response(401, error_body(carrier, 401))
        plan = self._faults()
        fault = plan.fault_for(carrier)
        if fault is Fault.THROTTLED:
            retry_after = str(plan.config.retry_after_seconds)
            return json_response(429, error_body(carrier, 429), {"Retry-After": retry_after})
        if fault is Fault.SERVER_ERROR:
            return json_response(500, error_body(carrier, 500))
        status, document = self._answer(carrier, request, number)
        response = json_response(status, document)
        if status != 200:
            return response
        how = plan.malformation_for(carrier)
        if how is Malformation.NONE:
            return response
        body, content_type = malform(response.body, how)
        return Response(200, body, content_type)

    def _authorized(self, carrier: str, request: Request) -> bool:
        if carrier == "dhl":
            return request.headers.get("dhl-api-key") == self._dhl_api_key
        return self._tokens.accepts(carrier, request.headers.get("authorization"))

    def _answer(self, carrier: str, request: Request, number: str) -> tuple[int, JSONValue]:
        now = self._clock()
        if carrier == "usps":
            return usps.tracking_answer(self._timeline("usps", number), now)
        if carrier == "ups":
            # UPS requires both headers on every Track API call (Tracking.yaml parameters).
            if not request.headers.get("transid") or not request.headers.get("transactionsrc"):
                return 400, error_body("ups", 400)
            return ups.tracking_answer(self._timeline("ups", number), now)
        if carrier == "fedex":
            return self._fedex_answer(request, now)
        tracking_number = request.query.get("trackingNumber", "").strip()
        if not tracking_number:
            return 400, error_body("dhl", 400)
        return dhl.tracking_answer(self._timeline("dhl", tracking_number), now)

    def _fedex_answer(self, request: Request, now: datetime) -> tuple[int, JSONValue]:
        try:
            asked = FedexTrackRequest.model_validate_json(request.body or b"{}")
        except (ValidationError, json.JSONDecodeError):
            message = "Invalid field value in the input"
            return 400, error_body("fedex", 400, message, code="INVALID.INPUT.EXCEPTION")
        numbers = [info.number_info.tracking_number for info in asked.tracking_info]
        if not numbers:
            return 400, error_body("fedex", 400)
        if len(numbers) > fedex.MAX_NUMBERS_PER_REQUEST:
            # FedEx refuses the whole request past 30 numbers rather than answering some.
            message = (
                f"Please limit your tracking request to {fedex.MAX_NUMBERS_PER_REQUEST} numbers."
            )
            return 400, error_body(
                "fedex", 400, message, code="TRACKING.TRACKINGNUMBER.LIMITEXCEEDED"
            )
        return 200, fedex.tracking_answer([self._timeline("fedex", n) for n in numbers], now)
