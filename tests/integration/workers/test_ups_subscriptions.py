"""UPS Track Alert subscriptions against the mock carrier over real HTTP: active UPS legs are
subscribed at most 100 a request, the refused number fails for good, and every subscription is
renewed before its 14 days run out."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.tracking.jobs import subscribe_legs
from app.tracking.models import CarrierSubscription
from tests.factories import ups_number
from tests.integration.workers.conftest import POSTGRES_ONLY, seed_legs

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
LISTENER = "https://shop.example"
SUBSCRIBE_PATH = "POST /ups/api/track/v1/subscription/standard/package"
NOT_A_1Z = "1ZSHORT"  # not a Track Alert number: UPS lists it as invalid


async def ups_asked(worker) -> int:
    return (await subscribe_legs(worker.context)).get("ups", 0)


async def subscription_calls(mock_carrier) -> int:
    stats = await mock_carrier.stats()
    return stats["carriers"].get("ups", {}).get("by_path", {}).get(SUBSCRIBE_PATH, 0)


async def subscriptions_by_state(sessionmaker) -> Counter[str]:
    async with sessionmaker() as session:
        states = (await session.execute(select(CarrierSubscription.state))).scalars()
        return Counter(states)


@POSTGRES_ONLY
async def test_ups_legs_are_subscribed_a_hundred_a_request_and_renewed_before_day_14(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    numbers = [ups_number() for _ in range(250)]
    await seed_legs(
        committing_sessionmaker,
        [("ups", n) for n in [*numbers, NOT_A_1Z]],
        now=NOW,
    )
    worker = stepped_worker(
        NOW, push_listener_base_url=LISTENER, ups_push_credential="given-to-ups"
    )

    # UPS has no quota: one run asks for every due number, 100 a request.
    asked = [await ups_asked(worker) for _ in range(2)]

    assert asked == [251, 0]
    assert await subscription_calls(mock_carrier) == 3
    subscribed = await mock_carrier._get("/_mock/subscriptions")
    assert set(subscribed) == set(numbers)
    assert {s["url"] for s in subscribed.values()} == {LISTENER + "/v1/push/ups"}
    assert await subscriptions_by_state(committing_sessionmaker) == {"active": 250, "failed": 1}
    async with committing_sessionmaker() as session:
        refused = await session.scalar(
            select(CarrierSubscription).where(CarrierSubscription.subject == NOT_A_1Z)
        )
        expiries = set(
            (await session.execute(select(CarrierSubscription.expires_at))).scalars()
        ) - {None}
    assert (refused.state, refused.next_attempt_at) == ("failed", None)
    assert expiries == {NOW + timedelta(days=14)}

    worker.clock.now = NOW + timedelta(days=11, hours=23)  # more than 2 days left: not yet
    assert await ups_asked(worker) == 0
    worker.clock.now = NOW + timedelta(days=12, minutes=1)  # within 2 days of the end
    renewed = [await ups_asked(worker) for _ in range(2)]

    assert renewed == [250, 0]
    async with committing_sessionmaker() as session:
        expiries = set(
            (await session.execute(select(CarrierSubscription.expires_at))).scalars()
        ) - {None}
    assert expiries == {worker.clock.now + timedelta(days=14)}


@POSTGRES_ONLY
async def test_without_the_listener_url_nothing_is_subscribed(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    await seed_legs(committing_sessionmaker, [("ups", ups_number())], now=NOW)
    worker = stepped_worker(NOW, ups_push_credential="given-to-ups")

    assert await ups_asked(worker) == 0
    assert await subscription_calls(mock_carrier) == 0
    assert await subscriptions_by_state(committing_sessionmaker) == {}
