"""Which legs go first when calls are rationed (issue 14): the earliest alert deadline waiting on
each leg's next poll, overdue first (most overdue first), then the nearest ahead, then none."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.reconciliation.rules import find_with_priorities
from carriers.types import TrackingStatus
from tests.unit.reconciliation.facts_builders import (
    CALENDARS,
    THRESHOLDS,
    make_event,
    make_leg,
    make_order,
    ny,
)

NOW = ny(2026, 12, 17, 12)  # Thursday


def label_only(leg_id: int, label_at, *, polled_at=None):
    """A USPS label never scanned; polled at `polled_at` (None: never)."""
    return make_leg(
        leg_id=leg_id,
        label_created_at=label_at,
        tracking_started_at=label_at,
        last_successful_poll_at=polled_at,
    )


def priority(leg):
    _, priorities = find_with_priorities(
        make_order(leg), now=NOW, thresholds=THRESHOLDS, calendars=CALENDARS
    )
    return priorities.get(leg.leg_id)


@pytest.mark.parametrize(
    ("case", "leg", "expected"),
    [
        # A week-old label never polled: its never_inducted deadline passed and waits only for
        # one fresh poll: that deadline, in the past.
        # (Thu 10, Fri 11, Mon 14 are its two business days after the label day.)
        ("overdue", label_only(1, ny(2026, 12, 10, 10)), ny(2026, 12, 15)),
        # Polled just now: the alert opens this sweep; what waits next is only its expiry.
        (
            "overdue but fresh",
            label_only(1, ny(2026, 12, 10, 10), polled_at=NOW),
            ny(2027, 1, 9, 10),
        ),
        # Labelled this morning: its deadline is two business days ahead.
        ("due soon", label_only(1, ny(2026, 12, 17, 9)), ny(2026, 12, 22)),
        # Moving normally: the next thing that can happen is a stall, days ahead.
        (
            "far",
            replace(
                make_leg(
                    leg_id=1, current_status=TrackingStatus.IN_TRANSIT, last_successful_poll_at=NOW
                ),
                events=(make_event(TrackingStatus.ACCEPTED, ny(2026, 12, 17, 8)),),
            ),
            ny(2026, 12, 23),
        ),
        # Delivered: nothing can come of polling it.
        (
            "none",
            make_leg(
                leg_id=1,
                current_status=TrackingStatus.DELIVERED,
                events=(make_event(TrackingStatus.DELIVERED, ny(2026, 12, 16, 14)),),
            ),
            None,
        ),
    ],
)
def test_a_legs_priority_is_the_earliest_deadline_waiting_on_its_next_poll(case, leg, expected):
    assert priority(leg) == expected, case


def test_overdue_legs_sort_before_due_soon_and_far_ones_and_the_most_overdue_first():
    legs = {
        "far": ny(2026, 12, 23),
        "due soon": priority(label_only(1, ny(2026, 12, 17, 9))),
        "overdue a day": priority(label_only(1, ny(2026, 12, 11, 10))),
        "overdue three days": priority(label_only(1, ny(2026, 12, 9, 10))),
    }

    order = sorted(legs, key=lambda name: legs[name])

    assert order == ["overdue three days", "overdue a day", "due soon", "far"]
    assert legs["overdue a day"] < NOW - timedelta(hours=1)
