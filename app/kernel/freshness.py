"""When a carrier's silence can be trusted: only after a good poll recent enough. One definition,
used by the rules on datetimes and by the set-based alert opening on columns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

_R_co = TypeVar("_R_co", covariant=True)


class _Ordered(Protocol[_R_co]):
    def __ge__(self, other: Any, /) -> _R_co: ...


def fresh_since(at: datetime, max_poll_age: timedelta) -> datetime:
    """The oldest good poll that still makes a carrier's silence at `at` trustworthy."""
    return at - max_poll_age


def polled_since(last_successful_poll_at: _Ordered[_R_co], since: object) -> _R_co:
    """The staleness guard: the leg's last good poll is at or after `since`. On datetimes in
    the rules, on columns in the set-based opening (app.alerts.opening.fresh_enough)."""
    return last_successful_poll_at >= since
