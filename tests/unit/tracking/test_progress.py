from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.tracking.progress import LegProgress, apply_not_found, apply_snapshot, retry_delay
from carriers.types import Handoff, TrackingEvent, TrackingSnapshot, TrackingStatus

T0 = datetime(2026, 12, 17, 15, tzinfo=UTC)
NOW = T0 + timedelta(days=3)
EMPTY = LegProgress(None, None, None, None, None, None, None)


def event(status: TrackingStatus, hours: float) -> TrackingEvent:
    return TrackingEvent(status, T0 + timedelta(hours=hours), "X", "scan")


def snapshot(status: TrackingStatus, *events: TrackingEvent, handoff=None) -> TrackingSnapshot:
    return TrackingSnapshot("ups", "1Z", status, tuple(events), handoff=handoff)


def test_milestones_take_the_first_time_they_were_reached():
    after = apply_snapshot(
        EMPTY,
        snapshot(
            TrackingStatus.DELIVERED,
            event(TrackingStatus.LABEL_CREATED, 0),
            event(TrackingStatus.ACCEPTED, 5),
            event(TrackingStatus.IN_TRANSIT, 20),
            event(TrackingStatus.DELIVERED, 50),
        ),
        now=NOW,
    )

    assert after.status == "delivered"
    assert after.status_changed_at == NOW
    assert after.accepted_at == T0 + timedelta(hours=5)
    assert after.delivered_at == T0 + timedelta(hours=50)
    assert after.last_event_at == T0 + timedelta(hours=50)


def test_a_label_only_answer_sets_no_acceptance():
    after = apply_snapshot(
        EMPTY,
        snapshot(TrackingStatus.LABEL_CREATED, event(TrackingStatus.LABEL_CREATED, 0)),
        now=NOW,
    )

    assert (after.status, after.accepted_at) == ("label_created", None)


def test_a_late_electronic_notice_never_undoes_a_physical_scan():
    after = apply_snapshot(
        EMPTY,
        snapshot(
            TrackingStatus.LABEL_CREATED,
            event(TrackingStatus.ACCEPTED, 5),
            event(TrackingStatus.IN_TRANSIT, 9),
            event(TrackingStatus.LABEL_CREATED, 10),
        ),
        now=NOW,
    )

    assert after.status == "in_transit"


def test_an_unchanged_status_keeps_its_change_time():
    before = apply_snapshot(
        EMPTY, snapshot(TrackingStatus.ACCEPTED, event(TrackingStatus.ACCEPTED, 5)), now=T0
    )

    after = apply_snapshot(
        before, snapshot(TrackingStatus.ACCEPTED, event(TrackingStatus.ACCEPTED, 5)), now=NOW
    )

    assert after.status_changed_at == T0


def test_a_handoff_without_a_handed_off_scan_still_marks_the_handoff_time():
    after = apply_snapshot(
        EMPTY,
        snapshot(
            TrackingStatus.IN_TRANSIT,
            event(TrackingStatus.IN_TRANSIT, 30),
            handoff=Handoff("usps", "9400"),
        ),
        now=NOW,
    )

    assert after.handed_off_at == T0 + timedelta(hours=30)


def test_not_found_is_news_only_before_any_scan():
    scanned = apply_snapshot(
        EMPTY, snapshot(TrackingStatus.ACCEPTED, event(TrackingStatus.ACCEPTED, 5)), now=T0
    )

    assert apply_not_found(EMPTY, now=NOW).status == "not_found"
    assert apply_not_found(scanned, now=NOW) == scanned


@given(failures=st.integers(min_value=1, max_value=40), seed=st.integers())
def test_retry_delays_stay_within_the_capped_exponential_bound(failures, seed):
    delay = retry_delay(failures, rng=Random(seed))

    ceiling = min(timedelta(hours=1), timedelta(minutes=1) * 2 ** (failures - 1))
    assert timedelta(seconds=1) <= delay <= max(ceiling, timedelta(seconds=1))


@pytest.mark.parametrize("seed", range(5))
def test_retry_after_is_never_undercut(seed):
    delay = retry_delay(1, rng=Random(seed), retry_after=timedelta(minutes=7))

    assert delay >= timedelta(minutes=7)
