"""What a carrier's answer changes on a leg (pure): status, milestones, next poll."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from random import Random

from carriers.types import PHYSICAL_STATUSES, TrackingSnapshot, TrackingStatus


@dataclass(frozen=True, slots=True)
class LegProgress:
    """The carrier-side columns of a leg, as read before a poll and written after it."""

    status: str | None
    status_changed_at: datetime | None
    last_event_at: datetime | None
    accepted_at: datetime | None
    handed_off_at: datetime | None
    delivered_at: datetime | None
    estimated_delivery_at: datetime | None


def apply_snapshot(
    before: LegProgress, snapshot: TrackingSnapshot, *, now: datetime
) -> LegProgress:
    """Folds the carrier's current answer into the leg; milestones keep their first time."""
    after = before
    for event in snapshot.events:
        at = event.occurred_at.astimezone(UTC)
        if after.last_event_at is None or at > after.last_event_at:
            after = replace(after, last_event_at=at)
        if event.status in PHYSICAL_STATUSES and (
            after.accepted_at is None or at < after.accepted_at
        ):
            after = replace(after, accepted_at=at)
        if event.status is TrackingStatus.HANDED_OFF and after.handed_off_at is None:
            after = replace(after, handed_off_at=at)
        if event.status is TrackingStatus.DELIVERED and after.delivered_at is None:
            after = replace(after, delivered_at=at)
    if snapshot.handoff is not None and after.handed_off_at is None:
        after = replace(after, handed_off_at=after.last_event_at or now)
    if snapshot.estimated_delivery_at is not None:
        after = replace(after, estimated_delivery_at=snapshot.estimated_delivery_at.astimezone(UTC))
    status = _current_status(snapshot, accepted=after.accepted_at is not None)
    if status.value != before.status:
        after = replace(after, status=status.value, status_changed_at=now)
    return after


def _current_status(snapshot: TrackingSnapshot, *, accepted: bool) -> TrackingStatus:
    """The carrier's status, except that a late electronic notice never undoes a physical scan
    (some carriers list a re-sent "pre-shipment info" after the parcel was already scanned)."""
    if snapshot.status is not TrackingStatus.LABEL_CREATED or not accepted:
        return snapshot.status
    physical = [e for e in snapshot.events if e.status in PHYSICAL_STATUSES]
    if not physical:
        return TrackingStatus.ACCEPTED
    return max(physical, key=lambda e: e.occurred_at).status


def apply_not_found(before: LegProgress, *, now: datetime) -> LegProgress:
    """The carrier answered that it does not know the number: that is news only before any scan."""
    if before.last_event_at is not None or before.status == TrackingStatus.NOT_FOUND:
        return before
    return replace(before, status=TrackingStatus.NOT_FOUND.value, status_changed_at=now)


def retry_delay(
    failures: int,
    *,
    rng: Random,
    base: timedelta = timedelta(minutes=1),
    cap: timedelta = timedelta(hours=1),
    retry_after: timedelta | None = None,
) -> timedelta:
    """Capped exponential backoff with full jitter, never sooner than the carrier's Retry-After."""
    ceiling = min(cap, base * (2 ** max(0, failures - 1)))
    delay = timedelta(seconds=rng.uniform(0, ceiling.total_seconds()))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(delay, timedelta(seconds=1))
