"""How often each leg is polled: the fewest carrier calls that still catch every problem on time.

    status                 every      why
    (never polled)         at once    a new leg is due immediately
    label_created          6 h        nothing physical yet; 1 h once its alert deadline is 12 h away
    accepted, in_transit   12 h       moving; a stall needs days to matter (1 h near its deadline)
    handed_off             24 h       the next leg carries the story now
    out_for_delivery       2 h        delivery or a failed attempt is hours away
    available_for_pickup   12 h
    delivery_attempted     6 h
    exception              6 h
    not_found, unknown     6 h
    delivered, returned_to_sender, cancelled: never again (terminal)

A leg whose last successful poll is older than twice its interval plus an hour is stale: the rules
raise nothing from its silence (the carrier may be down), see `max_poll_age`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carriers.types import TERMINAL_STATUSES, TrackingStatus

HOUR = timedelta(hours=1)


def _default_intervals() -> dict[TrackingStatus, timedelta]:
    return {
        TrackingStatus.LABEL_CREATED: 6 * HOUR,
        TrackingStatus.ACCEPTED: 12 * HOUR,
        TrackingStatus.IN_TRANSIT: 12 * HOUR,
        TrackingStatus.HANDED_OFF: 24 * HOUR,
        TrackingStatus.OUT_FOR_DELIVERY: 2 * HOUR,
        TrackingStatus.AVAILABLE_FOR_PICKUP: 12 * HOUR,
        TrackingStatus.DELIVERY_ATTEMPTED: 6 * HOUR,
        TrackingStatus.EXCEPTION: 6 * HOUR,
        TrackingStatus.NOT_FOUND: 6 * HOUR,
        TrackingStatus.UNKNOWN: 6 * HOUR,
    }


@dataclass(frozen=True, slots=True)
class CadenceTable:
    intervals: Mapping[TrackingStatus, timedelta] = field(default_factory=_default_intervals)
    # Poll this often once an alert deadline is within `approach_window`.
    near_deadline_interval: timedelta = HOUR
    approach_window: timedelta = 12 * HOUR
    # Poll again this soon after a deadline passes, so the rules judge fresh data.
    after_deadline: timedelta = timedelta(minutes=5)
    stale_grace: timedelta = HOUR

    def interval(self, status: TrackingStatus | None) -> timedelta | None:
        """The base interval; None for terminal statuses (stop polling), zero if never polled."""
        if status is None:
            return timedelta(0)
        if status in TERMINAL_STATUSES:
            return None
        return self.intervals.get(status, 6 * HOUR)


# The one table firstscan polls by (it is not configurable): pollers, webhooks, recording and the
# rules all ask for this instance.
CADENCE = CadenceTable()


def next_poll_at(
    status: TrackingStatus | None,
    *,
    now: datetime,
    deadline: datetime | None,
    table: CadenceTable,
) -> datetime | None:
    """When to poll next; None means never (terminal). Polls just after a pending deadline."""
    interval = table.interval(status)
    if interval is None:
        return None
    due = now + interval
    if deadline is not None and deadline > now:
        if deadline - now <= table.approach_window:
            due = min(due, now + table.near_deadline_interval)
        due = min(due, deadline + table.after_deadline)
    return due


def max_poll_age(status: TrackingStatus | None, table: CadenceTable) -> timedelta:
    """How old a leg's last successful poll may be before its data count as stale."""
    interval = table.interval(status)
    if not interval:  # terminal or never polled: judge by what we have
        interval = 24 * HOUR
    return 2 * interval + table.stale_grace
