from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
)
from carriers.fedex import parse
from carriers.oauth import AccessToken, TokenCache
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.retry_after import parse_retry_after
from carriers.types import RateLimit, TrackingQuery

logger = logging.getLogger("carriers.fedex")

DEFAULT_BASE_URL = "https://apis.fedex.com"
TOKEN_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"


class FedexClient:
    """FedEx Track API (track/v1). Never raises: every number gets a snapshot or a failure."""

    code = "fedex"
    name = "FedEx"
    # The Track API takes at most 30 tracking numbers per request.
    batch_size = 30
    # FedEx "Quotas & rate limits guide" (developer.fedex.com/api/en-us/guides/ratelimits.html):
    # 1,400 transactions per 10 s per project, and a default daily quota of 100,000 per project
    # and capability. Bursting is held to one second's share so a full window never trips.
    default_rate_limit = RateLimit(requests_per_second=140.0, requests_per_day=100_000, burst=140)

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
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
        results: list[TrackingResult] = []
        for start in range(0, len(queries), self.batch_size):
            batch = [query.tracking_number for query in queries[start : start + self.batch_size]]
            results.extend(await self._fetch_batch(batch))
        return results

    async def _fetch_batch(self, numbers: list[str]) -> list[TrackingResult]:
        try:
            return await self._track(numbers)
        except CarrierError as error:
            return [TrackingFailure(number, error) for number in numbers]
        except Exception as exc:  # a bug of ours must not take the whole poll down
            logger.exception("FedEx adapter failed unexpectedly")
            failure = CarrierResponseInvalid(
                f"unexpected adapter error: {exc!r}", carrier=self.code
            )
            return [TrackingFailure(number, failure) for number in numbers]

    async def _track(self, numbers: list[str]) -> list[TrackingResult]:
        body = {
            "includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
        }
        token = await self._tokens.get()
        response = await self._post_track(token, body)
        if response.status_code == 401:
            # Tokens can be revoked before they expire: refresh once, then give up.
            self._tokens.invalidate(token)
            response = await self._post_track(await self._tokens.get(), body)
            if response.status_code == 401:
                raise CarrierAuthError("FedEx rejected a freshly issued token", carrier=self.code)
        if response.status_code == 200:
            return parse.parse_track_response(response.text, numbers)
        if response.status_code in (400, 404) and len(numbers) == 1:
            # A one-number request rejected for the number is an answer about that number.
            number_error = parse.parse_error_body(response.text)
            if number_error is not None:
                return [TrackingFailure(numbers[0], number_error)]
        raise _status_error(response, "track")

    async def _post_track(self, token: str, body: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "X-locale": "en_US"}
        return await self._send("POST", TRACK_PATH, headers=headers, json=body)

    async def _fetch_token(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        response = await self._send("POST", TOKEN_PATH, data=form)
        if response.status_code in (400, 401, 403):
            raise CarrierAuthError(
                f"FedEx refused the client credentials (HTTP {response.status_code})",
                carrier=self.code,
            )
        if response.status_code != 200:
            raise _status_error(response, "oauth")
        return parse.parse_token(response.text)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: object = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, self._base_url + path, headers=headers, json=json, data=data
            )
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"FedEx timed out: {exc!r}", carrier=self.code) from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"FedEx unreachable: {exc!r}", carrier=self.code) from exc


def _status_error(response: httpx.Response, what: str) -> CarrierError:
    status = response.status_code
    if status == 429:
        return CarrierRateLimited(
            f"FedEx {what}: too many requests",
            carrier="fedex",
            retry_after=parse_retry_after(
                response.headers.get("Retry-After"), now=datetime.now(UTC)
            ),
        )
    if status == 403:
        return CarrierAuthError(f"FedEx {what}: forbidden for these credentials", carrier="fedex")
    if status >= 500:
        return CarrierUnavailable(
            f"FedEx {what}: HTTP {status}", carrier="fedex", status_code=status
        )
    return CarrierResponseInvalid(
        f"FedEx {what}: unexpected HTTP {status}", carrier="fedex", body=response.text
    )
