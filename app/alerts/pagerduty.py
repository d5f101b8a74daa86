"""Work items as PagerDuty alerts, through the Events API v2.

One item is one PagerDuty alert: every event about it carries `dedup_key` firstscan-item-<id>,
so a repeated trigger joins the open alert instead of paging again, and a resolve closes it
(developer.pagerduty.com, Events API v2, "Alert De-Duplication").

The outbox holds the event without its `routing_key`, which is a secret: only the channel adds
it, at the moment of sending, and it never appears in an error, a log line or a repr.

Answers (Events API v2 overview, "Response Codes & Retry Logic"): 202 accepted; 400 invalid
event, final; 429 and 5xx, retry later; a network error, retry later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from app.alerts.delivery import DeliveryResult, NotificationView
from app.alerts.http_answers import classify_webhook_response
from app.alerts.messages import one_line, truncate
from app.db import utcnow

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# The outbox destination of every PagerDuty row: the routing key is a secret, never a name.
PAGERDUTY_DESTINATION = "pagerduty"
SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
# PagerDuty sends no Retry-After with its 429 and advises "a backoff of a few minutes".
RATE_LIMITED_BACKOFF = timedelta(minutes=2)

Severity = Literal["info", "warning", "critical"]
EventAction = Literal["trigger", "acknowledge", "resolve"]


@dataclass(frozen=True, slots=True)
class PagerDutyItem:
    """What a trigger says about a work item; never customer contacts."""

    item_id: int
    rule: str
    severity: Severity
    summary: str
    opened_at: datetime
    url: str
    team: str | None = None
    order_number: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None


def item_dedup_key(item_id: int) -> str:
    """The same for every event about one item, so PagerDuty keeps one alert for it."""
    return f"firstscan-item-{item_id}"


def build_pagerduty_trigger(item: PagerDutyItem) -> dict[str, Any]:
    """The outbox payload of a trigger: an Events API v2 event without its routing_key."""
    subject = item.order_number or " ".join(p for p in (item.carrier, item.tracking_number) if p)
    details = {
        "item_id": item.item_id,
        "rule": item.rule,
        "team": item.team,
        "order_number": item.order_number,
        "carrier": item.carrier,
        "tracking_number": item.tracking_number,
        "opened_at": item.opened_at.isoformat(),
    }
    payload = {
        "summary": truncate(one_line(f"[{item.rule}] {subject}: {item.summary}"), SUMMARY_LIMIT),
        "source": "firstscan",
        # Our severities are a subset of PagerDuty's (critical, error, warning, info).
        "severity": item.severity,
        "timestamp": item.opened_at.isoformat(),
        "component": item.carrier,
        "group": item.team,
        "class": item.rule,
        "custom_details": {name: value for name, value in details.items() if value is not None},
    }
    return {
        "event_action": "trigger",
        "dedup_key": item_dedup_key(item.item_id),
        "payload": {name: value for name, value in payload.items() if value is not None},
        "links": [{"href": item.url, "text": "Open the item in the firstscan console"}],
        "client": "firstscan",
        "client_url": item.url,
    }


def build_pagerduty_resolve(item_id: int) -> dict[str, Any]:
    """The outbox payload that closes the item's PagerDuty alert (dropped if already closed)."""
    return {"event_action": "resolve", "dedup_key": item_dedup_key(item_id)}


def build_pagerduty_acknowledge(item_id: int) -> dict[str, Any]:
    """The outbox payload that stops PagerDuty paging about an item a person has taken."""
    return {"event_action": "acknowledge", "dedup_key": item_dedup_key(item_id)}


class _EventPayload(BaseModel):
    model_config = ConfigDict(extra="allow")

    summary: str = Field(min_length=1, max_length=SUMMARY_LIMIT)
    source: str = Field(min_length=1)
    severity: Literal["critical", "error", "warning", "info"]


class PagerDutyEvent(BaseModel):
    """The shape PagerDuty requires, checked before sending so a bad row dies with a reason."""

    model_config = ConfigDict(extra="allow")

    event_action: EventAction
    dedup_key: str = Field(min_length=1, max_length=DEDUP_KEY_LIMIT)
    payload: _EventPayload | None = None

    @model_validator(mode="after")
    def _trigger_has_a_payload(self) -> PagerDutyEvent:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger needs a payload")
        return self


class PagerDutyChannel:
    """Sends "pagerduty" outbox rows to the Events API v2, adding the routing key."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        routing_key: SecretStr,
        *,
        events_url: str = PAGERDUTY_EVENTS_URL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = http
        self._routing_key = routing_key
        self._events_url = events_url
        self._clock = clock

    def __repr__(self) -> str:
        return f"PagerDutyChannel(events_url={self._events_url!r})"  # never the routing key

    async def send(self, notification: NotificationView) -> DeliveryResult:
        try:
            PagerDutyEvent.model_validate(dict(notification.payload))
        except ValidationError as exc:
            return DeliveryResult.permanent(f"invalid PagerDuty event: {_first_error(exc)}")
        body = {**notification.payload, "routing_key": self._routing_key.get_secret_value()}
        try:
            response = await self._http.post(self._events_url, json=body)
        except httpx.TimeoutException as exc:
            return DeliveryResult.retry(f"PagerDuty timed out ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return DeliveryResult.retry(self._scrub(f"{type(exc).__name__}: {exc}"))
        except httpx.InvalidURL:
            return DeliveryResult.permanent("FIRSTSCAN_PAGERDUTY_EVENTS_URL is not a valid URL")
        return self._classify(response)

    def _classify(self, response: httpx.Response) -> DeliveryResult:
        result = classify_webhook_response(
            response.status_code,
            response.headers.get("Retry-After"),
            response.text,
            now=self._clock(),
        )
        retry_after = result.retry_after
        if result.rate_limited and retry_after is None:
            retry_after = RATE_LIMITED_BACKOFF
        error = self._scrub(result.error) if result.error is not None else None
        return DeliveryResult(result.outcome, result.status_code, error, retry_after)

    def _scrub(self, text: str) -> str:
        return text.replace(self._routing_key.get_secret_value(), "<routing key>")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "event"
    return f"{where}: {error['msg']}"
