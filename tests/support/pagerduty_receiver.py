"""A loopback receiver that behaves like PagerDuty's Events API v2 (POST /v2/enqueue).

It checks an event as PagerDuty documents it (a 32-character routing_key, an event_action of
trigger/acknowledge/resolve, a trigger's payload with summary <= 1024, source and severity, a
dedup_key <= 255 and required for acknowledge/resolve) and answers 400 with PagerDuty's error
shape when it is not; otherwise 202 with the dedup_key. It keeps PagerDuty's alert state per
dedup_key: a trigger opens or joins the open alert, a resolve closes it (and is dropped when
none is open), a trigger after a resolve opens a new one. `throttle(n)` makes the next n
requests 429, as PagerDuty does when a service gets events too quickly.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import serving_on_loopback

ENQUEUE_PATH = "/v2/enqueue"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class PagerDutyAlert:
    dedup_key: str
    status: str  # triggered, acknowledged, resolved
    triggers: int = 1
    summary: str = ""


@dataclass
class PagerDutyLikeReceiver:
    base_url: str = ""
    retry_after: str | None = None  # PagerDuty itself sends none; tests may ask for one
    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    alerts: list[PagerDutyAlert] = field(default_factory=list)
    _throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.base_url + ENQUEUE_PATH

    def throttle(self, count: int) -> None:
        with self._lock:
            self._throttled = count

    def open_alert(self, dedup_key: str) -> PagerDutyAlert | None:
        with self._lock:
            return next(
                (a for a in self.alerts if a.dedup_key == dedup_key and a.status != "resolved"),
                None,
            )

    def answer(self, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            status, body, headers = self._answer(raw)
            self.answers.append(status)
            return status, body, headers

    def _answer(self, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        self.requests.append(event if isinstance(event, dict) else {"unparsed": raw.decode()})
        if self._throttled > 0:
            self._throttled -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return 429, {"status": "throttle event", "message": "Too many requests"}, headers
        errors = event_errors(event)
        if errors:
            return (
                400,
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                {},
            )
        return (
            202,
            {"status": "success", "message": "Event processed", "dedup_key": self._apply(event)},
            {},
        )

    def _apply(self, event: dict[str, Any]) -> str:
        key = event.get("dedup_key") or uuid.uuid4().hex
        open_alert = next(
            (a for a in self.alerts if a.dedup_key == key and a.status != "resolved"), None
        )
        action = event["event_action"]
        if action == "trigger" and open_alert is not None:
            open_alert.triggers += 1
        elif action == "trigger":
            self.alerts.append(
                PagerDutyAlert(key, "triggered", summary=event["payload"]["summary"])
            )
        elif open_alert is not None:  # acknowledge or resolve; dropped without an open alert
            open_alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        return key


def event_errors(event: object) -> list[str]:
    """PagerDuty's checks of an alert event, each failure in its own words."""
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    return errors


def _payload_errors(payload: object) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or invalid"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is too long (max 1024 characters)")
    if not payload.get("source"):
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
        )
    return errors


def _handler(receiver: PagerDutyLikeReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != ENQUEUE_PATH:
                status, body, extra = 404, {"status": "not found"}, {}
            else:
                status, body, extra = receiver.answer(raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@contextmanager
def running_pagerduty_receiver() -> Iterator[PagerDutyLikeReceiver]:
    receiver = PagerDutyLikeReceiver()
    with serving_on_loopback(_handler(receiver)) as base_url:
        receiver.base_url = base_url
        yield receiver
