"""A `firstscan worker` SIGKILLed while its calls are in flight: its leases run out, another
worker takes every leg of the batch, and nothing is lost or stored twice."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app import db, migrate
from app.shipments.models import Leg
from app.tracking.models import LegEvent
from carriers.sandbox.numbering import build_number
from tests.integration.workers.conftest import POSTGRES_ONLY, seed_legs, wait_until
from tests.support.mock_process import reported_event_keys

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

LEGS = 60
LEASE_SECONDS = 10  # the shortest lease the settings allow
CLAIM_SIZE = 20
SLOW_CARRIER_MS = 2000
SETTINGS = {
    "lease_seconds": LEASE_SECONDS,
    "poll_claim_size": CLAIM_SIZE,
    "carrier_limits": json.dumps({"usps": {"per_second": 100, "per_hour": None}}),
}


@pytest.fixture
async def sessionmaker(empty_database_url):
    migrate.upgrade(empty_database_url)
    engine = db.create_engine(empty_database_url, pool_size=2)
    yield db.create_sessionmaker(engine)
    await engine.dispose()


async def leases_of(sessionmaker, pid: int) -> dict[int, datetime]:
    """Leg id -> lease end, for the legs the worker with this pid holds."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Leg.id, Leg.lease_until).where(Leg.lease_owner.like(f"%:{pid}:%"))
        )
    return dict(rows.all())


async def all_polled(sessionmaker) -> bool:
    async with sessionmaker() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(Leg)
            .where(Leg.last_polled_at.is_(None) | Leg.lease_owner.is_not(None))
        )
    return waiting == 0


async def kill_mid_batch(sessionmaker, fleet, mock_carrier) -> dict[int, datetime]:
    """Starts a worker and SIGKILLs it while a claimed batch's calls are in flight; returns the
    leases it left behind."""
    doomed = await fleet.start(**SETTINGS)

    async def mid_batch() -> bool:
        held = await leases_of(sessionmaker, doomed.pid)
        in_flight = (await mock_carrier.traffic())["in_flight"].get("usps", 0)
        return len(held) >= CLAIM_SIZE and in_flight >= CLAIM_SIZE // 2

    await wait_until(mid_batch, seconds=40, what="a batch in flight", every=0.05, fleet=fleet)
    assert await doomed.kill() == -signal.SIGKILL
    return await leases_of(sessionmaker, doomed.pid)


async def test_a_sigkilled_workers_batch_is_polled_by_another_after_its_lease_ends(
    sessionmaker, fleet, mock_carrier
):
    numbers = [("usps", build_number("usps", 2_000_000 + i)) for i in range(LEGS)]
    await seed_legs(sessionmaker, numbers, now=datetime.now(UTC))
    await mock_carrier.configure(latency_ms=SLOW_CARRIER_MS)
    held = await kill_mid_batch(sessionmaker, fleet, mock_carrier)
    await mock_carrier.configure(latency_ms=0)

    survivor = await fleet.start(**SETTINGS)
    await wait_until(lambda: all_polled(sessionmaker), seconds=45, what="every leg polled")
    takeovers = (await survivor.metrics())[("firstscan_lease_takeovers_total", ())]
    await fleet.stop_all()

    assert takeovers == len(held) >= CLAIM_SIZE
    async with sessionmaker() as session:
        legs = {leg.id: leg for leg in (await session.execute(select(Leg))).scalars()}
        events = (await session.execute(select(LegEvent.leg_id, LegEvent.dedupe_key))).all()
    assert all(legs[leg_id].last_polled_at >= lease_until for leg_id, lease_until in held.items())
    asked = await mock_carrier.asked()
    for leg_id, lease_until in held.items():
        times = asked[("usps", legs[leg_id].tracking_number)]
        # At most the dead worker's own request (answered to no one), then one after the lease.
        assert len([t for t in times if t >= lease_until.timestamp()]) == 1
        assert len([t for t in times if t < lease_until.timestamp()]) <= 1
    others = [leg for leg_id, leg in legs.items() if leg_id not in held]
    assert all(len(asked[("usps", leg.tracking_number)]) == 1 for leg in others)
    # Nothing lost, nothing twice: each leg holds exactly the scans the carrier reports.
    now = datetime.now(UTC)
    stored: dict[int, list[str]] = {leg_id: [] for leg_id in legs}
    for leg_id, key in events:
        stored[leg_id].append(key)
    assert {leg_id: sorted(keys) for leg_id, keys in stored.items()} == {
        leg.id: sorted(reported_event_keys("usps", leg.tracking_number, now))
        for leg in legs.values()
    }
