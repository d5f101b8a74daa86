"""A loopback webhook receiver and outbox helpers for the dispatch tests."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertNotification, DeliveryAttempt
from app.db import session_scope
from tests.factories import make_alert, make_notification
from tests.support.loopback import serving_on_loopback

# The path stands in for the token part of a Slack webhook URL: it must never be logged or stored.
SECRET_PATH = "/services/T0FIRST/B0SCAN/s3cr3tWebh00kT0ken"


@dataclass(frozen=True)
class Received:
    path: str
    idempotency_key: str | None
    alert_id: str | None
    body: dict[str, Any]
    status: int


@dataclass
class WebhookReceiver:
    """Answers scripted failures first, then 200 "ok"; records every request it gets."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    _failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.base_url + SECRET_PATH

    def fail_next(self, count: int, status: int = 503, headers: dict[str, str] | None = None):
        with self._lock:
            self._failures += [(status, headers or {})] * count

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str]]:
        with self._lock:
            status, extra = self._failures.pop(0) if self._failures else (200, {})
            self.requests.append(
                Received(
                    path=path,
                    idempotency_key=headers.get("Idempotency-Key"),
                    alert_id=headers.get("X-Firstscan-Alert-Id"),
                    body=json.loads(body),
                    status=status,
                )
            )
        return status, extra

    def keys_seen(self) -> Counter[str | None]:
        return Counter(r.idempotency_key for r in self.requests)

    def keys_accepted(self) -> Counter[str | None]:
        return Counter(r.idempotency_key for r in self.requests if 200 <= r.status < 300)


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = receiver.answer(self.path, self.headers, body)
            payload = b"ok" if status < 300 else b"no_service"
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving_on_loopback(_handler(receiver)) as base_url:
        receiver.base_url = base_url
        yield receiver


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        yield client


async def seed_notifications(
    sessionmaker: async_sessionmaker[AsyncSession],
    count: int,
    *,
    now: datetime,
    **overrides: Any,
) -> list[int]:
    """Saves `count` alerts with one due notification each; returns the notification ids."""
    async with session_scope(sessionmaker) as session:
        alerts = [make_alert() for _ in range(count)]
        session.add_all(alerts)
        await session.flush()
        rows = [make_notification(alert, next_attempt_at=now, **overrides) for alert in alerts]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def load_notifications(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[int]
) -> list[AlertNotification]:
    async with sessionmaker() as session:
        stmt = select(AlertNotification).where(AlertNotification.id.in_(ids))
        rows = {row.id: row for row in (await session.execute(stmt)).scalars()}
    return [rows[i] for i in ids]


async def load_attempts(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[int]
) -> list[DeliveryAttempt]:
    async with sessionmaker() as session:
        stmt = (
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id.in_(ids))
            .order_by(DeliveryAttempt.id)
        )
        return list((await session.execute(stmt)).scalars())
