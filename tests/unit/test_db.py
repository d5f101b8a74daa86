"""Which database errors mean "run it again", and the job-side retry (app/db.py)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from app import db


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def sqlite_error(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


def wrapped(orig: Exception, kind: type[Exception] = OperationalError) -> Exception:
    return kind("UPDATE alerts ...", {}, orig)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (wrapped(DriverError("40P01")), True),  # deadlock_detected
        (wrapped(DriverError("40001")), True),  # serialization_failure
        (wrapped(DriverError("23505"), IntegrityError), False),  # unique_violation
        (wrapped(DriverError("57P01")), False),  # admin_shutdown: an outage, not a race
        (wrapped(sqlite_error(5)), True),  # SQLITE_BUSY
        (wrapped(sqlite_error(517)), True),  # SQLITE_BUSY_SNAPSHOT
        (wrapped(sqlite_error(6)), True),  # SQLITE_LOCKED
        (wrapped(sqlite_error(1)), False),  # SQLITE_ERROR
        (ValueError("40P01"), False),
    ],
    ids=lambda value: str(value)[:30] if isinstance(value, Exception) else str(value),
)
def test_only_lock_races_are_transient(error, transient):
    assert db.is_transient_conflict(error) is transient


def test_a_lock_race_wrapped_in_another_error_is_still_transient():
    error = RuntimeError("the batch failed")
    error.__cause__ = wrapped(DriverError("40P01"))

    assert db.is_transient_conflict(error)


def test_the_pause_grows_and_is_never_negative():
    pauses = [db.conflict_pause(attempt) for attempt in (1, 2, 3) for _ in range(200)]
    assert min(pauses) >= 0
    assert max(pauses[:200]) <= db.CONFLICT_PAUSE_SECONDS * 2
    assert max(pauses[400:]) <= db.CONFLICT_PAUSE_SECONDS * 8


@pytest.fixture
def no_pause(monkeypatch):
    monkeypatch.setattr(db, "conflict_pause", lambda attempt: 0.0)


def losing(times: int, error: Exception):
    calls: list[int] = []

    @db.retry_on_conflict
    async def unit_of_work(value: int) -> int:
        calls.append(value)
        if len(calls) <= times:
            raise error
        return value * 2

    return unit_of_work, calls


async def test_a_unit_of_work_that_lost_a_race_runs_again(no_pause, caplog):
    work, calls = losing(db.CONFLICT_ATTEMPTS - 1, wrapped(DriverError("40P01")))

    assert await work(21) == 42
    assert calls == [21] * db.CONFLICT_ATTEMPTS
    assert len([r for r in caplog.records if "lost a lock race" in r.getMessage()]) == 2


async def test_a_unit_of_work_that_keeps_losing_raises_after_the_last_try(no_pause):
    race = wrapped(DriverError("40001"))
    work, calls = losing(db.CONFLICT_ATTEMPTS, race)

    with pytest.raises(OperationalError) as raised:
        await work(1)
    assert raised.value is race
    assert len(calls) == db.CONFLICT_ATTEMPTS


async def test_any_other_error_is_raised_at_once(no_pause):
    work, calls = losing(1, wrapped(DriverError("23505"), IntegrityError))

    with pytest.raises(IntegrityError):
        await work(1)
    assert calls == [1]
