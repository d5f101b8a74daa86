"""A job cut off by a database outage leaves one warning line; any other error still raises."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from app.scheduler import run_job
from app.wiring import ScheduledJob


def job_raising(error: Exception) -> ScheduledJob:
    async def poll_something(context: object) -> None:
        raise error

    return ScheduledJob(poll_something, every_seconds=lambda settings: 5.0)


async def test_an_outage_ends_the_run_with_one_warning_line(caplog):
    outage = OperationalError("SELECT 1", {}, Exception("terminating connection\ndetail"))
    with caplog.at_level(logging.WARNING, logger="app.scheduler"):
        assert await run_job(job_raising(outage), context=None) is None  # type: ignore[arg-type]

    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "poll_something stopped, the database is unavailable" in record.getMessage()
    assert record.exc_info is None


async def test_any_other_error_is_raised_for_the_scheduler_to_log():
    with pytest.raises(ValueError, match="a bug"):
        await run_job(job_raising(ValueError("a bug")), context=None)  # type: ignore[arg-type]
