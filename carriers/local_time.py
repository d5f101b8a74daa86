"""Carrier scan times: the wall clock where the scan happened, with its UTC offset written into the
time (FedEx, DHL), given beside it (USPS `GMTOffset`, UPS `gmtOffset`), only implied by a separate
GMT time, or not given at all. A time without an offset takes the offset of the nearest time in
the same answer that has one (LocalTimeResolver), for all four carriers alike."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo

_OFFSET = re.compile(r"^([+-])(\d{1,2}):?(\d{2})$")
_QUARTER_HOUR = timedelta(minutes=15)


def parse_timestamp(value: str) -> datetime:
    """Returns the ISO 8601 value as written: aware when it carries an offset, naive otherwise.

    Raises ValueError for anything that is not an ISO 8601 date or date-time.
    """
    return datetime.fromisoformat(value.strip())


def parse_utc_offset(text: str | None) -> timedelta | None:
    """Returns the offset in "-05:00", "-5:00" or "-0500"; None if absent or unreadable."""
    match = _OFFSET.match(text.strip()) if text else None
    if match is None:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))


def offset_between(local: datetime, gmt: datetime) -> timedelta:
    """Returns local minus GMT (both naive) rounded to 15 minutes: carriers truncate one of the
    two to the minute, and every real UTC offset is a multiple of 15 minutes."""
    return round((local - gmt) / _QUARTER_HOUR) * _QUARTER_HOUR


class LocalTimeResolver:
    """Gives naive carrier times the UTC offset that the same answer states elsewhere.

    Carriers write some times without an offset (FedEx's midnight "Picked up" scan, DHL
    eCommerce events, a USPS or UPS scan without its GMT fields) while other times in the same
    answer carry one. A naive time takes the offset of the stated time whose wall clock is
    closest to it: an exact match (FedEx repeats the pickup time in `dateAndTimes` with its
    offset) wins outright, otherwise the nearest scan is most likely in the same place and zone.
    On a tie the reference listed first wins, so callers pass references in the answer's order.
    """

    def __init__(self, references: Iterable[datetime]) -> None:
        self._references = [ref for ref in references if ref.utcoffset() is not None]

    @property
    def stated(self) -> bool:
        """Tells whether the answer states any offset at all."""
        return bool(self._references)

    def zone_near(self, wall_clock: datetime) -> tzinfo:
        """Returns the zone of the stated time nearest to the naive `wall_clock`; UTC if none.

        With no offset anywhere in the answer the time is taken as UTC: the only assumption left
        that does not invent a zone, and at worst a few hours off.
        """
        if not self._references:
            return UTC
        nearest = min(self._references, key=lambda ref: abs(ref.replace(tzinfo=None) - wall_clock))
        zone = nearest.tzinfo
        assert zone is not None  # references all carry an offset
        return zone

    def resolve(self, moment: datetime) -> datetime:
        """Returns `moment` unchanged when aware; otherwise with the nearest stated offset."""
        if moment.utcoffset() is not None:
            return moment
        return moment.replace(tzinfo=self.zone_near(moment))
