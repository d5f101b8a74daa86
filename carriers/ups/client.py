from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote

import httpx

from carriers.errors import (
    CarrierUnavailable,
    InvalidTrackingNumber,
    SubscriptionRefused,
    TrackingNotFound,
)
from carriers.http import CarrierHttp, fetch_in_batches
from carriers.oauth import AccessToken, TokenCache
from carriers.protocol import TrackingResult
from carriers.types import RateLimit, SubscriptionAnswer, TrackingQuery, TrackingSnapshot
from carriers.ups import parse
from carriers.ups import subscribe as track_alert

CARRIER = "ups"
TRANSACTION_SOURCE = "firstscan"


def _error_text(body: bytes) -> str | None:
    errors = parse.parse_errors(body)
    return "; ".join(f"{code} {message}".strip() for code, message in errors) or None


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
        self._carrier = CarrierHttp(http, carrier=CARRIER, read_error=_error_text)
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._tokens = TokenCache(self._fetch_token)

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked; never raises."""
        return await fetch_in_batches(queries, self._track, carrier=CARRIER, batch_size=1)

    async def _track(self, batch: Sequence[TrackingQuery]) -> list[TrackingSnapshot]:
        [query] = batch
        number = query.tracking_number
        url = f"{self._base_url}/api/track/v1/details/{quote(number, safe='')}"

        def build(token: str) -> httpx.Request:
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "transId": uuid.uuid4().hex,  # unique per request, at most 32 characters
                "transactionSrc": TRANSACTION_SOURCE,
            }
            params = {"locale": "en_US", "returnSignature": "false"}
            return self._http.build_request("GET", url, headers=headers, params=params)

        response = await self._carrier.send_with_token(self._tokens, build)
        return [parse.parse_tracking(self._tracking_body(response), tracking_number=number)]

    def _tracking_body(self, response: httpx.Response) -> bytes:
        codes = {code for code, _ in parse.parse_errors(response.content)}
        if response.status_code == 400 and any(code.startswith("TV") for code in codes):
            # TV1002 "Invalid inquiry number" and its TV siblings judge the number itself.
            message = self._carrier.describe(response, "rejects the number")
            raise InvalidTrackingNumber(message, carrier=CARRIER)
        if response.status_code == 404:
            message = self._carrier.describe(response, "does not know the number")
            raise TrackingNotFound(message, carrier=CARRIER)
        return self._carrier.successful_body(response)

    async def subscribe(
        self, numbers: Sequence[str], *, destination: track_alert.Destination | None
    ) -> SubscriptionAnswer:
        """Subscribes up to 100 numbers to Track Alert for 14 days: v1 with a destination, v2
        (the webhook set in UPS's portal) without.

        Raises SubscriptionRefused for a request UPS refuses as such (a Hard VSS error),
        CarrierUnavailable for a transient one, and the usual carrier errors otherwise."""
        body = track_alert.build_subscription_request(numbers, destination=destination)
        url = self._base_url + track_alert.subscription_path(destination)
        trans_id = uuid.uuid4().hex

        def build(token: str) -> httpx.Request:
            headers = {
                "Authorization": f"Bearer {token}",
                "transId": trans_id,
                "transactionSrc": TRANSACTION_SOURCE,
            }
            return self._http.build_request("POST", url, headers=headers, json=body)

        response = await self._carrier.send_with_token(self._tokens, build)
        if response.status_code == 400:
            answer = self._refused_subscription(response)
        else:
            body_read = self._carrier.successful_body(response)
            answer = track_alert.parse_subscription_answer(body_read)
        return replace(answer, reference=trans_id)

    def _refused_subscription(self, response: httpx.Response) -> SubscriptionAnswer:
        codes = {code for code, _ in parse.parse_errors(response.content)}
        message = self._carrier.describe(response, "refused the subscription")
        if codes & track_alert.TRANSIENT_CODES:
            raise CarrierUnavailable(message, carrier=CARRIER, status_code=400)
        refused = track_alert.parse_subscription_answer(response.content).refused
        if refused and codes & {"VSS210", "VSS215"}:
            # No valid number in the request: an answer about the numbers, not the request.
            return SubscriptionAnswer(subscribed=(), refused=refused)
        raise SubscriptionRefused(message, carrier=CARRIER)

    async def _fetch_token(self) -> AccessToken:
        # OAuth 2 client credentials: HTTP Basic with the app's id and secret, form body
        # (UPS OAuthClientCredentials.yaml, POST /security/v1/oauth/token).
        url = f"{self._base_url}/security/v1/oauth/token"
        request = self._http.build_request("POST", url, data={"grant_type": "client_credentials"})
        return await self._carrier.fetch_token(request, auth=self._auth)
