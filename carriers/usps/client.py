from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    InvalidTrackingNumber,
    TrackingNotFound,
)
from carriers.oauth import AccessToken, TokenCache
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.retry_after import parse_retry_after
from carriers.types import RateLimit, TrackingQuery
from carriers.usps import parse

logger = logging.getLogger("carriers.usps")

CARRIER = "usps"


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str
    expires_in: float  # USPS sends it as a string ("28799") or a number; both validate


class UspsClient:
    """USPS Tracking API v3 (https://developers.usps.com/trackingv3r2); one number per request."""

    code = CARRIER
    name = "USPS"
    batch_size = 1
    # USPS grants new apps 60 requests per hour across all v3 APIs, token requests included
    # (developer portal FAQ, "429 exceeded quota limit"; USPS/api-examples issue 107).
    default_rate_limit = RateLimit(requests_per_second=60 / 3600, requests_per_hour=60)

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = "https://apis.usps.com",
        client_id: str,
        client_secret: str,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._tokens = TokenCache(self._fetch_token)

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked; never raises."""
        return [await self._track(query) for query in queries]

    async def _track(self, query: TrackingQuery) -> TrackingResult:
        try:
            body = await self._fetch_details(query.tracking_number)
            return parse.parse_tracking(body, tracking_number=query.tracking_number)
        except CarrierError as error:
            return TrackingFailure(query.tracking_number, error)
        except Exception as error:  # a bug here must not sink the other numbers in the batch
            logger.exception("usps: unexpected error tracking %s", query.tracking_number)
            failure = CarrierResponseInvalid(f"unexpected error: {error!r}", carrier=CARRIER)
            return TrackingFailure(query.tracking_number, failure)

    async def _fetch_details(self, number: str) -> bytes:
        url = f"{self._base_url}/tracking/v3/tracking/{quote(number, safe='')}"
        token = await self._tokens.get()
        response = await self._get(url, token)
        if response.status_code == 401:
            # One refresh: the token may have been revoked or expired early on USPS's side.
            self._tokens.invalidate(token)
            response = await self._get(url, await self._tokens.get())
            if response.status_code == 401:
                raise CarrierAuthError(
                    _describe(response, "rejected a fresh token"), carrier=CARRIER
                )
        return _successful_body(response)

    async def _get(self, url: str, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        request = self._http.build_request("GET", url, headers=headers, params={"expand": "DETAIL"})
        return await self._send(request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"USPS timed out: {exc!r}", carrier=CARRIER) from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"USPS unreachable: {exc!r}", carrier=CARRIER) from exc

    async def _fetch_token(self) -> AccessToken:
        # OAuth 2 client credentials (USPS/api-examples README, "OAuth Token"): a JSON body.
        payload = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "scope": "tracking",
        }
        url = f"{self._base_url}/oauth2/v3/token"
        response = await self._send(self._http.build_request("POST", url, json=payload))
        if response.status_code in (400, 401, 403):
            raise CarrierAuthError(_describe(response, "refused the credentials"), carrier=CARRIER)
        body = _successful_body(response)
        try:
            answer = _TokenAnswer.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid("USPS token answer does not parse", body) from exc
        return AccessToken(answer.access_token, answer.expires_in)


def _invalid(message: str, body: bytes) -> CarrierResponseInvalid:
    return CarrierResponseInvalid(message, carrier=CARRIER, body=body.decode("utf-8", "replace"))


def _describe(response: httpx.Response, what: str) -> str:
    detail = parse.parse_error_message(response.content)
    return f"USPS {what} (HTTP {response.status_code})" + (f": {detail}" if detail else "")


def _successful_body(response: httpx.Response) -> bytes:
    """Returns the body of a 2xx answer; raises the CarrierError that the status means."""
    status = response.status_code
    if 200 <= status < 300:
        return response.content
    if status == 400:
        # The number is the only variable part of the request, so USPS's 400 (e.g. error
        # 150001, invalid tracking number) is an answer about the number.
        detail = parse.parse_error_message(response.content)
        if detail is None:
            raise _invalid(
                "USPS answered 400 with a body that is not a USPS error", response.content
            )
        raise InvalidTrackingNumber(f"USPS rejects the number: {detail}", carrier=CARRIER)
    if status == 404:
        raise TrackingNotFound(_describe(response, "does not know the number"), carrier=CARRIER)
    if status in (401, 403):
        raise CarrierAuthError(_describe(response, "refused access"), carrier=CARRIER)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
        raise CarrierRateLimited(
            _describe(response, "rate-limited us"), carrier=CARRIER, retry_after=retry_after
        )
    if status >= 500:
        raise CarrierUnavailable(_describe(response, "failed"), carrier=CARRIER, status_code=status)
    raise _invalid(f"USPS answered an unexpected HTTP {status}", response.content)
