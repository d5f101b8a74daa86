"""Every writer at once on the same orders (PostgreSQL, docs/locking.md): people's actions and
ingest over HTTP through the real app, beside two workers that poll, open planned alerts and
sweep, for a fixed number of rounds. No deadlock, no 5xx, and every write landed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app import db, migrate
from app.alerts.models import Alert, PlannedAlert
from app.audit.models import AuditEntry
from app.auth import service as auth_service
from app.auth.roles import Role
from app.main import create_app
from app.reconciliation import jobs as reconciliation_jobs
from app.settings import Settings, normalize_database_url
from app.shipments.models import Order
from app.tracking import jobs as tracking_jobs
from app.wiring import WorkerContext, build_worker_context
from carriers.registry import CARRIER_CODES
from carriers.sandbox import example_number
from tests.conftest import FixedClock

pytestmark = [
    pytest.mark.slow,
    # Deadlocks are PostgreSQL's: SQLite has one writer at a time.
    pytest.mark.parametrize(
        "empty_database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

ROUNDS = 3
# Each round: this many waves of people's and ingest requests, one after the other, while each
# worker makes this many passes (poll, open planned alerts, sweep) over the same orders.
WAVES = 3
PASSES = 3
# Printed Mon 7 Dec 2026 10:00 New York; the never-inducted deadline is Thu 10 Dec 00:00.
LABEL_AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
SCENARIOS = ("never_inducted",) * 8 + ("stalled", "exception", "normal", "handoff_gap")
# Requests in flight at once; with both workers this stays inside the pool (no pool waits).
HTTP_AT_ONCE = 8
POOL_SIZE = 16
IMPORT_HEADER = "order_number,tracking_number,carrier,label_created_at\n"


@dataclass(frozen=True, slots=True)
class Label:
    order_number: str
    tracking_number: str


@dataclass
class Record:
    """What the requests answered, by kind, and what the workers raised."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    imported: int = 0
    worker_errors: list[str] = field(default_factory=list)

    def count(self, kind: str, status: int) -> None:
        self.statuses.setdefault(kind, Counter())[status] += 1

    def ok(self, kind: str) -> int:
        return sum(n for status, n in self.statuses.get(kind, Counter()).items() if status < 300)

    def server_errors(self) -> dict[str, Counter[int]]:
        return {
            kind: Counter({s: n for s, n in counts.items() if s >= 500})
            for kind, counts in self.statuses.items()
            if any(s >= 500 for s in counts)
        }


@dataclass
class Scene:
    engine: AsyncEngine
    client: httpx.AsyncClient
    workers: tuple[WorkerContext, WorkerContext]
    clock: FixedClock
    labels: list[Label]
    keys: dict[str, str]
    record: Record = field(default_factory=Record)
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(HTTP_AT_ONCE))

    async def send(
        self, kind: str, key: str, method: str, url: str, headers=None, **request: object
    ) -> None:
        headers = {"Authorization": f"Bearer {self.keys[key]}", **(headers or {})}
        async with self.gate:
            response = await self.client.request(method, url, headers=headers, **request)  # type: ignore[arg-type]
        self.record.count(kind, response.status_code)
        if kind == "import" and response.status_code == 200:
            self.record.imported += response.json()["stored"]


@pytest.fixture
async def scene(empty_database_url: str):
    migrate.upgrade(empty_database_url)
    # No overflow: every connection stays open to the end, when its statistics are flushed.
    engine = create_async_engine(
        normalize_database_url(empty_database_url), pool_size=POOL_SIZE, max_overflow=0
    )
    sessionmaker = db.create_sessionmaker(engine)
    clock = FixedClock(LABEL_AT + timedelta(hours=1))
    limits = {c: {"per_second": 1000, "per_hour": None, "per_day": None} for c in CARRIER_CODES}
    settings = Settings(
        database_url=empty_database_url,
        carrier_mode="sandbox",
        carrier_limits=json.dumps(limits),
    )
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=clock)
    keys = {}
    async with sessionmaker() as session:
        for name, role in (("ingest", Role.INGEST), ("ops", Role.OPS), ("agent", Role.AGENT)):
            _, keys[name] = await auth_service.create_key(
                session, role=role, name=name, actor="tests"
            )
        await session.commit()
    # A 500 is an answer to count, not an exception that stops the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        httpx.AsyncClient(trust_env=False) as http,
    ):
        workers = (
            build_worker_context(settings, sessionmaker=sessionmaker, http=http, clock=clock),
            build_worker_context(settings, sessionmaker=sessionmaker, http=http, clock=clock),
        )
        labels = [
            Label(f"LOCK-{i:02d}", example_number("ups", scenario, i))
            for i, scenario in enumerate(SCENARIOS)
        ]
        yield Scene(engine, client, workers, clock, labels, keys)
    await engine.dispose()


