"""How the carriers write times: local wall clock, separate offsets, compact dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def offset_text(local: datetime) -> str:
    """Returns the UTC offset as "-05:00"."""
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def wall_clock(local: datetime) -> str:
    """Returns the local time without an offset: "2026-11-24T09:15:00"."""
    return local.strftime("%Y-%m-%dT%H:%M:%S")


def with_offset(local: datetime) -> str:
    """Returns ISO 8601 local time with its offset: "2026-11-24T09:15:00-05:00"."""
    return wall_clock(local) + offset_text(local)


def zulu(at: datetime) -> str:
    """Returns the instant in UTC with a Z: "2026-11-24T14:15:00Z"."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
