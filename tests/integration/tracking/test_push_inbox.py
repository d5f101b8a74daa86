"""The push inbox survives a worker that dies between receiving and processing: the push stays
pending, a new worker records it, and its events are stored once. Real commits on a fresh
database of each backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from app.main import create_app
from app.settings import Settings
from app.shipments.models import Leg
from app.tracking import pushes, recording
from app.tracking.cadence import CADENCE
from app.tracking.inbox import MAX_ATTEMPTS
from app.tracking.judging import JudgingPolicy
from tests.conftest import FixedClock
from tests.support.push_inbox import count_events, create_ups_leg, process_inbox, stored_pushes
from tests.unit.carriers.payloads import payload_json

CREDENTIAL = "ups-credential-given-at-subscription"
NUMBER = "1Z204W4R0308071865"
NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def leg_id(committing_sessionmaker) -> int:
    return await create_ups_leg(committing_sessionmaker, NUMBER, label_at=NOW - timedelta(days=3))


async def receive(committing_sessionmaker, empty_database_url, clock) -> httpx.Response:
    """One UPS Track Alert push through the API, on its own connection; the request commits."""
    settings = Settings(database_url=empty_database_url, ups_push_credential=CREDENTIAL)
    app = create_app(
        settings,
        engine=committing_sessionmaker.kw["bind"],
        sessionmaker=committing_sessionmaker,
        clock=clock,
    )
    body = json.dumps(payload_json("ups", "push_origin_scan.json") | {"trackingNumber": NUMBER})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        return await client.post("/v1/push/ups", content=body, headers={"credential": CREDENTIAL})


async def test_a_worker_killed_before_it_commits_loses_nothing(
    committing_sessionmaker, empty_database_url, clock, leg_id
):
    assert (await receive(committing_sessionmaker, empty_database_url, clock)).status_code == 200
    async with committing_sessionmaker() as dying:
        [push] = await stored_pushes(dying)
        outcome = await pushes.process_push(
            dying, push.id, now=NOW, policy=JudgingPolicy(cadence=CADENCE)
        )
        assert outcome == pushes.PushOutcome(numbers=1, unknown_numbers=0, events_stored=1)
        await dying.rollback()  # the process dies here: nothing it did is committed

    assert await process_inbox(committing_sessionmaker, clock) == 1  # a new worker

    async with committing_sessionmaker() as session:
        [push] = await stored_pushes(session)
        assert (push.status, push.events_stored) == ("processed", 1)
        assert await count_events(session) == 1
        leg = await session.scalar(select(Leg).where(Leg.id == leg_id))
        assert leg.status == "accepted"


async def test_a_push_whose_recording_raises_stays_pending_and_is_done_on_the_next_run(
    committing_sessionmaker, empty_database_url, clock, leg_id, monkeypatch
):
    await receive(committing_sessionmaker, empty_database_url, clock)
    real = recording.record_outcomes

    async def crash(*args, **kwargs):
        raise RuntimeError("the connection dropped mid-write")

    monkeypatch.setattr(recording, "record_outcomes", crash)
    assert await process_inbox(committing_sessionmaker, clock) == 0
    async with committing_sessionmaker() as session:
        [push] = await stored_pushes(session)
        assert (push.status, push.attempts) == ("pending", 1)
        assert "the connection dropped mid-write" in push.last_error
        assert await count_events(session) == 0

    monkeypatch.setattr(recording, "record_outcomes", real)
    assert await process_inbox(committing_sessionmaker, clock) == 1
    assert await process_inbox(committing_sessionmaker, clock) == 0  # done once, never again

    async with committing_sessionmaker() as session:
        [push] = await stored_pushes(session)
        assert (push.status, push.attempts, push.last_error) == ("processed", 2, None)
        assert await count_events(session) == 1


async def test_a_push_that_keeps_raising_fails_after_the_last_attempt(
    committing_sessionmaker, empty_database_url, clock, leg_id, monkeypatch
):
    await receive(committing_sessionmaker, empty_database_url, clock)

    async def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(recording, "record_outcomes", crash)
    for _ in range(MAX_ATTEMPTS):
        await process_inbox(committing_sessionmaker, clock)

    async with committing_sessionmaker() as session:
        [push] = await stored_pushes(session)
    assert (push.status, push.attempts, push.processed_at) == (
        "failed",
        MAX_ATTEMPTS,
        NOW,
    )
