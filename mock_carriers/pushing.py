"""The mock carriers pushing, as their push services do (docs/carrier-push.md): each round, every
scan a watched number's timeline has made since the last round is posted to the URL the carrier
was given, in that carrier's push shape and with its authentication, with faults on demand.

Watched numbers: UPS, the numbers subscribed through Track Alert (v1: each push to the
subscription's URL with its `credential` header; v2: to the webhook registered through
`POST /_mock/ups/webhook`, with `Authorization: Bearer` and `x-api-key`, the token obtained by
OAuth 2.0 client credentials from the webhook's token URL and kept until it expires, as UPS
does); USPS, the numbers subscribed one by one
through Subscriptions - Tracking (to the subscription's listener URL, signed with its secret);
USPS and FedEx, the numbers of a target set through `POST /_mock/push/targets` (USPS: an
X-HMAC-signed notification envelope whose payload is a Tracking API answer as of the scan;
FedEx: an AIV push, a Track API answer as of the scan, signed in `fdx-signature`). DHL does not
push.

Faults (`PushFaults`, `POST /_mock/push/faults`), rolled by one seeded generator:

    delay_seconds        wait this long before each push
    duplicate_rate       share of pushes posted twice
    lose_rate            share of pushes never posted (the scan still counts as pushed)
    bad_signature_rate   share of pushes signed with the wrong secret or credential (UPS v2:
                         a forged bearer token)
    reorder              post each round's pushes newest first
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Literal
from urllib.parse import quote_plus

import httpx
from pydantic import BaseModel, ConfigDict, Field

from carriers.errors import CarrierResponseInvalid
from carriers.fedex.push import SIGNATURE_HEADER as FEDEX_SIGNATURE_HEADER
from carriers.fedex.push import sign_push
from carriers.oauth import EXPIRY_MARGIN_SECONDS, parse_access_token
from carriers.sandbox import Scan, Timeline
from carriers.ups.push import API_KEY_HEADER, CREDENTIAL_HEADER
from carriers.usps.push import SIGNATURE_HEADER as USPS_SIGNATURE_HEADER
from carriers.usps.push import sign_notification
from mock_carriers.payloads import fedex, ups, usps
from mock_carriers.subscriptions import (
    TrackAlertSubscriptions,
    UpsWebhook,
    UspsTrackingSubscriptions,
)

PushCarrier = Literal["usps", "fedex"]
WRONG = "-not-the-secret"
FORGED_TOKEN = "mock-forged-bearer-token"


class PushFaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delay_seconds: float = Field(default=0.0, ge=0.0, le=60.0)
    duplicate_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    lose_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    bad_signature_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    reorder: bool = False
    seed: int = 0


class PushTarget(BaseModel):
    """Where USPS or FedEx pushes, with the secret it signs with, for which numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carrier: PushCarrier
    url: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Push:
    """One push as the carrier posts it."""

    carrier: str
    tracking_number: str
    url: str
    body: bytes
    headers: dict[str, str]
    # UPS v2: the webhook whose bearer token goes with the push, fetched when it is posted.
    webhook: UpsWebhook | None = None
    forged: bool = False


@dataclass(slots=True)
class PushRound:
    """What one round did: pushes posted (copies included), lost, doubled, badly signed, UPS v2
    tokens fetched, and the receiver's answers by status (a refused token request counts under
    the token endpoint's status, the push unposted)."""

    posted: int = 0
    lost: int = 0
    duplicated: int = 0
    badly_signed: int = 0
    tokens_fetched: int = 0
    answers: dict[int, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "posted": self.posted,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "badly_signed": self.badly_signed,
            "tokens_fetched": self.tokens_fetched,
            "answers": {str(status): n for status, n in sorted(self.answers.items())},
        }


