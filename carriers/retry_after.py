from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# RFC 9110 section 5.6.7: asctime-date ("Sun Nov  6 08:49:37 1994") is one of the three HTTP-date
# forms a recipient must accept; it names no zone because it is always GMT.
_ASCTIME = re.compile(r"^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$")


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Returns how long a Retry-After header asks to wait (never negative); None if unreadable.

    RFC 9110 section 10.2.3 allows delay-seconds or an HTTP-date; `now` must be timezone-aware.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        if not _ASCTIME.match(text):
            return None  # "-0000" or no zone at all: not an HTTP-date, whose zone is always GMT
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