def label_time(step: int, offset: timedelta = timedelta(0)) -> str:
    """A label time each step and writer changes, so every re-sent label is a real update."""
    return (LABEL_AT + timedelta(minutes=step + 1) + offset).isoformat()


def promised_on(step: int) -> date:
    return date(2026, 12, 20) + timedelta(days=step)


async def seed(scene: Scene) -> None:
    """The orders, polled and judged; then the never-inducted deadline passes and its planned
    alerts open."""
    for label in scene.labels:
        payload = {
            "order_number": label.order_number,
            "claimed_status": "shipped",
            "shipments": [
                {
                    "tracking_number": label.tracking_number,
                    "carrier": "ups",
                    "label_created_at": LABEL_AT.isoformat(),
                }
            ],
        }
        await scene.send("seed", "ingest", "POST", "/v1/orders", json=payload)
    await settle(scene)
    scene.clock.now = await next_moment(scene, within=timedelta(days=7))
    await settle(scene)


async def settle(scene: Scene) -> None:
    """One worker polls and judges everything due, alone: each order waits for its next
    deadline again, so that the next round's planned opening has plans that still hold."""
    await tracking_jobs.poll_due_legs(scene.workers[0])
    await reconciliation_jobs.reconcile_due_orders(scene.workers[0])


async def next_moment(scene: Scene, *, within: timedelta = timedelta(hours=12)) -> datetime:
    """Just after the nearest planned deadline (the opening's moment), else six hours on."""
    now = scene.clock.now
    async with scene.engine.connect() as connection:
        due = await connection.scalar(
            select(func.min(PlannedAlert.due_at)).where(PlannedAlert.due_at > now)
        )
    if due is not None and due - now < within:
        return due + timedelta(seconds=3)
    return now + timedelta(hours=6)


async def unresolved_alerts(scene: Scene) -> list[tuple[int, str]]:
    async with scene.engine.connect() as connection:
        rows = await connection.execute(
            select(Alert.id, Order.order_number)
            .join(Order, Order.id == Alert.order_id)
            .where(Alert.status != "resolved")
            .order_by(Alert.id)
        )
    return [(alert_id, number) for alert_id, number in rows]


def people(scene: Scene, step: int, alerts: list[tuple[int, str]]) -> list[Awaitable[None]]:
    """Each order's promise changed; each alert noted and reassigned, every other one
    acknowledged; the alerts of one order resolved."""
    actions = [
        scene.send(
            "patch",
            "ingest",
            "PATCH",
            f"/v1/orders/{label.order_number}",
            json={"promised_delivery_date": promised_on(step).isoformat()},
        )
        for label in scene.labels
    ]
    resolved_order = scene.labels[step % len(scene.labels)].order_number
    for index, (alert_id, order_number) in enumerate(alerts):
        base = f"/v1/alerts/{alert_id}"
        actions += [
            scene.send("note", "agent", "POST", f"{base}/notes", json={"note": f"step {step}"}),
            scene.send("assign", "ops", "POST", f"{base}/assign", json={"team": f"team-{step}"}),
        ]
        if index % 2 == step % 2:
            actions.append(scene.send("acknowledge", "ops", "POST", f"{base}/acknowledge"))
        if order_number == resolved_order:
            body = {"outcome": "reshipped", "note": "sent another"}
            actions.append(scene.send("resolve", "ops", "POST", f"{base}/resolve", json=body))
    return actions