def ups_push(
    timeline: Timeline,
    scan: Scan,
    *,
    url: str,
    credential: str | None = None,
    webhook: UpsWebhook | None = None,
) -> Push:
    """A Track Alert `TrackingEvent` for the scan (UPSTrackAlert.yaml's field names; absent
    values as empty strings, as the spec's examples have them): v1 with the `credential` header,
    v2 (a webhook) with `x-api-key` and, when posted, the bearer token."""
    local, utc = scan.local_at, scan.at.astimezone(UTC)
    status = ups.activity_status(scan)
    place = scan.place if scan.located else None
    event = {
        "trackingNumber": timeline.tracking_number,
        "localActivityDate": local.strftime("%Y%m%d"),
        "localActivityTime": local.strftime("%H%M%S"),
        "gmtActivityDate": utc.strftime("%Y%m%d"),
        "gmtActivityTime": utc.strftime("%H%M%S"),
        "activityLocation": {
            "city": place.city.upper() if place else "",
            "stateProvince": place.state if place else "",
            "postalCode": place.postal_code if place else "",
            "country": "US",
        },
        "activityStatus": {
            "type": status["type"],
            "code": status["code"],
            "description": status["description"],
        },
        "scheduledDeliveryDate": "",
        "actualDeliveryDate": "",
        "actualDeliveryTime": "",
        "deliveryStartTime": "",
        "deliveryEndTime": "",
    }
    body = json.dumps(event).encode()
    if webhook is not None:
        headers = {API_KEY_HEADER: webhook.client_id}
        return Push("ups", timeline.tracking_number, webhook.url, body, headers, webhook)
    return Push("ups", timeline.tracking_number, url, body, {CREDENTIAL_HEADER: credential or ""})


def usps_push(
    timeline: Timeline, scan: Scan, *, url: str, secret: str, subscription_id: str | None = None
) -> Push:
    """A Subscriptions - Tracking notification: the envelope, its payload the Tracking API's
    answer as of the scan, signed in X-HMAC."""
    _, answer = usps.tracking_answer(timeline, scan.at)
    payload = json.dumps(answer)
    timestamp = scan.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope = {
        "subscriptionId": subscription_id or f"mock-{timeline.tracking_number}",
        "subscriptionType": "TRACKING",
        "timestamp": timestamp,
        "payload": payload,
    }
    signature = sign_notification(secret, timestamp=timestamp, payload=payload)
    return Push(
        "usps",
        timeline.tracking_number,
        url,
        json.dumps(envelope).encode(),
        {USPS_SIGNATURE_HEADER: signature},
    )


def fedex_push(timeline: Timeline, scan: Scan, *, url: str, secret: str) -> Push:
    """An AIV push: the Track API's answer for the number as of the scan, signed."""
    body = json.dumps(fedex.tracking_answer([timeline], scan.at)).encode()
    return Push(
        "fedex",
        timeline.tracking_number,
        url,
        body,
        {FEDEX_SIGNATURE_HEADER: sign_push(secret, body)},
    )


def badly_signed(push: Push) -> Push:
    """The same push with a signature or credential made with the wrong secret (UPS v2: a
    forged bearer token)."""
    if push.webhook is not None:
        return replace(push, forged=True)
    if push.carrier == "ups":
        headers = {CREDENTIAL_HEADER: push.headers[CREDENTIAL_HEADER] + WRONG}
    elif push.carrier == "usps":
        envelope = json.loads(push.body)
        wrong = sign_notification(
            "wrong" + WRONG, timestamp=envelope["timestamp"], payload=envelope["payload"]
        )
        headers = {USPS_SIGNATURE_HEADER: wrong}
    else:
        headers = {FEDEX_SIGNATURE_HEADER: sign_push("wrong" + WRONG, push.body)}
    return Push(push.carrier, push.tracking_number, push.url, push.body, headers)


