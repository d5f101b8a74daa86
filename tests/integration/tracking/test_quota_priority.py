"""Issue 14, as a new user met it: when the quota is short, the parcels already past their
deadline are polled first. Five USPS labels, a quota of two calls: three fresh labels ingested
first, then two week-old labels USPS never scanned; one `worker --once` pass at a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from app import db, migrate
from app.alerts.models import Alert
from app.auth import service as auth_service
from app.auth.roles import Role
from app.main import create_app
from app.scheduler import run_once
from app.settings import Settings
from app.shipments.models import Leg, Order, Shipment
from app.wiring import build_worker_context
from carriers.sandbox import example_number

NOW = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)  # Thursday, mid-day in New York
QUOTA = '{"usps": {"per_hour": 2, "per_day": 2}}'


def label(number: str, at: datetime, order_number: str) -> dict:
    return {
        "order_number": order_number,
        "shipments": [
            {"tracking_number": number, "carrier": "usps", "label_created_at": at.isoformat()}
        ],
    }


async def ingest(url: str, settings: Settings, orders: list[dict]) -> None:
    engine = db.create_engine(url)
    try:
        sessionmaker = db.create_sessionmaker(engine)
        async with db.session_scope(sessionmaker) as session:
            _, key = await auth_service.create_key(
                session, role=Role.INGEST, name="shop", actor="t"
            )
        app = create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=lambda: NOW)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for order in orders:
                answer = await client.post(
                    "/v1/orders", json=order, headers={"Authorization": f"Bearer {key}"}
                )
                assert answer.status_code == 201, answer.text
    finally:
        await engine.dispose()


async def test_week_old_unscanned_labels_are_polled_before_fresh_ones_and_alert(
    empty_database_url,
):
    migrate.upgrade(empty_database_url)
    settings = Settings(database_url=empty_database_url, carrier_limits=QUOTA)
    fresh = [
        label(example_number("usps", "normal", i), NOW - timedelta(hours=2), f"NEW-{i}")
        for i in range(3)
    ]
    old = [
        label(example_number("usps", "never_inducted", i), NOW - timedelta(days=7), f"OLD-{i}")
        for i in range(2)
    ]  # fmt: skip
    await ingest(empty_database_url, settings, fresh + old)  # the fresh ones first, as it happened

    engine = db.create_engine(empty_database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        async with httpx.AsyncClient() as http:
            context = build_worker_context(
                settings, sessionmaker=sessionmaker, http=http, clock=lambda: NOW
            )
            await run_once(context)
        async with sessionmaker() as session:
            polled = set(
                (
                    await session.execute(
                        select(Order.order_number)
                        .join(Shipment, Shipment.order_id == Order.id)
                        .join(Leg, Leg.shipment_id == Shipment.id)
                        .where(Leg.last_polled_at.is_not(None))
                    )
                ).scalars()
            )
            alerted = set(
                (
                    await session.execute(
                        select(Order.order_number)
                        .join(Alert, Alert.order_id == Order.id)
                        .where(Alert.rule == "never_inducted")
                    )
                ).scalars()
            )
    finally:
        await engine.dispose()

    assert polled == {"OLD-0", "OLD-1"}, "the quota went to the parcels already overdue"
    assert alerted == {"OLD-0", "OLD-1"}


async def test_a_short_quota_is_not_split_between_pipelines_of_different_priority(
    committing_sessionmaker, clock
):
    """Claims smaller than the backlog: a second pipeline must not spend the quota on fresh
    labels while overdue ones wait in the first pipeline's next claim."""
    from random import Random

    from app.tracking.cadence import CadenceTable
    from app.tracking.judging import JudgingPolicy
    from app.tracking.poller import Poller, PollerSettings
    from app.tracking.rate import CarrierLimits
    from carriers.sandbox import SandboxCarrier
    from tests.factories import create_order

    clock.now = NOW
    overdue, fresh = [], []
    async with committing_sessionmaker() as session:
        for i in range(6):
            number = example_number("usps", "never_inducted", i)
            _, (leg,) = await create_order(
                session, now=NOW, label_at=NOW - timedelta(days=7),
                shipments=[{"tracking_number": number, "carrier": "usps", "label_created_at": ""}],
            )  # fmt: skip
            leg.alert_deadline_at = NOW - timedelta(days=3)
            overdue.append(leg.id)
        for i in range(20):
            number = example_number("usps", "normal", i)
            _, (leg,) = await create_order(
                session, now=NOW, label_at=NOW - timedelta(hours=2),
                shipments=[{"tracking_number": number, "carrier": "usps", "label_created_at": ""}],
            )  # fmt: skip
            leg.alert_deadline_at = NOW + timedelta(days=2)
            fresh.append(leg.id)
        await session.commit()

    async def no_sleep(_: float) -> None:
        return None

    poller = Poller(
        committing_sessionmaker,
        clients={"usps": SandboxCarrier("usps", clock=clock)},
        limits={"usps": CarrierLimits(per_second=1000, per_hour=6)},
        settings=PollerSettings(
            judging=JudgingPolicy(cadence=CadenceTable()), claim_size=4, pipelines=2
        ),
        worker_id="w",
        clock=clock,
        sleep=no_sleep,
        rng=Random(1),
    )
    await poller.poll_due()

    async with committing_sessionmaker() as session:
        polled = set(
            (await session.execute(select(Leg.id).where(Leg.last_polled_at.is_not(None)))).scalars()
        )
    assert polled == set(overdue)
