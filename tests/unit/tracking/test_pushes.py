"""A push older than what the leg has seen adds history but never sets the leg's status."""

from datetime import UTC, datetime, timedelta

import pytest

from app.tracking.progress import LegProgress
from app.tracking.pushes import UnreadablePush, decode_push, hold_back_older_push
from carriers.types import TrackingEvent, TrackingSnapshot, TrackingStatus

S = TrackingStatus
AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ESTIMATE = AT + timedelta(days=2)


def progress(status: str | None, last_event_at: datetime | None) -> LegProgress:
    return LegProgress(status, None, last_event_at, None, None, None, None)


def pushed(status: TrackingStatus, at: datetime) -> TrackingSnapshot:
    event = TrackingEvent(status, at, "X", "")
    return TrackingSnapshot("ups", "1Z", status, (event,), estimated_delivery_at=ESTIMATE)


@pytest.mark.parametrize(
    ("leg", "push", "status", "estimate"),
    [
        # Newer or as new as what the leg has: the push speaks for now.
        (progress("in_transit", AT), pushed(S.DELIVERED, AT + HOUR), S.DELIVERED, ESTIMATE),
        (progress("in_transit", AT), pushed(S.IN_TRANSIT, AT), S.IN_TRANSIT, ESTIMATE),
        # Older than the leg's newest scan: history only.
        (progress("delivered", AT), pushed(S.IN_TRANSIT, AT - HOUR), S.DELIVERED, None),
        # A leg without scans takes whatever comes.
        (progress(None, None), pushed(S.ACCEPTED, AT), S.ACCEPTED, ESTIMATE),
    ],
)  # fmt: skip
def test_only_a_push_at_least_as_new_as_the_leg_sets_its_status(leg, push, status, estimate):
    held = hold_back_older_push(leg, push)

    assert (held.status, held.estimated_delivery_at) == (status, estimate)
    assert held.events == push.events


def test_a_push_in_a_format_we_do_not_know_is_unreadable():
    with pytest.raises(UnreadablePush, match="unknown push format"):
        decode_push("carrier_pigeon", "ups", "{}")


def test_a_normalized_push_with_a_bad_field_is_unreadable():
    with pytest.raises(UnreadablePush):
        decode_push("firstscan", "ups", '{"tracking_number": "1Z", "events": []}')
