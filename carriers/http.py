"""What every carrier client does around HTTP, written once.

`CarrierHttp` sends a carrier's requests over the shared httpx.AsyncClient and says what a
status means: a timeout or connection failure is CarrierUnavailable, 401/403 CarrierAuthError,
429 CarrierRateLimited (with Retry-After), 5xx CarrierUnavailable, and any other status
CarrierResponseInvalid with an excerpt. Bearer tokens are refreshed once on a 401. Each
carrier's client.py adds its paths and headers and the statuses that answer about the number
(USPS 400, UPS TV1002, 404s), which come before these general meanings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import httpx

from carriers.answers import adapter_fault, invalid_answer
from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
)
from carriers.oauth import AccessToken, TokenCache, parse_access_token
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.retry_after import parse_retry_after
from carriers.types import TrackingQuery, carrier_name

ErrorReader = Callable[[bytes], str | None]


def _no_detail(body: bytes) -> str | None:
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CarrierHttp:
    """One carrier's use of the shared httpx client; `read_error` finds the carrier's own error
    text in an error body (None when the body is not one of the carrier's error shapes)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        carrier: str,
        read_error: ErrorReader = _no_detail,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.carrier = carrier
        self.name = carrier_name(carrier)
        self._http = http
        self._read_error = read_error
        self._clock = clock

    async def send(
        self, request: httpx.Request, *, auth: httpx.Auth | None = None
    ) -> httpx.Response:
        """Returns the carrier's response whatever its status; raises CarrierUnavailable when
        no response came (timeout, refused connection, broken transport)."""
        try:
            if auth is None:
                return await self._http.send(request)
            return await self._http.send(request, auth=auth)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(
                f"{self.name} timed out: {exc!r}", carrier=self.carrier
            ) from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(
                f"{self.name} unreachable: {exc!r}", carrier=self.carrier
            ) from exc

    async def send_with_token(
        self, tokens: TokenCache, build: Callable[[str], httpx.Request]
    ) -> httpx.Response:
        """Returns the response to `build(token)` sent with the cached bearer token.

        On a 401 the token is dropped and the request rebuilt and sent once with a fresh one
        (carriers revoke tokens before they expire); a second 401 raises CarrierAuthError.
        """
        token = await tokens.get()
        response = await self.send(build(token))
        if response.status_code != 401:
            return response
        tokens.invalidate(token)
        response = await self.send(build(await tokens.get()))
        if response.status_code == 401:
            raise CarrierAuthError(
                self.describe(response, "rejected a fresh token"), carrier=self.carrier
            )
        return response

    async def fetch_token(
        self, request: httpx.Request, *, auth: httpx.Auth | None = None
    ) -> AccessToken:
        """Returns the token a client-credentials request obtains; raises CarrierAuthError when
        the carrier refuses the credentials (400, 401 or 403)."""
        response = await self.send(request, auth=auth)
        if response.status_code in (400, 401, 403):
            raise CarrierAuthError(
                self.describe(response, "refused the credentials"), carrier=self.carrier
            )
        return parse_access_token(self.successful_body(response), carrier=self.carrier)

    def successful_body(self, response: httpx.Response) -> bytes:
        """Returns the body of a 2xx response; raises the error any other status means."""
        if 200 <= response.status_code < 300:
            return response.content
        raise self.status_error(response)

    def status_error(self, response: httpx.Response) -> CarrierError:
        """Returns the error a non-2xx status means when nothing more specific applies."""
        status = response.status_code
        if status in (401, 403):
            return CarrierAuthError(self.describe(response, "refused access"), carrier=self.carrier)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._clock())
            message = self.describe(response, "rate-limited us")
            return CarrierRateLimited(message, carrier=self.carrier, retry_after=retry_after)
        if status >= 500:
            message = self.describe(response, "failed")
            return CarrierUnavailable(message, carrier=self.carrier, status_code=status)
        return self.invalid(f"{self.name} answered an unexpected HTTP {status}", response.content)

    def describe(self, response: httpx.Response, what: str) -> str:
        """Returns "<Carrier> <what> (HTTP <status>)", with the carrier's own error text if any."""
        detail = self._read_error(response.content)
        return f"{self.name} {what} (HTTP {response.status_code})" + (
            f": {detail}" if detail else ""
        )

    def invalid(self, message: str, body: bytes) -> CarrierResponseInvalid:
        """Returns CarrierResponseInvalid for this carrier, carrying a bounded excerpt of `body`."""
        return invalid_answer(message, body, carrier=self.carrier)


async def fetch_in_batches(
    queries: Sequence[TrackingQuery],
    fetch_batch: Callable[[Sequence[TrackingQuery]], Awaitable[Sequence[TrackingResult]]],
    *,
    carrier: str,
    batch_size: int,
) -> list[TrackingResult]:
    """Returns one result per query, in the order asked, fetching `batch_size` per request.

    Never raises: a CarrierError becomes one failure per number of its batch, and a bug an
    AdapterFault per number, so one bad batch never sinks the rest of a poll.
    """
    results: list[TrackingResult] = []
    for start in range(0, len(queries), batch_size):
        batch = queries[start : start + batch_size]
        numbers = [query.tracking_number for query in batch]
        try:
            results += await fetch_batch(batch)
        except CarrierError as error:
            results += [TrackingFailure(number, error) for number in numbers]
        except Exception as error:  # a bug of ours: logged loudly, reported for these numbers
            results += [adapter_fault(number, error, carrier=carrier) for number in numbers]
    return results
