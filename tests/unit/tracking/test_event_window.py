from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.tracking.event_window import within_event_window
from carriers.types import TrackingEvent, TrackingSnapshot, TrackingStatus

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PACIFIC = timezone(timedelta(hours=-8))


def scan(at: datetime) -> TrackingEvent:
    return TrackingEvent(TrackingStatus.IN_TRANSIT, at, "IT", "In transit")


@pytest.mark.parametrize(
    ("at", "kept", "reason"),
    [
        (NOW - timedelta(days=3), True, None),
        (NOW + timedelta(hours=23), True, None),  # a carrier's clock a little ahead
        (NOW + timedelta(days=2), False, "in_the_future"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=PACIFIC), False, "in_the_future"),
        (datetime(1, 1, 1, tzinfo=UTC), False, "before_2000"),
        (datetime(1970, 1, 1, tzinfo=UTC), False, "before_2000"),
    ],
)
def test_scans_outside_the_window_are_dropped_with_their_reason(at, kept, reason):
    snapshot = TrackingSnapshot("ups", "1Z", TrackingStatus.IN_TRANSIT, events=(scan(at),))

    result, dropped = within_event_window(snapshot, now=NOW)

    assert (len(result.events) == 1) is kept
    assert dropped == (() if reason is None else (reason,))


def test_a_placeholder_estimate_is_dropped_and_a_real_one_kept():
    far = TrackingSnapshot(
        "ups",
        "1Z",
        TrackingStatus.IN_TRANSIT,
        estimated_delivery_at=datetime(9999, 1, 1, tzinfo=UTC),
    )
    near = TrackingSnapshot(
        "ups", "1Z", TrackingStatus.IN_TRANSIT, estimated_delivery_at=NOW + timedelta(days=3)
    )

    assert within_event_window(far, now=NOW)[0].estimated_delivery_at is None
    assert within_event_window(near, now=NOW) == (near, ())
