from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


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
        return None  # an HTTP-date is always GMT; a zone-less one is not a valid header
    return max(when - now, timedelta(0))
