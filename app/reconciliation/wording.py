"""How findings name carriers, dates and spans of time for a support agent. Locale-independent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.kernel.calendar import BusinessCalendar

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_QUOTE = 160


def day(at: datetime, calendar: BusinessCalendar, now: datetime) -> str:
    """'Thu 17 Dec' in the calendar's zone; the year is added when it is not the current one."""
    local = calendar.local(at)
    text = f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"
    if local.year != calendar.local(now).year:
        text += f" {local.year}"
    return text


def date_words(on: date, calendar: BusinessCalendar, now: datetime) -> str:
    """A calendar date as 'Thu 24 Dec', like `day`."""
    return day(calendar.start_of_day(on), calendar, now)


def moment(at: datetime, calendar: BusinessCalendar, now: datetime) -> str:
    """'Thu 17 Dec 14:10 EST' in the calendar's zone."""
    local = calendar.local(at)
    return f"{day(at, calendar, now)} {local:%H:%M} {local.tzname()}"


def scan_moment(at: datetime, now: datetime) -> str:
    """A scan's time as the carrier recorded it, in the scan's own zone: 'Sat 28 Nov 01:07
    UTC-07:00'. Every place that shows a scan's time uses this rule (the console's timeline too),
    so the same scan never reads as two different times."""
    offset = at.utcoffset() or timedelta(0)
    sign, minutes = ("+" if offset >= timedelta(0) else "-"), abs(int(offset.total_seconds())) // 60
    text = f"{_WEEKDAYS[at.weekday()]} {at.day} {_MONTHS[at.month - 1]}"
    if at.year != now.astimezone(at.tzinfo).year:
        text += f" {at.year}"
    return f"{text} {at:%H:%M} UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_LONG_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LONG_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def long_date(on: date, today: date) -> str:
    """'Friday 27 November' (with the year when it is not this year): the words customers read."""
    text = f"{_LONG_WEEKDAYS[on.weekday()]} {on.day} {_LONG_MONTHS[on.month - 1]}"
    return text if on.year == today.year else f"{text} {on.year}"


# The parcel's story in one sentence, word for word the same for ops (the alert's explanation
# starts with it), agents (the console) and the customer (the status page and email): one truth,
# told once. No tracking numbers, so the customer may read it.
def handoff_sentence(giver: str, taker: str, handed_on: str) -> str:
    return f"{giver} handed the parcel to {taker} on {handed_on}; {taker} has not scanned it since."


def unscanned_label_sentence(carrier: str, label_on: str, *, known: bool = True) -> str:
    if not known:
        return f"A {carrier} label was created on {label_on}, but {carrier} does not know it yet."
    return (
        f"{carrier} has had the electronic label since {label_on} but has not scanned the parcel."
    )


def business_days(n: int) -> str:
    return f"{n} business day" if n == 1 else f"{n} business days"


def business_days_passed(n: int) -> str:
    """'1 business day has passed', '3 business days have passed'."""
    return f"{business_days(n)} {'has' if n == 1 else 'have'} passed"


_STATUS_WORDS = {
    "label_created": "a label only, never scanned",
    "not_found": "unknown to the carrier",
    "unknown": "in a state firstscan does not recognise",
}


def status_words(status: str | None) -> str:
    """'in transit' for in_transit; 'not yet polled' when firstscan has no answer yet."""
    if status is None:
        return "not yet polled"
    return _STATUS_WORDS.get(status, status.replace("_", " "))


def span(duration: timedelta) -> str:
    """'6 h 12 min', '2 days 3 h': precise enough for an outage, no seconds."""
    minutes = max(int(duration.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day" if days == 1 else f"{days} days")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def quote(description: str) -> str:
    """The carrier's own words in quotes, whitespace collapsed and long text shortened."""
    words = " ".join(description.split())
    if len(words) > _MAX_QUOTE:
        words = words[: _MAX_QUOTE - 3].rstrip() + "..."
    return f'"{words}"' if words else "(no details given)"


def iso(at: datetime) -> str:
    """Evidence timestamps: ISO 8601 in UTC."""
    return at.astimezone(UTC).isoformat()
