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
raise nothing from its silence (the carrier may be down), see `max_poll_age`. A recorded push is
contact as a poll is (it sets the same `last_successful_poll_at`); a silent channel is not.

A pushed leg (an active push subscription, its carrier's pushes flowing: push_channel.py) is not
polled on this table. It is polled once when new for its history (UPS Track Alert keeps none),
unless its subscription began with its label (`subscriptions.push_covers_history`: then push
tells its whole story and its first poll is its first confirmation), then once before each alert
deadline waiting on it, to confirm the silence the alert would rest on (`confirmation_poll_at`),
and otherwise only every `pushed_backstop`. Business-day
deadlines all fall at 00:00, so the confirmations are spread over `confirmation_window` before
it by leg id, not bunched at midnight. When the carrier's pushes stop, its legs are no longer
pushed and this table applies again.
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
    # A pushed leg's confirmation poll falls between these two leads before its deadline. The
    # longest stays under the shortest `max_poll_age` (out_for_delivery: 5 h), so one
    # confirmation keeps any leg fresh at its deadline.
    confirmation_window: tuple[timedelta, timedelta] = (timedelta(minutes=30), 4 * HOUR)
    # A pushed leg with no deadline ahead is still polled this often: the net under the net.
    pushed_backstop: timedelta = 72 * HOUR

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
    pushed_leg: int | None = None,
) -> datetime | None:
    """When to poll next; None means never (terminal). Polls just after a pending deadline.
    `pushed_leg`: the id of a leg polled only to confirm (see above); one never polled
    (`status` None) is passed only when push covers its history."""
    interval = table.interval(status)
    if interval is None:
        return None
    if pushed_leg is not None and status is None:
        return _first_confirmation(pushed_leg, now=now, deadline=deadline, table=table)
    if pushed_leg is not None:
        return _next_confirmation(pushed_leg, now=now, deadline=deadline, table=table)
    due = now + interval
    if deadline is not None and deadline > now:
        if deadline - now <= table.approach_window:
            due = min(due, now + table.near_deadline_interval)
        due = min(due, deadline + table.after_deadline)
    return due


def polls_saved(
    status: TrackingStatus | None,
    *,
    now: datetime,
    deadline: datetime | None,
    until: datetime,
    table: CadenceTable,
) -> int:
    """An estimate of the polls a pushed leg did not need: how many times the polled cadence
    (`next_poll_at` without `pushed_leg`) would have polled it after `now` and before `until`,
    its next poll as pushed, its status and deadline held as they are now."""
    saved, at = 0, now
    while saved < _MOST_SAVED:
        following = next_poll_at(status, now=at, deadline=deadline, table=table)
        if following is None or following >= until or following <= at:
            return saved
        saved, at = saved + 1, following
    return saved


# A bound on one estimate (72 h at the shortest interval, 5 min after a deadline, is far below).
_MOST_SAVED = 1000


def max_poll_age(status: TrackingStatus | None, table: CadenceTable) -> timedelta:
    """How old a leg's last successful poll may be before its data count as stale."""
    interval = table.interval(status)
    if not interval:  # terminal or never polled: judge by what we have
        interval = 24 * HOUR
    return 2 * interval + table.stale_grace


def confirmation_poll_at(leg_id: int, deadline: datetime, table: CadenceTable) -> datetime:
    """When a pushed leg is polled to confirm its silence before `deadline`: a lead inside the
    confirmation window, fixed per leg (the same leg always gets the same lead)."""
    shortest, longest = table.confirmation_window
    # Knuth's multiplicative hash: consecutive ids land far apart in the window.
    share = ((leg_id * 2654435761) % 2**32) / 2**32
    return deadline - shortest - (longest - shortest) * share


def _next_confirmation(
    leg_id: int, *, now: datetime, deadline: datetime | None, table: CadenceTable
) -> datetime:
    """A pushed leg's next poll: its confirmation before a deadline still ahead, once (from the
    confirmation time on, the deadline is confirmed); else the backstop."""
    backstop = now + table.pushed_backstop
    if deadline is None or deadline <= now:
        return backstop
    confirm = confirmation_poll_at(leg_id, deadline, table)
    return min(confirm, backstop) if confirm > now else backstop


def _first_confirmation(
    leg_id: int, *, now: datetime, deadline: datetime | None, table: CadenceTable
) -> datetime:
    """The first poll of a pushed leg whose history push tells: its confirmation before the
    deadline ahead, at once if that time has come (nothing has confirmed it yet), else the
    backstop."""
    backstop = now + table.pushed_backstop
    if deadline is None:
        return backstop
    confirm = confirmation_poll_at(leg_id, deadline, table)
    return now if confirm <= now else min(confirm, backstop)
