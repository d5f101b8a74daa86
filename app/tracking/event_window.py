"""The times a carrier event may carry (pure). A scan stamped outside them (a carrier's "no date"
placeholder such as 9999-12-31, a zeroed clock) is dropped and counted, never stored: date
arithmetic on it overflows in the rules, and no alert may rest on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from carriers.types import TrackingSnapshot

# Before any label firstscan can track; carriers keep tracking for months, not decades.
EARLIEST_EVENT_AT = datetime(2000, 1, 1, tzinfo=UTC)
# Carriers' clocks and time zones drift; a scan more than a day ahead of ours is not real yet.
FUTURE_TOLERANCE = timedelta(days=1)
# An estimate further out than this is a placeholder, not a promise.
LATEST_ESTIMATE = timedelta(days=366)


def within_event_window(
    snapshot: TrackingSnapshot, *, now: datetime
) -> tuple[TrackingSnapshot, tuple[str, ...]]:
    """The snapshot without events outside the window, and why each dropped one was dropped."""
    latest = now + FUTURE_TOLERANCE
    kept, dropped = [], []
    for event in snapshot.events:
        if event.occurred_at < EARLIEST_EVENT_AT:
            dropped.append("before_2000")
        elif event.occurred_at > latest:
            dropped.append("in_the_future")
        else:
            kept.append(event)
    estimate = snapshot.estimated_delivery_at
    if estimate is not None and not EARLIEST_EVENT_AT <= estimate <= now + LATEST_ESTIMATE:
        estimate = None
    if not dropped and estimate == snapshot.estimated_delivery_at:
        return snapshot, ()
    return replace(snapshot, events=tuple(kept), estimated_delivery_at=estimate), tuple(dropped)
