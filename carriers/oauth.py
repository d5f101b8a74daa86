from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from carriers.answers import decode_answer

# Refresh this long before the carrier says the token expires, so a request never leaves with a
# token that dies in flight.
EXPIRY_MARGIN_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_in_seconds: float


TokenFetcher = Callable[[], Awaitable[AccessToken]]


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str
    # A string ("14399") from UPS, and from USPS at times; a number from FedEx. Both validate.
    expires_in: float


def parse_access_token(body: str | bytes, *, carrier: str) -> AccessToken:
    """Returns the token of an OAuth 2 client-credentials answer (RFC 6749 section 5.1).

    Raises CarrierResponseInvalid when the body holds no `access_token` and `expires_in`.
    """
    answer = decode_answer(_TokenAnswer, body, carrier=carrier, what="token answer")
    return AccessToken(answer.access_token, answer.expires_in)


class TokenCache:
    """Caches one OAuth 2 client-credentials token; concurrent callers share a single refresh."""

    def __init__(self, fetch: TokenFetcher, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        """Returns a token valid for at least EXPIRY_MARGIN_SECONDS more."""
        if self._token is not None and self._clock() < self._valid_until:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._valid_until:
                token = await self._fetch()
                self._token = token.value
                self._valid_until = self._clock() + max(
                    token.expires_in_seconds - EXPIRY_MARGIN_SECONDS, 0.0
                )
            return self._token

    def invalidate(self, token: str) -> None:
        """Drops `token` after a 401 so the next `get` fetches a new one (only if still current)."""
        if self._token == token:
            self._token = None
            self._valid_until = 0.0
