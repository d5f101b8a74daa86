from __future__ import annotations

import logging
import uuid
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
from carriers.ups import parse

logger = logging.getLogger("carriers.ups")

CARRIER = "ups"
TRANSACTION_SOURCE = "firstscan"


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str
    expires_in: float  # a string ("14399") in UPS's OpenAPI and in recorded answers


class UpsClient:
    """UPS Track API v1 (developer.ups.com/api/reference/tracking); one number per request."""

    code = CARRIER
    name = "UPS"
    batch_size = 1
    # UPS publishes no rate limit (UPS-API/api-documentation issue 8: ask UPS when a 429 comes);
    # 2 requests per second is a conservative pace that 429s, if any, will correct.
    default_rate_limit = RateLimit(requests_per_second=2.0, burst=2)

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = "https://onlinetools.ups.com",
        client_id: str,
        client_secret: str,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(client_id, client_secret)
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
            logger.exception("ups: unexpected error tracking %s", query.tracking_number)
            failure = CarrierResponseInvalid(f"unexpected error: {error!r}", carrier=CARRIER)
            return TrackingFailure(query.tracking_number, failure)

    async def _fetch_details(self, number: str) -> bytes:
        url = f"{self._base_url}/api/track/v1/details/{quote(number, safe='')}"
        token = await self._tokens.get()
        response = await self._get(url, token)
        if response.status_code == 401:
            # One refresh: the token may have been revoked or expired early on UPS's side.
            self._tokens.invalidate(token)
            response = await self._get(url, await self._tokens.get())
            if response.status_code == 401:
                raise CarrierAuthError(
                    _describe(response, "rejected a fresh token"), carrier=CARRIER
                )
        return _successful_body(response)

    async def _get(self, url: str, token: str) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "transId": uuid.uuid4().hex,  # unique per request, at most 32 characters
            "transactionSrc": TRANSACTION_SOURCE,
        }
        params = {"locale": "en_US", "returnSignature": "false"}
        return await self._send(
            self._http.build_request("GET", url, headers=headers, params=params)
        )

    async def _send(
        self, request: httpx.Request, *, auth: httpx.Auth | None = None
    ) -> httpx.Response:
        try:
            if auth is None:
                return await self._http.send(request)
            return await self._http.send(request, auth=auth)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"UPS timed out: {exc!r}", carrier=CARRIER) from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"UPS unreachable: {exc!r}", carrier=CARRIER) from exc

    async def _fetch_token(self) -> AccessToken:
        # OAuth 2 client credentials: HTTP Basic with the app's id and secret, form body
        # (UPS OAuthClientCredentials.yaml, POST /security/v1/oauth/token).
        url = f"{self._base_url}/security/v1/oauth/token"
        form = {"grant_type": "client_credentials"}
        request = self._http.build_request("POST", url, data=form)
        response = await self._send(request, auth=self._auth)
        if response.status_code in (400, 401, 403):
            raise CarrierAuthError(_describe(response, "refused the credentials"), carrier=CARRIER)
        body = _successful_body(response)
        try:
            answer = _TokenAnswer.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid("UPS token answer does not parse", body) from exc
        return AccessToken(answer.access_token, answer.expires_in)


def _invalid(message: str, body: bytes) -> CarrierResponseInvalid:
    return CarrierResponseInvalid(message, carrier=CARRIER, body=body.decode("utf-8", "replace"))


def _describe(response: httpx.Response, what: str) -> str:
    errors = parse.parse_errors(response.content)
    detail = "; ".join(f"{code} {message}".strip() for code, message in errors)
    return f"UPS {what} (HTTP {response.status_code})" + (f": {detail}" if detail else "")


def _successful_body(response: httpx.Response) -> bytes:
    """Returns the body of a 2xx answer; raises the CarrierError that the status means."""
    status = response.status_code
    if 200 <= status < 300:
        return response.content
    codes = {code for code, _ in parse.parse_errors(response.content)}
    if status == 400 and any(code.startswith("TV") for code in codes):
        # TV1002 "Invalid inquiry number" and its TV siblings judge the number itself.
        raise InvalidTrackingNumber(_describe(response, "rejects the number"), carrier=CARRIER)
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
    raise _invalid(f"UPS answered an unexpected HTTP {status}", response.content)