class Pusher:
    """Posts each watched number's new scans, a round at a time."""

    def __init__(
        self,
        *,
        timeline: Callable[[str, str], Timeline],
        subscriptions: TrackAlertSubscriptions,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]],
        usps_subscriptions: UspsTrackingSubscriptions | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeline, self._subscriptions = timeline, subscriptions
        # v2 tokens expire in real time; `clock` is the parcels' (simulated) time.
        self._monotonic = monotonic
        self._usps_subscriptions = usps_subscriptions
        self._clock, self._sleep = clock, sleep
        self.targets: dict[str, PushTarget] = {}
        self.faults = PushFaults()
        self._dice = random.Random(0)
        self._pushed: dict[tuple[str, str], int] = {}  # scans already pushed, per number
        self._ups_token: tuple[str, float] | None = None  # v2's bearer token, until (monotonic)

    def set_faults(self, faults: PushFaults) -> None:
        self.faults = faults
        self._dice = random.Random(faults.seed)

    def reset(self) -> None:
        self.targets.clear()
        self._pushed.clear()
        self.forget_ups_token()
        self.set_faults(PushFaults())

    def forget_ups_token(self) -> None:
        """Drops the cached v2 token (a new webhook registration, or the receiver refused it)."""
        self._ups_token = None

    def due(self) -> list[Push]:
        """The pushes of every scan made since the last round, oldest first per number; each
        counts as pushed from now on."""
        now = self._clock()
        pushes: list[Push] = []
        for carrier, number, build in self._watched(now):
            timeline = self._timeline(carrier, number)
            scans = timeline.visible(now)
            already = self._pushed.get((carrier, number), 0)
            pushes += [build(timeline, scan) for scan in scans[already:]]
            self._pushed[(carrier, number)] = len(scans)
        return pushes

    def _watched(
        self, now: datetime
    ) -> Iterator[tuple[str, str, Callable[[Timeline, Scan], Push]]]:
        webhook = self._subscriptions.webhook
        for number, subscription in sorted(self._subscriptions.subscribed.items()):
            if subscription.expires_at <= now:
                continue
            if subscription.url is not None:
                yield (
                    "ups",
                    number,
                    partial(ups_push, url=subscription.url, credential=subscription.credential),
                )
            elif webhook is not None:  # v2: to the webhook registered now
                yield "ups", number, partial(ups_push, url=webhook.url, webhook=webhook)
        usps = self._usps_subscriptions.subscribed if self._usps_subscriptions else {}
        for number, held in sorted(usps.items()):
            if "usps" in self.targets and number in self.targets["usps"].numbers:
                continue  # pushed once, through the target
            render = partial(
                usps_push, url=held.url, secret=held.secret, subscription_id=held.subscription_id
            )
            yield "usps", number, render
        for carrier, target in sorted(self.targets.items()):
            build = usps_push if carrier == "usps" else fedex_push
            for number in target.numbers:
                yield carrier, number, partial(build, url=target.url, secret=target.secret)

    async def push_round(self, client: httpx.AsyncClient) -> PushRound:
        """Posts what is due, with the faults in force; the receiver's answers are counted, a
        refused push is not retried (the tests look for what was lost)."""
        result = PushRound()
        pushes = self.due()
        if self.faults.reorder:
            pushes.reverse()
        for push in pushes:
            if self._dice.random() < self.faults.lose_rate:
                result.lost += 1
                continue
            if self._dice.random() < self.faults.bad_signature_rate:
                push = badly_signed(push)
                result.badly_signed += 1
            copies = 2 if self._dice.random() < self.faults.duplicate_rate else 1
            result.duplicated += copies - 1
            for _ in range(copies):
                if self.faults.delay_seconds:
                    await self._sleep(self.faults.delay_seconds)
                status = await self._post_once(client, push, result)
                result.answers[status] = result.answers.get(status, 0) + 1
        return result

    async def _post_once(self, client: httpx.AsyncClient, push: Push, result: PushRound) -> int:
        if push.webhook is None:
            result.posted += 1
            return await _post(client, push)
        token = (
            FORGED_TOKEN if push.forged else await self._ups_bearer(client, push.webhook, result)
        )
        if isinstance(token, int):
            return token  # the token endpoint's refusal: UPS cannot push without one
        status = await _post(
            client, replace(push, headers={**push.headers, "Authorization": f"Bearer {token}"})
        )
        result.posted += 1
        if status == 401 and not push.forged:
            self.forget_ups_token()  # refused: the next push asks for a new one
        return status

    async def _ups_bearer(
        self, client: httpx.AsyncClient, webhook: UpsWebhook, result: PushRound
    ) -> str | int:
        """v2's bearer token, kept until shortly before it expires; a new one by OAuth 2.0
        client credentials (`client_secret_basic`, the id and secret form-encoded as RFC 6749
        section 2.3.1 says) from the webhook's token URL. The token endpoint's status (0: no
        answer) when it gives none."""
        now = self._monotonic()
        if self._ups_token is not None and now < self._ups_token[1]:
            return self._ups_token[0]
        auth = httpx.BasicAuth(quote_plus(webhook.client_id), quote_plus(webhook.client_secret))
        data = {"grant_type": "client_credentials"}
        try:
            response = await client.post(webhook.token_url, data=data, auth=auth)
        except httpx.HTTPError:
            return 0
        if response.status_code != 200:
            return response.status_code
        try:
            token = parse_access_token(response.content, carrier="ups")
        except CarrierResponseInvalid:
            return 0
        self._ups_token = (token.value, now + token.expires_in_seconds - EXPIRY_MARGIN_SECONDS)
        result.tokens_fetched += 1
        return token.value


async def _post(client: httpx.AsyncClient, push: Push) -> int:
    headers = {"content-type": "application/json", **push.headers}
    try:
        response = await client.post(push.url, content=push.body, headers=headers)
    except httpx.HTTPError:
        return 0  # no answer: counted as status 0
    return response.status_code
