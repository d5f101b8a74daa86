from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.tracking.cadence import CadenceTable, max_poll_age, next_poll_at
from carriers.types import TrackingStatus as S

NOW = datetime(2026, 12, 17, 15, tzinfo=UTC)
H = timedelta(hours=1)
TABLE = CadenceTable()


@pytest.mark.parametrize(
    ("status", "deadline", "expected"),
    [
        (None, None, NOW),
        (S.LABEL_CREATED, None, NOW + 6 * H),
        (S.LABEL_CREATED, NOW + 30 * H, NOW + 6 * H),
        (S.LABEL_CREATED, NOW + 10 * H, NOW + H),
        (S.LABEL_CREATED, NOW + 20 * timedelta(minutes=1), NOW + 25 * timedelta(minutes=1)),
        (S.LABEL_CREATED, NOW - H, NOW + 6 * H),
        (S.IN_TRANSIT, None, NOW + 12 * H),
        (S.HANDED_OFF, None, NOW + 24 * H),
        (S.OUT_FOR_DELIVERY, None, NOW + 2 * H),
        (S.EXCEPTION, None, NOW + 6 * H),
        (S.DELIVERED, NOW + H, None),
        (S.RETURNED_TO_SENDER, None, None),
        (S.CANCELLED, None, None),
    ],
)
def test_each_state_is_polled_as_rarely_as_its_deadlines_allow(status, deadline, expected):
    assert next_poll_at(status, now=NOW, deadline=deadline, table=TABLE) == expected


def test_a_poll_always_lands_just_after_a_pending_deadline():
    deadline = NOW + 5 * H + timedelta(minutes=3)

    due = next_poll_at(S.IN_TRANSIT, now=NOW, deadline=deadline, table=TABLE)

    assert due is not None
    assert due <= deadline + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("status", "age"),
    [
        (S.LABEL_CREATED, 13 * H),
        (S.IN_TRANSIT, 25 * H),
        (S.OUT_FOR_DELIVERY, 5 * H),
        (None, 49 * H),
    ],
)
def test_data_turn_stale_after_two_missed_polls_and_an_hour(status, age):
    assert max_poll_age(status, TABLE) == age
