"""A loopback receiver that behaves like a Slack incoming webhook under load: a token bucket of
`per_second` with room for `burst` at once; beyond it, 429 with Retry-After (whole seconds, as
Slack sends it). It honours Idempotency-Key: a repeat of a key it already posted is answered
200 and not posted again. Every request is recorded with its arrival time (monotonic)."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import serving_on_loopback

SECRET_PATH = "/services/T0SLACK/B0LIKE/t0kenThatMustNeverLeak"


@dataclass(frozen=True)
class Arrival:
    at: float
    idempotency_key: str | None
    status: int
    posted: bool  # accepted and shown in the channel (not a repeat)


@dataclass
class SlackLikeReceiver:
    per_second: float
    burst: int
    base_url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)
    _tokens: float = -1.0
    _refilled_at: float = 0.0
    _posted: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.base_url + SECRET_PATH

    def answer(self, key: str | None) -> tuple[int, dict[str, str]]:
        with self._lock:
            now = time.monotonic()
            if self._tokens < 0:
                self._tokens, self._refilled_at = float(self.burst), now
            elapsed = now - self._refilled_at
            self._tokens = min(self.burst, self._tokens + elapsed * self.per_second)
            self._refilled_at = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.per_second
                self.arrivals.append(Arrival(now, key, 429, posted=False))
                return 429, {"Retry-After": str(max(1, math.ceil(wait)))}
            self._tokens -= 1
            posted = key not in self._posted
            if key is not None:
                self._posted.add(key)
            self.arrivals.append(Arrival(now, key, 200, posted=posted))
            return 200, {}

    def posted(self) -> Counter[str | None]:
        with self._lock:
            return Counter(a.idempotency_key for a in self.arrivals if a.posted)

    def count(self, status: int) -> int:
        with self._lock:
            return sum(1 for a in self.arrivals if a.status == status)


def _handler(receiver: SlackLikeReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = receiver.answer(self.headers.get("Idempotency-Key"))
            body = b"ok" if status == 200 else b"rate_limited"
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@contextmanager
def running_slack_receiver(*, per_second: float, burst: int) -> Iterator[SlackLikeReceiver]:
    receiver = SlackLikeReceiver(per_second=per_second, burst=burst)
    with serving_on_loopback(_handler(receiver)) as base_url:
        receiver.base_url = base_url
        yield receiver
