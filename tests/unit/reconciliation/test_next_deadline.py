from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.reconciliation.facts import OrderFacts
from app.reconciliation.rules import find_discrepancies, upcoming_findings
from carriers.types import TrackingStatus
from tests.unit.reconciliation.facts_builders import (
    CALENDARS,
    THRESHOLDS,
    make_event,
    make_leg,
    make_order,
    ny,
    polled_at,
    rules_at,
)

SECOND = timedelta(seconds=1)


def next_deadline(order: OrderFacts, now: datetime) -> datetime | None:
    """When the rules say the next new finding appears: what the sweep schedules the order for."""
    upcoming = upcoming_findings(order, now=now, thresholds=THRESHOLDS, calendars=CALENDARS)
    return upcoming.at if upcoming is not None else None


def deadline(order: OrderFacts, now: datetime) -> datetime | None:
    return next_deadline(polled_at(order, now), now)


@pytest.mark.parametrize(
    ("order", "now", "expected"),
    [
        pytest.param(
            make_order(make_leg()), ny(2026, 12, 17, 11), ny(2026, 12, 22), id="never inducted"
        ),
        pytest.param(
            make_order(make_leg(current_status=TrackingStatus.NOT_FOUND)),
            ny(2026, 12, 17, 11),
            ny(2026, 12, 21),
            id="not_found comes first",
        ),
        pytest.param(
            make_order(make_leg()),
            ny(2026, 12, 22, 1),
            ny(2027, 1, 16, 10),
            id="after never_inducted opened, expiry is next",
        ),
        pytest.param(
            make_order(make_leg(current_status=TrackingStatus.DELIVERED)),
            ny(2026, 12, 17, 11),
            None,
            id="a delivered parcel has nothing pending",
        ),
    ],
)
def test_next_deadline_is_the_earliest_pending_rule(order, now, expected):
    assert deadline(order, now) == expected


def test_next_deadline_skips_a_rule_that_another_rule_has_superseded():
    # never_inducted opened on Wed 23 Dec, so not_found (due Tue 29 Dec) will never open.
    leg = make_leg(
        current_status=TrackingStatus.NOT_FOUND,
        label_created_at=ny(2026, 12, 18, 10),
        tracking_started_at=ny(2026, 12, 24, 10),
    )

    assert deadline(make_order(leg), ny(2026, 12, 24, 11)) == ny(2027, 1, 23, 10)


def test_a_stale_leg_still_reports_when_its_alert_would_open_once_polled():
    order = make_order(make_leg(last_successful_poll_at=None))

    found = next_deadline(order, ny(2026, 12, 18))

    assert found == ny(2026, 12, 22)


# --- property: next_deadline agrees with find_discrepancies ---------------------------------

STATUSES = [
    TrackingStatus.LABEL_CREATED,
    TrackingStatus.NOT_FOUND,
    TrackingStatus.ACCEPTED,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.HANDED_OFF,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.DELIVERED,
    TrackingStatus.EXCEPTION,
    TrackingStatus.UNKNOWN,
]
BASE = datetime(2026, 11, 20, tzinfo=UTC)
offsets = st.integers(min_value=0, max_value=60 * 24 * 45).map(
    lambda m: BASE + timedelta(minutes=m)
)


@st.composite
def orders(draw: st.DrawFn) -> OrderFacts:
    label_at = draw(offsets)
    scans = draw(st.lists(st.tuples(st.sampled_from(STATUSES), offsets), max_size=3))
    events = tuple(
        make_event(status, max(at, label_at))
        for status, at in sorted(scans, key=lambda scan: scan[1])
    )
    current = events[-1].status if events else draw(st.sampled_from(STATUSES[:2]))
    first = make_leg(
        label_created_at=label_at,
        tracking_started_at=label_at + draw(st.sampled_from([timedelta(0), timedelta(days=3)])),
        events=events,
        current_status=current,
    )
    legs = [first]
    if draw(st.booleans()):
        handed_at = draw(offsets)
        legs = [
            replace(first, handoff_to_leg_id=2),
            make_leg(
                leg_id=2,
                sequence=2,
                label_created_at=label_at,
                tracking_started_at=handed_at,
                handed_off_at=handed_at,
                current_status=draw(st.sampled_from(STATUSES[:2])),
            ),
        ]
    promised = draw(st.none() | st.dates(min_value=date(2026, 11, 20), max_value=date(2027, 1, 5)))
    claim = draw(st.sampled_from(["shipped", "delivered", "cancelled", None]))
    return make_order(*legs, promised_delivery_on=promised, claimed_status=claim)


@settings(max_examples=300, deadline=None)
@given(order=orders(), now=offsets)
def test_next_deadline_is_exactly_when_the_next_new_finding_appears(order, now):
    found = deadline(order, now)
    before_now = rules_at(order, now)

    if found is None:
        assert rules_at(order, now + timedelta(days=400)) <= before_now
        return
    assert found > now
    if found - SECOND > now:
        assert rules_at(order, found - SECOND) <= before_now
    assert rules_at(order, found + SECOND) - before_now


@settings(max_examples=200, deadline=None)
@given(order=orders(), now=offsets)
def test_the_findings_planned_for_the_deadline_are_what_the_rules_find_then(order, now):
    """What the sweep plans for the next deadline is, word for word, what judging the order at
    that deadline (polls having kept succeeding) finds."""
    upcoming = upcoming_findings(
        polled_at(order, now), now=now, thresholds=THRESHOLDS, calendars=CALENDARS
    )
    if upcoming is None:
        assert deadline(order, now) is None
        return
    assert upcoming.at == deadline(order, now)
    then = find_discrepancies(
        polled_at(order, upcoming.at), now=upcoming.at, thresholds=THRESHOLDS, calendars=CALENDARS
    )
    assert [due.finding for due in upcoming.dues] == then
