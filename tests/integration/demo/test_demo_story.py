"""The demo tells the README's story whatever day it runs: the demo data loaded at a fixed clock,
one worker pass against the sandbox carriers at that clock, then every row of the README's demo
table checked. Several weekdays, because business days move every deadline."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from app import db
from app.alerts.models import Alert
from app.demo import load_demo
from app.scheduler import run_once
from app.settings import Settings
from app.shipments.models import Leg, Order, Shipment
from app.wiring import build_worker_context

# Every weekday, mid-day in New York, and the Tuesday after Christmas (a holiday weekend).
DAYS = [datetime(2026, 12, day, 17, 0, tzinfo=UTC) for day in range(7, 14)] + [
    datetime(2026, 12, 29, 17, 0, tzinfo=UTC)
]
# The README's demo table: order -> the open alerts' rules (and FS-1003/4 the status).
EXPECTED_ALERTS = {
    "FS-1001": {"handoff_gap"},
    "FS-1002": {"never_inducted"},
    "FS-1003": set(),
    "FS-1004": set(),
    "FS-1005": {"exception"},
    "FS-1006": {"stalled"},
}


async def story_at(database_url: str, now: datetime) -> tuple[dict, dict]:
    engine = db.create_engine(database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        async with db.session_scope(sessionmaker) as session:
            await load_demo(session, now=now)
        async with httpx.AsyncClient() as http:
            context = build_worker_context(
                Settings(database_url=database_url), sessionmaker=sessionmaker, http=http,
                clock=lambda: now,
            )  # fmt: skip
            await run_once(context)
        async with sessionmaker() as session:
            rows = await session.execute(
                select(Order.order_number, Alert.rule)
                .join(Alert, Alert.order_id == Order.id)
                .where(Alert.status != "resolved")
            )
            alerts: dict[str, set[str]] = {}
            for number, rule in rows:
                alerts.setdefault(number, set()).add(rule)
            statuses = dict(
                (
                    await session.execute(
                        select(Order.order_number, Leg.status)
                        .join(Shipment, Shipment.order_id == Order.id)
                        .join(Leg, Leg.shipment_id == Shipment.id)
                        .where(Leg.sequence == 1)
                    )
                ).all()
            )
        return alerts, statuses
    finally:
        await engine.dispose()


@pytest.mark.parametrize("now", DAYS, ids=lambda d: d.strftime("%a-%d"))
async def test_the_demo_tells_the_readmes_story_on_any_weekday(empty_database_url, now):
    from app import migrate

    migrate.upgrade(empty_database_url)

    alerts, statuses = await story_at(empty_database_url, now)

    for order_number, rules in EXPECTED_ALERTS.items():
        found = alerts.get(order_number, set()) - {"late"}  # promised dates pass as days go by
        assert found == rules, (order_number, alerts.get(order_number))
    assert statuses["FS-1003"] in {"accepted", "in_transit", "out_for_delivery"}, "moving"
    assert statuses["FS-1004"] == "delivered"
