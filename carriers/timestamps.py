from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


def parse_timestamp(value: str) -> datetime:
    """Returns the ISO 8601 value as written: aware when it carries an offset, naive otherwise.

    Raises ValueError for anything that is not an ISO 8601 date or date-time.
    """
    return datetime.fromisoformat(value.strip())


class LocalTimeResolver:
    """Gives naive carrier times the UTC offset that the same answer states elsewhere.

    Carriers write some times without an offset (FedEx's midnight "Picked up" scan, DHL
    eCommerce events) while other times in the same answer carry one. A naive time takes the
    offset of the aware time whose wall clock is closest to it: an exact match (FedEx repeats the
    pickup time in `dateAndTimes` with its offset) wins outright, otherwise the nearest scan is
    most likely in the same place and zone.
    """

    def __init__(self, references: Iterable[datetime]) -> None:
        self._references = [ref for ref in references if ref.utcoffset() is not None]

    def resolve(self, moment: datetime) -> datetime:
        """Returns `moment` unchanged when aware; otherwise with the nearest stated offset.

        With no offset anywhere in the answer the time is taken as UTC: the only assumption left
        that does not invent a zone, and at worst a few hours off.
        """
        if moment.utcoffset() is not None:
            return moment
        if not self._references:
            return moment.replace(tzinfo=UTC)
        nearest = min(self._references, key=lambda ref: abs(ref.replace(tzinfo=None) - moment))
        return moment.replace(tzinfo=nearest.tzinfo)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Returns the wait a Retry-After header asks for (seconds or HTTP date); never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return max(moment - now, timedelta(0))
