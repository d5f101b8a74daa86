"""When the database goes away mid-request: 503 with Retry-After instead of a 500.

A connection refused, reset or killed, a server shutting down or refusing new connections, or a
pool with no free connection in time: the request could not be served now and may be repeated
(its transaction rolled back whole). Callers get a 503 problem document (pages: a 503 page),
and the log gets one warning naming the route and the driver's reason, never the SQL, its
parameters or a URL's password. Any other database error is a bug and stays a 500.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Mapping

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import exc as sqlalchemy_errors

from app.errors import problem_response, route_template

logger = logging.getLogger("app.database_outage")

RETRY_AFTER_SECONDS = 5
# SQLSTATEs that say the server is going or gone, not that the statement was wrong: class 08
# (connection exception), admin/crash shutdown, starting up, too many connections.
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_SQLITE_OUTAGES = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN"})
_URL_CREDENTIALS = re.compile(r"://[^/@\s]*@")

PageRenderer = Callable[[Request], Response]


def is_database_outage(error: BaseException) -> bool:
    """True when `error` says the database could not be reached or kept, not that SQL failed."""
    if isinstance(error, sqlalchemy_errors.TimeoutError):  # no pooled connection in time
        return True
    if not isinstance(error, sqlalchemy_errors.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    driver_error = error.orig
    if isinstance(driver_error, psycopg.InterfaceError):  # "the connection is closed"
        return True
    if isinstance(driver_error, psycopg.OperationalError):
        sqlstate = driver_error.sqlstate
        # No SQLSTATE: the client library itself lost or never got the connection.
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _OUTAGE_SQLSTATES
    if isinstance(driver_error, sqlite3.OperationalError):
        return getattr(driver_error, "sqlite_errorname", None) in _SQLITE_OUTAGES
    return False


def describe_outage(error: BaseException) -> str:
    """One line for the log: the driver's error class, SQLSTATE and first line of its message
    (never SQLAlchemy's text, which carries the statement and its parameters)."""
    cause = getattr(error, "orig", None) or error
    message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    message = _URL_CREDENTIALS.sub("://***@", message)[:200]
    sqlstate = getattr(cause, "sqlstate", None)
    code = f" {sqlstate}" if sqlstate else ""
    return f"{type(cause).__name__}{code}: {message}"


def install_outage_handler(app: FastAPI, *, pages: Mapping[str, PageRenderer]) -> None:
    """A 503 for outages; `pages` maps a path prefix ('/track') to the page it answers with."""

    async def answer_outage(request: Request, error: Exception) -> Response:
        if not is_database_outage(error):
            raise error  # a bug: on to the 500 handler
        logger.warning(
            "database unavailable during %s %s: %s",
            request.method,
            route_template(request),
            describe_outage(error),
        )
        response = _outage_response(request, pages)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    app.add_exception_handler(sqlalchemy_errors.DBAPIError, answer_outage)
    app.add_exception_handler(sqlalchemy_errors.TimeoutError, answer_outage)


def _outage_response(request: Request, pages: Mapping[str, PageRenderer]) -> Response:
    path = request.url.path
    for prefix, render in pages.items():
        if path == prefix or path.startswith(prefix + "/"):
            return render(request)
    return problem_response(
        status=503,
        slug="database-unavailable",
        title="Service unavailable",
        detail="The database is not reachable right now; try again shortly.",
    )
