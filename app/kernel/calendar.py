"""Business days as carriers count them, so a deadline never opens on a weekend or a holiday.

Counting rule, used by every business-day deadline:

- Business day 0 is the local date of `start` (in the calendar's time zone) when that date is a
  business day and `start` is before the pickup cutoff; otherwise it is the next business day.
  A label printed at 18:00 on Thursday is treated like one printed on Friday morning.
- `add_business_days(start, n)` is the instant business day n *ends*. Nothing happens on the
  non-business days that follow it, so that instant is 00:00 local on the next business day:
  an alert therefore opens at the first minute of a business day, never on a Saturday or on
  25 December.
- `business_days_between(start, end)` counts the business days after day 0 that have fully
  ended by `end`: it is the largest n with `add_business_days(start, n) <= end` (0 if none).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

_SATURDAY = 5
# A calendar with no business day in a whole year is a configuration error, not a long wait.
_MAX_SCAN_DAYS = 366


@functools.lru_cache(maxsize=256)
def _holiday_dates(
    country: str, subdivision: str | None, year: int, worked: frozenset[str] = frozenset()
) -> frozenset[date]:
    # observed=True: a Saturday holiday observed on Friday closes the Friday as well.
    table = holidays.country_holidays(country, subdiv=subdivision, years=year, observed=True)
    return frozenset(
        day
        for day, names in table.items()
        if not all(_base_name(name) in worked for name in names.split("; "))
    )


def _base_name(name: str) -> str:
    return name.removesuffix(" (observed)").strip()


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Which days a carrier works, in which time zone, and its daily pickup cutoff."""

    country: str = "US"
    subdivision: str | None = None
    timezone: str = "America/New_York"
    pickup_cutoff: time = time(17, 0)
    extra_holidays: frozenset[date] = frozenset()
    # Public holidays on which this carrier picks up and scans anyway (holiday names).
    worked_holidays: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        try:
            _holiday_dates(self.country, self.subdivision, 2000)
        except NotImplementedError as exc:
            raise ValueError(f"no holiday calendar for {self.country}/{self.subdivision}") from exc
        if self.pickup_cutoff.tzinfo is not None:
            raise ValueError("pickup_cutoff is a local wall-clock time and takes no tzinfo")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_business_day(self, d: date) -> bool:
        """True on weekdays that are neither a (observed) public holiday nor an extra holiday."""
        return _is_business_day(self, d)

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after `d`."""
        return _next_business_day(self, d)

    def local(self, at: datetime) -> datetime:
        """`at` in the calendar's time zone; `at` must be timezone-aware."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("business-day arithmetic needs a timezone-aware datetime")
        return at.astimezone(self.tz)

    def start_of_day(self, d: date) -> datetime:
        """00:00 local on `d`, as an aware datetime in the calendar's zone."""
        return datetime.combine(d, time(0), tzinfo=self.tz)

    def first_counting_day(self, start: datetime) -> date:
        """Business day 0 for a clock started at `start` (see the module docstring)."""
        start_on = self.local(start).date()
        # Compare instants, not wall-clock times, so the rule stays monotone across DST changes.
        cutoff_at = datetime.combine(start_on, self.pickup_cutoff, tzinfo=self.tz)
        if self.is_business_day(start_on) and start < cutoff_at:
            return start_on
        return self.next_business_day(start_on)

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """The instant business day n after `start` ends: 00:00 local of the next business day."""
        if n < 0:
            raise ValueError("n must be zero or positive")
        day = self.first_counting_day(start)
        for _ in range(n):
            day = self.next_business_day(day)
        return self.start_of_day(self.next_business_day(day))

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Business days after day 0 that fully ended by `end`; inverse of add_business_days."""
        self.local(end)
        day = self.next_business_day(self.first_counting_day(start))
        completed = -1
        while self.start_of_day(day) <= end:
            completed += 1
            day = self.next_business_day(day)
        return max(completed, 0)


# Pure functions of a frozen calendar and a date, asked millions of times by a sweep: memoized.
@functools.lru_cache(maxsize=1 << 16)
def _is_business_day(calendar: BusinessCalendar, d: date) -> bool:
    if d.weekday() >= _SATURDAY or d in calendar.extra_holidays:
        return False
    return d not in _holiday_dates(
        calendar.country, calendar.subdivision, d.year, calendar.worked_holidays
    )


@functools.lru_cache(maxsize=1 << 16)
def _next_business_day(calendar: BusinessCalendar, d: date) -> date:
    for offset in range(1, _MAX_SCAN_DAYS + 1):
        candidate = d + timedelta(days=offset)
        if _is_business_day(calendar, candidate):
            return candidate
    raise ValueError(f"no business day within a year after {d.isoformat()}")


@dataclass(frozen=True, slots=True)
class CalendarTable:
    """The business calendar of each carrier, with a default for carriers not listed."""

    default: BusinessCalendar = field(default_factory=BusinessCalendar)
    by_carrier: Mapping[str, BusinessCalendar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frozen = MappingProxyType({k.lower(): v for k, v in self.by_carrier.items()})
        object.__setattr__(self, "by_carrier", frozen)

    def for_carrier(self, carrier: str) -> BusinessCalendar:
        """The carrier's own calendar, or the default one."""
        return self.by_carrier.get(carrier.lower(), self.default)


