"""What the quotas leave for push subscription calls: each window's room beyond the quarter of
its limit kept for polls; None without quotas."""

from datetime import UTC, datetime, timedelta

import pytest

from app.tracking.rate import Budget, CarrierLimits, QuotaRoom, subscription_room

NOW = datetime(2026, 12, 10, 17, 5, tzinfo=UTC)
HOUR, DAY = NOW.replace(minute=0), NOW.replace(hour=0, minute=0)


def budget(hour_used: int = 0, day_used: int = 0, *, hour=HOUR, day=DAY) -> Budget:
    return Budget(None, hour, hour_used, day, day_used, None)


@pytest.mark.parametrize(
    ("limits", "spent", "room"),
    [
        (CarrierLimits(1000), budget(), None),
        (CarrierLimits(1, per_hour=60), budget(0), QuotaRoom(45, HOUR + timedelta(hours=1))),
        (CarrierLimits(1, per_hour=60), budget(44), QuotaRoom(1, HOUR + timedelta(hours=1))),
        (CarrierLimits(1, per_hour=60), budget(45), QuotaRoom(0, HOUR + timedelta(hours=1))),
        (CarrierLimits(1, per_hour=60), budget(60), QuotaRoom(0, HOUR + timedelta(hours=1))),
        # last hour's use does not count in this hour
        (
            CarrierLimits(1, per_hour=60),
            budget(60, hour=HOUR - timedelta(hours=1)),
            QuotaRoom(45, HOUR + timedelta(hours=1)),
        ),
        # 250 a day keeps 63 for polls: the day is the tighter window
        (
            CarrierLimits(1, per_day=250),
            budget(day_used=180),
            QuotaRoom(7, DAY + timedelta(days=1)),
        ),
        (CarrierLimits(1, per_hour=2), budget(0), QuotaRoom(1, HOUR + timedelta(hours=1))),
    ],
)
def test_subscriptions_get_what_the_quotas_leave_beyond_the_polls_share(limits, spent, room):
    assert subscription_room(spent, limits=limits, now=NOW) == room
