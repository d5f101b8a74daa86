"""The windows a label time and a promised delivery date must lie in.

A label time outside its window is refused: it is a mistake in the data, and the rules and the
reuse check do arithmetic on it. A promised date that is a "no date" placeholder or outside its
window is not refused (the label is what matters, and it must still be tracked): it is treated
as no promise, and the caller gets a warning saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.errors import FieldError

# A label may be stamped a little ahead of our clock; more than this is a mistake in the data.
LABEL_CLOCK_SKEW = timedelta(minutes=10)
DEFAULT_LABEL_MAX_AGE = timedelta(days=730)
DEFAULT_PROMISE_MAX_AHEAD = timedelta(days=365)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def is_placeholder_date(day: date) -> bool:
    """Dates upstream systems send for "no date": any day of year 9999, the minimum dates of
    common systems (0001-01-01, SQL Server's 1753-01-01), spreadsheet zero days (1899-12-30,
    1900-01-01) and the Unix epoch (a zero or missing timestamp turned into a date)."""
    return day.year == 9999 or day in _PLACEHOLDER_DAYS


_PLACEHOLDER_DAYS = frozenset(
    {date(1, 1, 1), date(1753, 1, 1), date(1899, 12, 30), date(1900, 1, 1), date(1970, 1, 1)}
)


def shift(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, held at the ends of the calendar instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


@dataclass(frozen=True, slots=True)
class DateWindows:
    """How old a label and how far ahead a promise may be, relative to the request's clock."""

    label_max_age: timedelta = DEFAULT_LABEL_MAX_AGE
    promise_max_ahead: timedelta = DEFAULT_PROMISE_MAX_AHEAD

    def label_bounds(self, now: datetime) -> tuple[datetime, datetime]:
        return shift(now, -self.label_max_age), shift(now, LABEL_CLOCK_SKEW)

    def promise_bounds(self, now: datetime) -> tuple[date, date]:
        earliest, _ = self.label_bounds(now)
        return earliest.date(), shift(now, self.promise_max_ahead).date()


def check_label_time(
    label_created_at: datetime, *, field: str, now: datetime, windows: DateWindows
) -> FieldError | None:
    """None when the label time lies in its window, else the error naming the window."""
    earliest, latest = windows.label_bounds(now)
    if earliest <= label_created_at <= latest:
        return None
    where = "is in the future" if label_created_at > latest else "is too old"
    return FieldError(
        field,
        f"{where}: a label time must lie between {_iso(earliest)} and {_iso(latest)} "
        f"(up to {windows.label_max_age.days} days ago)",
    )


def judge_promise(
    promised: date | None, *, field: str, now: datetime, windows: DateWindows
) -> FieldError | None:
    """None when the promise can be kept as sent, else the warning saying why it is dropped."""
    if promised is None:
        return None
    if is_placeholder_date(promised):
        return FieldError(
            field, f"{promised.isoformat()} is a 'no date' placeholder; treated as no promise"
        )
    earliest, latest = windows.promise_bounds(now)
    if earliest <= promised <= latest:
        return None
    return FieldError(
        field,
        f"{promised.isoformat()} is outside {earliest.isoformat()}..{latest.isoformat()} "
        f"(up to {windows.promise_max_ahead.days} days ahead); treated as no promise",
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
