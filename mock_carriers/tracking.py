"""The carriers' token and tracking endpoints: checks first, then faults, then the answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from carriers.sandbox.timeline import Timeline
from mock_carriers.control import FedexTrackRequest
from mock_carriers.faults import Fault, FaultPlan, Malformation, malform
from mock_carriers.payloads import dhl, fedex, ups, usps
from mock_carriers.payloads.errors import error_body, token_failure
from mock_carriers.responses import JSONValue, json_response
from mock_carriers.tokens import (
    ClientCredentials,
    TokenIssuer,
    body_fields,
    presented_credentials,
    token_document,
)


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

    async def token(self, carrier: str, request: Request) -> Response:
        """Answers an OAuth 2 client-credentials request; 401 unless the credentials match."""
        fields = await body_fields(request)
        if fields.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        presented = presented_credentials(carrier, request.headers, fields)
        if presented != self._credentials.get(carrier):
            return json_response(401, token_failure(carrier))
        token, lifetime = self._tokens.issue(carrier)
        client_id = self._credentials[carrier].client_id
        document = token_document(
            carrier, token=token, lifetime=lifetime, client_id=client_id, issued_at=self._clock()
        )
        return json_response(200, document)

    async def track(self, carrier: str, request: Request, number: str) -> Response:
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
        status, document = await self._answer(carrier, request, number)
        response = json_response(status, document)
        if status != 200:
            return response
        how = plan.malformation_for(carrier)
        if how is Malformation.NONE:
            return response
        body, content_type = malform(bytes(response.body), how)
        return Response(body, 200, media_type=content_type)

    def _authorized(self, carrier: str, request: Request) -> bool:
        if carrier == "dhl":
            return request.headers.get("dhl-api-key") == self._dhl_api_key
        return self._tokens.accepts(carrier, request.headers.get("authorization"))

    async def _answer(self, carrier: str, request: Request, number: str) -> tuple[int, JSONValue]:
        now = self._clock()
        if carrier == "usps":
            return usps.tracking_answer(self._timeline("usps", number), now)
        if carrier == "ups":
            # UPS requires both headers on every Track API call (Tracking.yaml parameters).
            if not request.headers.get("transid") or not request.headers.get("transactionsrc"):
                return 400, error_body("ups", 400)
            return ups.tracking_answer(self._timeline("ups", number), now)
        if carrier == "fedex":
            return self._fedex_answer(await request.body(), now)
        tracking_number = request.query_params.get("trackingNumber", "").strip()
        if not tracking_number:
            return 400, error_body("dhl", 400)
        return dhl.tracking_answer(self._timeline("dhl", tracking_number), now)

    def _fedex_answer(self, body: bytes, now: datetime) -> tuple[int, JSONValue]:
        try:
            asked = FedexTrackRequest.model_validate_json(body or b"{}")
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
