"""A pushed leg is polled once when new (unless push covers its history), once before each
deadline (spread, never at it), and otherwise only on the backstop; a new leg waits briefly for
its own subscription; a push channel is silent only while legs should be moving."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.tracking.cadence import CadenceTable, confirmation_poll_at, max_poll_age, next_poll_at
from app.tracking.claims import LegClaim
from app.tracking.judging import JudgingPolicy, first_poll_put_off
from app.tracking.progress import LegProgress
from app.tracking.push_channel import RESUMED, SILENT, ChannelState, judge_channel
from app.tracking.subscriptions import HISTORY_GRACE, SUBSCRIPTION_WAIT, subscribes_leg
from carriers.types import TrackingStatus as S

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
TABLE = CadenceTable()
MIDNIGHT = datetime(2026, 12, 10, 5, tzinfo=UTC)  # 00:00 New York
EVENING = MIDNIGHT - 9 * H


def new_leg(
    *,
    pushed: bool = True,
    covered_since: datetime | None = None,
    subscription_state: str | None = None,
    label_at: datetime = EVENING,
) -> LegClaim:
    return LegClaim(
        id=7, shipment_id=1, order_id=1, carrier="ups", tracking_number="1Z", service=None,
        label_created_at=label_at, alert_deadline_at=MIDNIGHT, consecutive_failures=0,
        last_poll_day=None, progress=LegProgress(None, None, None, None, None, None, None),
        taken_over_from=None, pushed=pushed, covered_since=covered_since,
        subscription_state=subscription_state,
    )  # fmt: skip


def put_off(claim: LegClaim, now: datetime, *, subscribes: bool = False) -> datetime | None:
    policy = JudgingPolicy(cadence=TABLE)
    return first_poll_put_off(claim, now=now, policy=policy, subscribes=subscribes)


def test_a_new_leg_pushed_from_its_label_on_is_first_polled_to_confirm():
    # Subscribed 10 minutes after the label: push tells its whole story, no history poll.
    claim = new_leg(covered_since=EVENING + 10 * MINUTE)

    assert put_off(claim, EVENING + 11 * MINUTE) == confirmation_poll_at(7, MIDNIGHT, TABLE)
    assert next_poll_at(
        None, now=EVENING, deadline=MIDNIGHT, table=TABLE, pushed_leg=7
    ) == confirmation_poll_at(7, MIDNIGHT, TABLE)
    # Its confirmation time has come and it was never polled: now.
    assert put_off(claim, MIDNIGHT - 10 * MINUTE) is None


def test_a_new_leg_subscribed_after_the_grace_is_polled_at_once_for_its_history():
    late = EVENING + HISTORY_GRACE + MINUTE
    assert put_off(new_leg(covered_since=late), late) is None
    assert put_off(new_leg(covered_since=EVENING + HISTORY_GRACE), late) is not None
    assert put_off(new_leg(covered_since=None), EVENING) is None


def test_a_new_leg_pushed_from_its_label_with_no_deadline_waits_for_the_backstop():
    claim = dataclasses.replace(new_leg(covered_since=EVENING), alert_deadline_at=None)
    assert put_off(claim, EVENING) == EVENING + TABLE.pushed_backstop


def test_a_new_leg_waits_for_its_own_subscription_only_while_push_can_cover_its_history():
    waiting = new_leg(pushed=False, subscription_state=None)

    assert put_off(waiting, EVENING, subscribes=True) == EVENING + SUBSCRIPTION_WAIT
    near_the_end = EVENING + HISTORY_GRACE - MINUTE
    assert put_off(waiting, near_the_end, subscribes=True) == EVENING + HISTORY_GRACE
    assert put_off(waiting, EVENING + HISTORY_GRACE, subscribes=True) is None
    # The carrier is not subscribed per number here, or the subscription failed: poll now.
    assert put_off(waiting, EVENING, subscribes=False) is None
    failed = new_leg(pushed=False, subscription_state="failed")
    assert put_off(failed, EVENING, subscribes=True) is None
    pending = new_leg(pushed=False, subscription_state="pending")
    assert put_off(pending, EVENING, subscribes=True) == EVENING + SUBSCRIPTION_WAIT
    # A row on its way is waited for even where the carrier subscribes only some legs (USPS
    # hand-off numbers); without a row, only where it subscribes every leg.
    assert put_off(pending, EVENING, subscribes=False) == EVENING + SUBSCRIPTION_WAIT


def test_a_leg_polled_before_is_never_put_off():
    polled = dataclasses.replace(
        new_leg(covered_since=EVENING),
        progress=LegProgress("label_created", EVENING, None, None, None, None, None),
    )
    assert put_off(polled, EVENING + MINUTE) is None


def test_a_pushed_leg_is_not_polled_on_the_cadence_but_once_before_its_deadline():
    due = next_poll_at(S.IN_TRANSIT, now=EVENING, deadline=MIDNIGHT, table=TABLE, pushed_leg=7)

    assert due == confirmation_poll_at(7, MIDNIGHT, TABLE)
    # The cadence would have polled it within the hour (12 h before a deadline: hourly).
    assert next_poll_at(S.IN_TRANSIT, now=EVENING, deadline=MIDNIGHT, table=TABLE) == EVENING + H


def test_after_its_confirmation_a_pushed_leg_waits_for_the_next_deadline():
    confirm = confirmation_poll_at(7, MIDNIGHT, TABLE)

    due = next_poll_at(S.LABEL_CREATED, now=confirm, deadline=MIDNIGHT, table=TABLE, pushed_leg=7)

    assert due == confirm + TABLE.pushed_backstop


def test_a_pushed_leg_with_no_deadline_is_polled_only_on_the_backstop():
    due = next_poll_at(S.IN_TRANSIT, now=EVENING, deadline=None, table=TABLE, pushed_leg=7)
    assert due == EVENING + TABLE.pushed_backstop


def test_a_delivered_pushed_leg_is_never_polled_again():
    assert next_poll_at(S.DELIVERED, now=EVENING, deadline=None, table=TABLE, pushed_leg=7) is None


def test_confirmations_are_spread_over_the_hours_before_midnight_not_bunched_at_it():
    times = [confirmation_poll_at(leg_id, MIDNIGHT, TABLE) for leg_id in range(1, 1001)]
    shortest, longest = TABLE.confirmation_window

    assert all(MIDNIGHT - longest <= t <= MIDNIGHT - shortest for t in times)
    per_half_hour = [
        sum(1 for t in times if MIDNIGHT - (k + 1) * H / 2 <= t < MIDNIGHT - k * H / 2)
        for k in range(1, 8)
    ]
    assert max(per_half_hour) < 2 * min(per_half_hour)  # roughly even, none empty


@pytest.mark.parametrize("status", [None, *S])
def test_one_confirmation_keeps_any_leg_fresh_at_its_deadline(status):
    assert TABLE.confirmation_window[1] < max_poll_age(status, TABLE)


NOW = datetime(2026, 12, 9, 18, tzinfo=UTC)
SILENCE = 4 * H


def channel(**changes) -> ChannelState:
    fields = {
        "carrier": "ups",
        "subscribed": True,
        "last_push_at": NOW - 5 * H,
        "watched_since": NOW - 48 * H,
        "silent_since": None,
        "moving_legs": True,
    }
    return ChannelState(**(fields | changes))


@pytest.mark.parametrize(
    ("state", "change"),
    [
        (channel(), SILENT),
        (channel(last_push_at=NOW - 3 * H), None),
        (channel(moving_legs=False), None),  # nothing should be scanned: silence is no news
        (channel(subscribed=False), None),
        (channel(last_push_at=None, watched_since=NOW - 5 * H), SILENT),  # never pushed at all
        (channel(last_push_at=None, watched_since=NOW - H), None),
        (channel(silent_since=NOW - H), None),  # still silent: nothing changes
        (channel(silent_since=NOW - H, last_push_at=NOW - H / 2), RESUMED),
        (channel(silent_since=NOW - H, subscribed=False), RESUMED),
    ],
)
def test_a_channel_is_silent_only_when_pushes_stop_while_legs_should_move(state, change):
    assert judge_channel(state, now=NOW, silence=SILENCE) == change


# Calls saved (cadence.polls_saved): the polled cadence's polls before a pushed leg's next poll.


def test_polls_saved_counts_the_polled_cadence_between_a_pushed_legs_polls():
    from app.tracking.cadence import polls_saved

    # In transit, no deadline: the polled cadence polls every 12 h; pushed, the next poll is
    # the 72 h backstop, so the polls at +12 ... +60 h were not needed.
    saved = polls_saved(
        S.IN_TRANSIT, now=EVENING, deadline=None, until=EVENING + 72 * H, table=TABLE
    )

    assert saved == 5


def test_polls_saved_follows_the_hourly_polls_before_a_deadline():
    from app.tracking.cadence import polls_saved

    # 9 h before midnight the polled cadence polls hourly (8 polls before 23:00); the pushed leg
    # is polled once, at its confirmation.
    confirm = confirmation_poll_at(7, MIDNIGHT, TABLE)
    saved = polls_saved(S.IN_TRANSIT, now=EVENING, deadline=MIDNIGHT, until=confirm, table=TABLE)

    hours_before = (confirm - EVENING) // H
    assert saved == hours_before - (1 if (confirm - EVENING) % H == timedelta(0) else 0)
    assert saved >= 4  # the confirmation falls at least 30 min before midnight


def test_nothing_is_saved_for_a_terminal_leg_or_a_poll_already_due():
    from app.tracking.cadence import polls_saved

    until = EVENING + 72 * H
    assert polls_saved(S.DELIVERED, now=EVENING, deadline=None, until=until, table=TABLE) == 0
    assert polls_saved(S.IN_TRANSIT, now=EVENING, deadline=None, until=EVENING, table=TABLE) == 0


@pytest.mark.parametrize(
    ("legs", "handoff", "subscribed"),
    [
        ("all", False, True),  # UPS: every leg
        ("all", True, True),
        ("handoff", True, True),  # USPS hand-off numbers one by one
        ("handoff", False, False),  # the shop's own USPS label: its Mailer ID, no row
        (None, True, False),  # the carrier is not subscribed per number here
    ],
)
def test_which_new_legs_the_worker_subscribes_by_number(legs, handoff, subscribed):
    assert subscribes_leg(legs, handoff=handoff) is subscribed
