"""A short soak (issue 12; the long one is `make bench-soak`, outside CI): `firstscan serve` and
one `firstscan worker` on PostgreSQL against the mock carrier server, under orders, lookups,
signed pushes and people's notes, while every database connection is killed now and then, the
alert receiver refuses deliveries and one carrier answers too late. No 5xx but the documented
503 (problem document, Retry-After), every acknowledged order and pushed scan stored once,
every alert audited and queued once, and every alert message received under one key per alert
event with nothing left dead or due in the outbox. Memory, and how often the stalled carrier's
polls time out, are measured by the long soak only: in a few seconds either is left to chance."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text

from app import db
from app.auth import service as auth_service
from app.auth.roles import Role
from app.tracking.webhooks import sign_delivery
from carriers.sandbox import example_number
from tests.integration.workers.conftest import POSTGRES_ONLY, wait_until
from tests.support.live_app import free_port
from tests.support.mock_process import PROJECT_ROOT

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

WEBHOOK_SECRET = "soak-test-secret"
ROUNDS = 36
KILL_EVERY_ROUNDS = 12
STALL_FROM_ROUND = 12  # FedEx answers later than the carrier timeout from then on
# Played so that alerts open at once: labels five days old that were never scanned, or stopped.
SCENARIOS = ("normal", "never_inducted", "stalled", "exception")
CARRIERS = ("usps", "ups", "fedex", "dhl")
SETTINGS = {
    "webhook_secret": WEBHOOK_SECRET,
    "secret_key": "soak-test",
    "carrier_timeout_seconds": 1,
    "reconcile_interval_seconds": 1,
    "dispatch_interval_seconds": 1,
    # Grouped ops messages on a short clock, so the test waits seconds, not minutes.
    "notify_interval_seconds": 1,
    "alert_group_wait_seconds": 2,
    "alert_group_interval_seconds": 5,
    "carrier_limits": json.dumps(
        {c: {"per_second": 100, "per_hour": None, "per_day": None} for c in CARRIERS}
    ),
}


@dataclass
class Client:
    http: httpx.AsyncClient
    keys: dict[str, str]
    unexpected_5xx: list[str] = field(default_factory=list)
    documented_503s: int = 0
    orders: dict[str, str] = field(default_factory=dict)  # order number -> tracking number
    pushed: dict[str, int] = field(default_factory=dict)  # event code -> events stored
    pushed_before: set[str] = field(default_factory=set)  # 409: an earlier try was stored
    notes: list[str] = field(default_factory=list)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    async def send(self, method: str, url: str, **options) -> httpx.Response | None:
        try:
            response = await self.http.request(method, url, **options)
        except httpx.TransportError:  # the server dropped the connection: no answer to judge
            return None
        if response.status_code == 503 and (
            response.headers.get("content-type", "").startswith("application/problem+json")
            and "retry-after" in response.headers
        ):
            self.documented_503s += 1
        elif response.status_code >= 500:
            self.unexpected_5xx.append(f"{method} {url}: {response.status_code} {response.text}")
        return response

    async def send_until_answered(self, method: str, url: str, **options) -> httpx.Response:
        """An idempotent request, repeated after a 503 or a dropped connection."""
        for _ in range(10):
            response = await self.send(method, url, **options)
            if response is not None and response.status_code != 503:
                return response
            await asyncio.sleep(0.5)  # the pool reconnects; the README says repeat it
        raise AssertionError(f"{method} {url} never answered")


@contextlib.asynccontextmanager
async def firstscan_serve(fleet, tmp_path, settings: dict[str, object]) -> AsyncIterator[str]:
    """`firstscan serve` (uvicorn) in its own process, configured as the worker is."""
    port = free_port()
    script = Path(sys.executable).with_name("firstscan")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]
    with (tmp_path / "serve.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            "serve",
            "--port",
            str(port),
            cwd=PROJECT_ROOT,
            env=fleet.environment(settings),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    async def answering() -> bool:
        assert process.returncode is None, (tmp_path / "serve.log").read_text()
        try:
            async with httpx.AsyncClient(trust_env=False) as http:
                return (await http.get(f"{base}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_until(answering, seconds=30, what="firstscan serve answering")
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)


def kill_connections(database_url: str) -> None:
    admin = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def scenario_of(index: int) -> str:
    return SCENARIOS[(index // len(CARRIERS)) % len(SCENARIOS)]


async def post_order(client: Client, mock_carrier, index: int) -> None:
    carrier, scenario = CARRIERS[index % len(CARRIERS)], scenario_of(index)
    number = example_number(carrier, scenario, 100 + index)
    label_at = (datetime.now(UTC) - timedelta(days=5)).replace(microsecond=0)
    await mock_carrier.fix_shipments(
        [{"carrier": carrier, "tracking_number": number, "label_created_at": label_at.isoformat()}]
    )
    order_number = f"SOAK-{index}"
    body = {
        "order_number": order_number,
        "shipments": [
            {
                "tracking_number": number,
                "carrier": carrier,
                "label_created_at": label_at.isoformat(),
            }
        ],
    }
    response = await client.send_until_answered(
        "POST", "/v1/orders", json=body, headers=client.auth("ingest")
    )
    assert response.status_code in (200, 201), response.text
    client.orders[order_number] = number


async def push_scan(client: Client, index: int) -> None:
    order_number = f"SOAK-{index}"
    carrier = CARRIERS[index % len(CARRIERS)]
    code = f"SOAKPUSH{index}"
    occurred_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    event = {"status": "in_transit", "code": code, "occurred_at": occurred_at}
    body = json.dumps({"tracking_number": client.orders[order_number], "events": [event]}).encode()
    timestamp, delivery = int(time.time()), f"soak-{code}"
    signature = sign_delivery(
        WEBHOOK_SECRET, timestamp=timestamp, delivery_id=delivery, carrier=carrier, body=body
    )
    headers = {
        "Content-Type": "application/json",
        "X-Firstscan-Timestamp": str(timestamp),
        "X-Firstscan-Delivery": delivery,
        "X-Firstscan-Signature": signature,
    }
    response = await client.send_until_answered(
        "POST", f"/v1/webhooks/{carrier}", content=body, headers=headers
    )
    if response.status_code == 409:  # an earlier try was stored; its answer was lost
        client.pushed_before.add(code)
        return
    assert response.status_code == 200, response.text
    # Stored in the inbox: the worker records its one new scan shortly (the number is ours).
    client.pushed[code] = 1


async def work_an_alert(client: Client, index: int) -> None:
    listed = await client.send("GET", "/v1/alerts", headers=client.auth("admin"))
    if listed is None or listed.status_code != 200 or not listed.json()["items"]:
        return
    alert_id = listed.json()["items"][index % len(listed.json()["items"])]["id"]
    if index % 3:
        note = f"soak note {index}"
        response = await client.send(
            "POST",
            f"/v1/alerts/{alert_id}/notes",
            json={"note": note},
            headers=client.auth("admin"),
        )
        if response is not None and response.is_success:
            client.notes.append(note)
    else:
        await client.send(
            "POST", f"/v1/alerts/{alert_id}/acknowledge", headers=client.auth("admin")
        )


async def run_traffic(client: Client, mock_carrier, receiver, database_url: str) -> None:
    for index in range(ROUNDS):
        if index == STALL_FROM_ROUND:
            await mock_carrier.configure(latency_ms=1500, carriers=["fedex"])
        if index and index % KILL_EVERY_ROUNDS == 0:
            await asyncio.to_thread(kill_connections, database_url)
            if index == KILL_EVERY_ROUNDS:
                receiver.fail_next(1, status=500)
        await post_order(client, mock_carrier, index)
        number = client.orders[f"SOAK-{index // 2}"]
        lookup = await client.send("GET", f"/v1/lookup/{number}", headers=client.auth("admin"))
        assert lookup is None or lookup.status_code in (200, 503), lookup.text
        if scenario_of(index) == "normal":
            await push_scan(client, index)  # a scan on a problem parcel would hide its problem
        await work_an_alert(client, index)


async def outbox_settled(sessionmaker) -> bool:
    """Alerts opened, every open item announced in a group message, and every message
    delivered (none pending, none dead)."""
    async with sessionmaker() as session:
        alerts = await session.scalar(text("SELECT count(*) FROM alerts"))
        waiting = await session.scalar(
            text("SELECT count(*) FROM alert_notifications WHERE status <> 'delivered'")
        )
        unannounced = await session.scalar(
            text(
                "SELECT count(*) FROM work_items "
                "WHERE announced_at IS NULL AND status <> 'resolved'"
            )
        )
    return bool(alerts) and waiting == 0 and unannounced == 0


async def describe_outbox(sessionmaker) -> str:
    counts = await rows(
        sessionmaker,
        "SELECT status, count(*), max(attempts), max(next_attempt_at) - now() "
        "FROM alert_notifications GROUP BY status",
    )
    [(alerts,)] = await rows(sessionmaker, "SELECT count(*) FROM alerts")
    return f"{alerts} alerts; messages (status, count, attempts, next in): {counts}"


async def inbox_drained(sessionmaker) -> bool:
    [(pending,)] = await rows(
        sessionmaker, "SELECT count(*) FROM carrier_pushes WHERE status = 'pending'"
    )
    return pending == 0


async def rows(sessionmaker, sql: str, **params) -> list:
    async with sessionmaker() as session:
        return list((await session.execute(text(sql), params)).all())


async def assert_stored_once(sessionmaker, client: Client) -> None:
    stored = await rows(
        sessionmaker,
        "SELECT o.order_number, l.tracking_number FROM orders o "
        "JOIN shipments s ON s.order_id = o.id JOIN legs l ON l.shipment_id = s.id "
        "WHERE l.source = 'shop'",
    )
    assert sorted(tuple(r) for r in stored) == sorted(client.orders.items())
    events = Counter(
        code
        for (code,) in await rows(
            sessionmaker, "SELECT carrier_code FROM tracking_events WHERE source = 'webhook'"
        )
    )
    assert {code: events[code] for code in client.pushed} == client.pushed
    assert [code for code in client.pushed_before if events[code] != 1] == []
    assert set(events) <= set(client.pushed) | client.pushed_before
    notes = Counter(
        note
        for (note,) in await rows(
            sessionmaker, "SELECT detail->>'note' FROM audit_log WHERE action = 'alert.note'"
        )
    )
    assert notes == Counter(client.notes)


async def assert_alerts_sent_once_by_key(sessionmaker, receiver) -> None:
    """Every alert audited as opened once and worked in an item; ops messages are about groups
    of items, each under one key; every message tried was delivered and accepted by the receiver
    under its key, and the receiver saw no key the outbox does not hold."""
    alerts = await rows(
        sessionmaker,
        "SELECT a.id, a.item_id, (SELECT count(*) FROM audit_log e "
        "WHERE e.action = 'alert.opened' AND e.entity_id = a.id::text) FROM alerts a",
    )
    assert [alert_id for alert_id, _, opened in alerts if opened != 1] == []
    assert [alert_id for alert_id, item_id, _ in alerts if item_id is None] == []
    outbox = await rows(
        sessionmaker,
        "SELECT group_key, payload->>'sequence', idempotency_key, status, attempts, channel, "
        "destination FROM alert_notifications WHERE event = 'group'",
    )
    assert outbox, "the items were announced"
    messages = Counter(
        (group, sequence, channel, to) for group, sequence, _, _, _, channel, to in outbox
    )
    assert max(messages.values()) == 1
    # Judging goes on after the outbox settled: a message queued since may not be tried yet.
    unsent = [key for _, _, key, status, tried, *_ in outbox if status != "delivered" and tried]
    assert unsent == []
    accepted = receiver.keys_accepted()
    assert [
        key for _, _, key, status, *_ in outbox if status == "delivered" and not accepted[key]
    ] == []
    known = {key for _, _, key, *_ in outbox}
    assert [r for r in receiver.requests if r.idempotency_key not in known] == []


async def test_soak_with_killed_connections_a_refusing_receiver_and_a_stalled_carrier(
    tmp_path, fleet, mock_carrier, receiver, committing_sessionmaker, empty_database_url
):
    keys = {}
    async with db.session_scope(committing_sessionmaker) as session:
        for role in (Role.INGEST, Role.ADMIN):
            _, keys[role.value] = await auth_service.create_key(
                session, role=role, name=f"soak {role.value}", actor="test"
            )
    settings = SETTINGS | {"alert_webhook_urls": receiver.url}
    receiver.fail_next(2, status=503, headers={"Retry-After": "1"})
    await fleet.start(**settings)
    async with (
        firstscan_serve(fleet, tmp_path, settings) as base,
        httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as http,
    ):
        client = Client(http, keys)
        await run_traffic(client, mock_carrier, receiver, empty_database_url)
    await mock_carrier.configure(latency_ms=0, carriers=[])
    await wait_until(
        lambda: outbox_settled(committing_sessionmaker),
        # A refused message waits up to 30 s (full-jitter backoff); one whose send a killed
        # connection cut off waits for its 2-minute lease to run out.
        seconds=180,
        what="every alert message delivered",
        fleet=fleet,
        describe=lambda: describe_outbox(committing_sessionmaker),
    )
    await wait_until(
        lambda: inbox_drained(committing_sessionmaker),
        seconds=60,
        what="every acknowledged push read from the inbox",
        fleet=fleet,
    )
    await fleet.stop_all()

    assert client.unexpected_5xx == []
    await assert_stored_once(committing_sessionmaker, client)
    await assert_alerts_sent_once_by_key(committing_sessionmaker, receiver)