def ingest(scene: Scene, step: int) -> list[Awaitable[None]]:
    """Every label re-sent with a new label time; half of them again in one import, in the
    reverse order of the orders' ids."""
    actions = [
        scene.send(
            "resend",
            "ingest",
            "POST",
            "/v1/orders",
            json={
                "order_number": label.order_number,
                "shipments": [
                    {
                        "tracking_number": label.tracking_number,
                        "carrier": "ups",
                        "label_created_at": label_time(step),
                    }
                ],
            },
        )
        for label in scene.labels
    ]
    rows = [
        f"{label.order_number},{label.tracking_number},ups,"
        f"{label_time(step, timedelta(seconds=30))}\n"
        for label in reversed(scene.labels[::2])
    ]
    actions.append(
        scene.send(
            "import",
            "ingest",
            "POST",
            "/v1/imports",
            content=IMPORT_HEADER + "".join(rows),
            headers={"Content-Type": "text/csv"},
        )
    )
    return actions


async def requests_of_a_round(scene: Scene, round_: int) -> int:
    """The round's waves, one after the other; returns how many alerts were acted on."""
    acted_on = 0
    for wave in range(WAVES):
        step = round_ * WAVES + wave
        alerts = await unresolved_alerts(scene)
        acted_on += len(alerts)
        await asyncio.gather(*people(scene, step, alerts), *ingest(scene, step))
    return acted_on


async def worker_passes(scene: Scene, context: WorkerContext, *, poll_first: bool) -> None:
    steps: list[Callable[[WorkerContext], Awaitable[object]]] = [
        tracking_jobs.poll_due_legs,
        reconciliation_jobs.reconcile_due_orders,
    ]
    for _ in range(PASSES):
        for step in steps if poll_first else reversed(steps):
            try:
                await step(context)
            except Exception as error:  # recorded, so that one failure does not hide the rest
                scene.record.worker_errors.append(f"{step.__name__}: {error!r}"[:300])


async def deadlocks_so_far(engine: AsyncEngine) -> int:
    """The database's deadlock count, after every pooled connection flushed its statistics (a
    backend flushes them when it goes idle with a flush requested, before it answers)."""
    connections = [await engine.connect() for _ in range(POOL_SIZE)]
    try:
        for connection in connections:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        await connections[0].exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        count = await connections[0].scalar(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        )
    finally:
        for connection in connections:
            await connection.close()
    return int(count or 0)


async def audit_count(engine: AsyncEngine, action: str, actor: str | None = None) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor.startswith(f"{actor} "))
    async with engine.connect() as connection:
        return int(await connection.scalar(stmt) or 0)


async def test_all_writers_at_once_never_deadlock_never_fail_and_every_write_lands(scene, caplog):
    caplog.set_level(logging.WARNING)
    await seed(scene)
    deadlocks_before = await deadlocks_so_far(scene.engine)
    acted_on = 0

    for round_ in range(ROUNDS):
        scene.clock.now = await next_moment(scene)
        acted, *_ = await asyncio.gather(
            requests_of_a_round(scene, round_),
            worker_passes(scene, scene.workers[0], poll_first=True),
            worker_passes(scene, scene.workers[1], poll_first=False),
        )
        acted_on += acted
        await settle(scene)

    record, engine, steps = scene.record, scene.engine, ROUNDS * WAVES
    assert acted_on > 0, "no alert was open: the people's actions were never exercised"
    assert await deadlocks_so_far(engine) - deadlocks_before == 0
    assert record.server_errors() == {}
    assert record.worker_errors == []
    assert [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage().lower()] == []
    # Every write landed: one audit entry for each change a request reported.
    patches = len(scene.labels) * steps
    assert record.ok("patch") == patches == await audit_count(engine, "order.updated")
    assert record.ok("note") == acted_on == await audit_count(engine, "alert.note")
    assert record.ok("assign") == await audit_count(engine, "alert.assigned")
    assert record.ok("resolve") == await audit_count(engine, "alert.resolved", "ops")
    assert set(record.statuses["acknowledge"]) <= {200, 409}
    assert set(record.statuses["assign"]) <= {200, 409}
    resends, imported = len(scene.labels) * steps, len(scene.labels[::2]) * steps
    assert record.ok("resend") == resends
    assert record.imported == imported
    assert await audit_count(engine, "shipment.updated") == resends + imported
    async with engine.connect() as connection:
        promised = set(await connection.scalars(select(Order.promised_delivery_on)))
    assert promised == {promised_on(steps - 1)}
