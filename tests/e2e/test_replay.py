"""A request whose transaction loses a lock race runs again, whole, with the same body; after
the last try the client gets 503 with Retry-After, never a 500 (app/replay.py)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app import db
from app.alerts import service as alerts_service
from app.audit.models import AuditEntry
from tests.e2e.alerts.test_alerts_api import seed_alerts


class DriverError(Exception):
    """What a driver raises, with the SQLSTATE PostgreSQL sent."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def lost_race(sqlstate: str = "40P01") -> OperationalError:
    return OperationalError("INSERT INTO audit_log ...", {}, DriverError(sqlstate))


@pytest.fixture
def notes_that_lose(monkeypatch):
    """add_note raises a lock-race error on its first `n` calls, then does its work; returns
    the notes each call was given."""
    real = alerts_service.add_note
    seen: list[str] = []

    def install(n: int, error: Exception | None = None) -> list[str]:
        async def losing(session, *, note, **kwargs):
            seen.append(note)
            if len(seen) <= n:
                await real(session, note=note, **kwargs)  # writes, then loses the race
                raise error or lost_race()
            return await real(session, note=note, **kwargs)

        monkeypatch.setattr(alerts_service, "add_note", losing)
        monkeypatch.setattr(db, "conflict_pause", lambda attempt: 0.0)
        return seen

    return install


async def note_count(session) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "alert.note")
    return (await session.execute(stmt)).scalar_one()


async def test_a_request_that_lost_a_deadlock_runs_again_and_its_write_lands_once(
    client, auth, session, clock, notes_that_lose
):
    (alert,) = await seed_alerts(session, clock, count=1)
    seen = notes_that_lose(1)

    response = await client.post(
        f"/v1/alerts/{alert.id}/notes", json={"note": "customer called"}, headers=auth("agent")
    )

    assert response.status_code == 200
    assert seen == ["customer called", "customer called"]  # the body, read again
    assert await note_count(session) == 1  # the lost try's note was rolled back
    assert [h["action"] for h in response.json()["history"]] == ["alert.note"]


async def test_a_request_that_keeps_losing_is_503_with_retry_after_and_stores_nothing(
    client, auth, session, clock, notes_that_lose
):
    (alert,) = await seed_alerts(session, clock, count=1)
    seen = notes_that_lose(db.CONFLICT_ATTEMPTS, lost_race("40001"))

    response = await client.post(
        f"/v1/alerts/{alert.id}/notes", json={"note": "customer called"}, headers=auth("agent")
    )

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("/transaction-conflict")
    assert len(seen) == db.CONFLICT_ATTEMPTS
    assert await note_count(session) == 0


async def test_any_other_database_error_is_not_replayed(app, auth, session, clock, notes_that_lose):
    (alert,) = await seed_alerts(session, clock, count=1)
    seen = notes_that_lose(1, lost_race("23505"))  # a unique violation says something is wrong

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            f"/v1/alerts/{alert.id}/notes", json={"note": "customer called"}, headers=auth("agent")
        )

    assert response.status_code == 500
    assert seen == ["customer called"]