# UPS, FedEx and DHL pick up on the federal holidays USPS keeps closed, except these six-ish:
# they close on New Year's Day, Memorial Day, Independence Day, Labor Day, Thanksgiving and
# Christmas (their published holiday schedules), and work the rest.
PRIVATE_CARRIER_WORKED_HOLIDAYS = frozenset(
    {
        "Martin Luther King Jr. Day",
        "Washington's Birthday",
        "Juneteenth National Independence Day",
        "Columbus Day",
        "Veterans Day",
    }
)


def default_calendars() -> CalendarTable:
    """USPS keeps every federal holiday; UPS, FedEx and DHL only their six."""
    private = BusinessCalendar(worked_holidays=PRIVATE_CARRIER_WORKED_HOLIDAYS)
    return CalendarTable(
        default=BusinessCalendar(), by_carrier={"ups": private, "fedex": private, "dhl": private}
    )


_CALENDAR_KEYS = {
    "country",
    "subdivision",
    "timezone",
    "pickup_cutoff",
    "extra_holidays",
    "worked_holidays",
}


def build_calendar_table(document: Mapping[str, object]) -> CalendarTable:
    """The default calendars with a decoded FIRSTSCAN_CARRIER_CALENDARS over them; raises
    ValueError naming the entry.

    Shape: {"ups": {"timezone": "America/Chicago", "pickup_cutoff": "18:30",
    "extra_holidays": ["2026-12-24"], "worked_holidays": ["Veterans Day"]}, "*": {...}}.
    """
    base = default_calendars()
    default = _calendar(base.default, document.get("*", {}), "*")
    by_carrier = {
        carrier: _calendar(base.by_carrier.get(carrier, default), entry, carrier)
        for carrier, entry in document.items()
        if carrier != "*"
    }
    untouched = {c: cal for c, cal in base.by_carrier.items() if c not in by_carrier}
    return CalendarTable(default=default, by_carrier={**untouched, **by_carrier})


def _calendar(base: BusinessCalendar, entry: object, name: str) -> BusinessCalendar:
    if not isinstance(entry, dict) or not set(entry) <= _CALENDAR_KEYS:
        raise ValueError(f"{name}: use only the keys {', '.join(sorted(_CALENDAR_KEYS))}")
    changes: dict[str, object] = {}
    try:
        for key, value in entry.items():
            if key == "pickup_cutoff":
                changes[key] = time.fromisoformat(value)
            elif key == "extra_holidays":
                changes[key] = frozenset(date.fromisoformat(d) for d in value)
            elif key == "worked_holidays":
                changes[key] = frozenset(str(n) for n in value)
            else:
                changes[key] = value
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None
