"""Carrier scan times: the wall clock where the scan happened, with its UTC offset given beside it
(USPS `GMTOffset`, UPS `gmtOffset`), only implied by a separate GMT time, or not given at all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

_OFFSET = re.compile(r"^([+-])(\d{1,2}):?(\d{2})$")
_QUARTER_HOUR = timedelta(minutes=15)


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


def fill_missing_offsets(offsets: Sequence[timedelta | None]) -> list[timedelta | None]:
    """Returns the offsets with each gap filled from the nearest known one (the earlier on a tie):
    scans next to each other in an answer are usually in the same time zone."""
    filled = list(offsets)
    for index, offset in enumerate(offsets):
        if offset is not None:
            continue
        for distance in range(1, len(offsets)):
            near = [i for i in (index - distance, index + distance) if 0 <= i < len(offsets)]
            known = [offsets[i] for i in near if offsets[i] is not None]
            if known:
                filled[index] = known[0]
                break
    return filled
