from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import exc as sqlalchemy_errors

from app.database_outage import describe_outage, is_database_outage


def sqlite_error(name: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


def wrapped(driver_error: Exception, **kwargs) -> sqlalchemy_errors.DBAPIError:
    kind = (
        sqlalchemy_errors.OperationalError
        if isinstance(driver_error, psycopg.OperationalError | sqlite3.OperationalError)
        else sqlalchemy_errors.DBAPIError
    )
    return kind("SELECT secret FROM t WHERE k = %(k)s", {"k": "hunter2"}, driver_error, **kwargs)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (wrapped(psycopg.OperationalError("server closed the connection unexpectedly")), True),
        (wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), True),
        (wrapped(psycopg.errors.TooManyConnections("too many clients")), True),
        (wrapped(psycopg.errors.ConnectionFailure("connection failure")), True),
        (wrapped(psycopg.InterfaceError("the connection is closed")), True),
        (wrapped(psycopg.DataError("cannot contain NUL (0x00) bytes")), False),
        (wrapped(psycopg.errors.QueryCanceled("statement timeout")), False),
        (wrapped(psycopg.errors.DeadlockDetected("deadlock detected")), False),
        (wrapped(psycopg.errors.UniqueViolation("duplicate key")), False),
        (wrapped(psycopg.errors.UndefinedTable("no such table")), False),
        (wrapped(psycopg.DataError("x"), connection_invalidated=True), True),
        (wrapped(sqlite_error("SQLITE_BUSY")), True),
        (wrapped(sqlite_error("SQLITE_CANTOPEN")), True),
        (wrapped(sqlite_error("SQLITE_ERROR")), False),
        (sqlalchemy_errors.TimeoutError("QueuePool limit reached"), True),
        (RuntimeError("a bug"), False),
    ],
)
def test_only_a_lost_or_unreachable_database_is_an_outage(error, outage):
    assert is_database_outage(error) is outage


def test_the_description_names_the_driver_error_but_not_the_sql_or_a_password():
    error = wrapped(
        psycopg.OperationalError(
            "connection to postgresql://app:hunter2@db:5432/x failed\nmore detail"
        )
    )

    described = describe_outage(error)

    assert described == "OperationalError: connection to postgresql://***@db:5432/x failed"
    assert "SELECT" not in described
