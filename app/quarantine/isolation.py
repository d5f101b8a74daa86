"""Telling a member's own failure from an outage, so that only the first sets a member aside."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# Errors about the database connection or the process, never about the row being handled: the
# job stops and runs again later, and nothing is set aside (an outage must not fill the quarantine).
_OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError,  # includes deadlocks and serialization failures: retry, do not blame
    InterfaceError,
    PoolTimeout,
    ConnectionError,
    MemoryError,
)


def is_outage(error: BaseException) -> bool:
    """True when `error` says nothing about the member being handled."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _OUTAGES)


def describe_error(error: BaseException) -> str:
    """The error's type and first line, short enough to list for ops."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:500] if text else type(error).__name__
