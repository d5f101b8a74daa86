from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import httpx

from carriers.errors import InvalidTrackingNumber, SubscriptionRefused, TrackingNotFound
from carriers.http import CarrierHttp, fetch_in_batches
from carriers.oauth import AccessToken, TokenCache
from carriers.protocol import TrackingResult
from carriers.types import RateLimit, SubscriptionAnswer, TrackingQuery, TrackingSnapshot
from carriers.usps import parse
from carriers.usps import subscribe as subscriptions

CARRIER = "usps"


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
        self._carrier = CarrierHttp(http, carrier=CARRIER, read_error=parse.parse_error_message)
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._tokens = TokenCache(self._fetch_token)
        # Subscriptions get their own token, asked for only when firstscan subscribes: a scope
        # the app is not entitled to must never cost it its tracking token.
        self._subscription_tokens = TokenCache(self._fetch_subscription_token)

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked; never raises."""
        return await fetch_in_batches(queries, self._track, carrier=CARRIER, batch_size=1)

    async def _track(self, batch: Sequence[TrackingQuery]) -> list[TrackingSnapshot]:
        [query] = batch
        number = query.tracking_number
        url = f"{self._base_url}/tracking/v3/tracking/{quote(number, safe='')}"

        def build(token: str) -> httpx.Request:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            return self._http.build_request(
                "GET", url, headers=headers, params={"expand": "DETAIL"}
            )

        response = await self._carrier.send_with_token(self._tokens, build)
        return [parse.parse_tracking(self._tracking_body(response), tracking_number=number)]

    def _tracking_body(self, response: httpx.Response) -> bytes:
        if response.status_code == 400:
            # The number is the only variable part of the request, so USPS's 400 (e.g. error
            # 150001, invalid tracking number) is an answer about the number.
            detail = parse.parse_error_message(response.content)
            if detail is None:
                message = "USPS answered 400 with a body that is not a USPS error"
                raise self._carrier.invalid(message, response.content)
            raise InvalidTrackingNumber(f"USPS rejects the number: {detail}", carrier=CARRIER)
        if response.status_code == 404:
            message = self._carrier.describe(response, "does not know the number")
            raise TrackingNotFound(message, carrier=CARRIER)
        return self._carrier.successful_body(response)

    async def subscribe(self, number: str, *, listener_url: str, secret: str) -> SubscriptionAnswer:
        """Subscribes one number to Subscriptions - Tracking (every update, to `listener_url`,
        signed with `secret`); the answer's reference is USPS's subscriptionId.

        A number USPS refuses comes back in `refused`. Raises SubscriptionRefused for a request
        refused for another reason (not retryable: the listener URL or secret is wrong),
        CarrierRateLimited for 429 and CarrierUnavailable for 5xx and timeouts (retryable)."""
        body = subscriptions.build_subscription_request(
            number, listener_url=listener_url, secret=secret
        )
        url = self._base_url + subscriptions.PATH

        def build(token: str) -> httpx.Request:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            return self._http.build_request("POST", url, headers=headers, json=body)

        response = await self._carrier.send_with_token(self._subscription_tokens, build)
        if response.status_code in (400, 404, 409, 422):
            reason = subscriptions.refused_number_reason(response.content)
            if reason is not None:
                return SubscriptionAnswer(subscribed=(), refused=(number,), reference=None)
            message = self._carrier.describe(response, "refused the subscription")
            raise SubscriptionRefused(message, carrier=CARRIER)
        answer = self._carrier.successful_body(response)
        return subscriptions.parse_subscription_answer(answer, number=number)

    async def _fetch_token(self) -> AccessToken:
        return await self._token_for("tracking")

    async def _fetch_subscription_token(self) -> AccessToken:
        return await self._token_for(subscriptions.SCOPE)

    async def _token_for(self, scope: str) -> AccessToken:
        # OAuth 2 client credentials (USPS/api-examples README, "OAuth Token"): a JSON body.
        payload = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "scope": scope,
        }
        url = f"{self._base_url}/oauth2/v3/token"
        return await self._carrier.fetch_token(self._http.build_request("POST", url, json=payload))
