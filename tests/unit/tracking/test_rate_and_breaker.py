from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.kernel.breaker import Breaker, BreakerPolicy, admits, after_failure, after_success
from app.tracking.rate import Budget, CarrierLimits, give_back, plan_reservation

NOW = datetime(2026, 12, 17, 15, 30, 10, tzinfo=UTC)
FRESH = Budget(None, None, 0, None, 0, None)
POLICY = BreakerPolicy()


def test_slots_are_spaced_one_over_the_rate_apart():
    reservation, budget = plan_reservation(
        FRESH, wanted=3, limits=CarrierLimits(per_second=10), now=NOW
    )

    assert reservation.send_at == (
        NOW,
        NOW + timedelta(milliseconds=100),
        NOW + timedelta(milliseconds=200),
    )
    assert budget.next_slot_at == NOW + timedelta(milliseconds=300)


def test_a_second_worker_continues_after_the_first_ones_slots():
    _, budget = plan_reservation(FRESH, wanted=5, limits=CarrierLimits(per_second=10), now=NOW)

    reservation, _ = plan_reservation(
        budget, wanted=1, limits=CarrierLimits(per_second=10), now=NOW
    )

    assert reservation.send_at == (NOW + timedelta(milliseconds=500),)


@given(
    batches=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=30),
    rate=st.sampled_from([1.0, 5.0, 140.0]),
)
def test_no_one_second_window_holds_more_slots_than_the_rate(batches, rate):
    budget, slots = FRESH, []
    for wanted in batches:
        reservation, budget = plan_reservation(
            budget, wanted=wanted, limits=CarrierLimits(per_second=rate), now=NOW
        )
        slots.extend(reservation.send_at)

    for start in slots:
        in_window = [s for s in slots if start <= s < start + timedelta(seconds=1)]
        assert len(in_window) <= rate


def test_an_exhausted_daily_quota_waits_until_tomorrow():
    limits = CarrierLimits(per_second=1, per_day=250)
    today = NOW.replace(hour=0, minute=0, second=0)
    spent = Budget(None, None, 0, today, 250, None)

    reservation, _ = plan_reservation(spent, wanted=1, limits=limits, now=NOW)

    assert reservation.send_at == ()
    assert reservation.wait_until == today + timedelta(days=1)


def test_the_hourly_quota_resets_on_the_hour():
    limits = CarrierLimits(per_second=1, per_hour=60)
    last_hour = NOW.replace(minute=0, second=0) - timedelta(hours=1)
    spent = Budget(None, last_hour, 60, None, 0, None)

    reservation, budget = plan_reservation(spent, wanted=2, limits=limits, now=NOW)

    assert len(reservation.send_at) == 2
    assert budget.hour_used == 2


def test_a_pause_after_a_429_grants_nothing_until_it_ends():
    paused = Budget(None, None, 0, None, 0, NOW + timedelta(seconds=30))

    reservation, _ = plan_reservation(paused, wanted=4, limits=CarrierLimits(10), now=NOW)

    assert reservation.send_at == ()
    assert reservation.wait_until == NOW + timedelta(seconds=30)


def test_the_breaker_opens_after_repeated_failures_and_probes_once_after_the_cooldown():
    breaker = Breaker()
    for _ in range(POLICY.failure_threshold):
        breaker = after_failure(breaker, now=NOW, policy=POLICY)

    assert breaker.state == "open"
    assert admits(breaker, now=NOW + timedelta(seconds=30), policy=POLICY)[0] is False
    allowed, probing = admits(breaker, now=NOW + POLICY.cooldown, policy=POLICY)
    assert allowed
    assert probing.state == "half_open"
    assert admits(probing, now=NOW + POLICY.cooldown, policy=POLICY)[0] is False


def test_a_failed_probe_reopens_for_longer_and_a_good_one_closes():
    opened = Breaker("half_open", POLICY.failure_threshold, NOW)

    reopened = after_failure(opened, now=NOW, policy=POLICY)

    assert reopened.state == "open"
    assert reopened.open_until is not None
    assert reopened.open_until - NOW > POLICY.cooldown
    assert after_success(reopened) == Breaker()


def test_unused_slots_given_back_stop_counting_against_both_quotas():
    limits = CarrierLimits(per_second=10, per_hour=60, per_day=250)
    reservation, budget = plan_reservation(FRESH, wanted=16, limits=limits, now=NOW)
    assert reservation.windows is not None

    after = give_back(budget, unused=13, windows=reservation.windows)

    assert (after.hour_used, after.day_used) == (3, 3)
    assert after.next_slot_at == budget.next_slot_at  # the spacing is not given back


def test_slots_of_a_window_that_has_passed_are_not_given_back_to_the_new_one():
    limits = CarrierLimits(per_second=10, per_hour=60, per_day=250)
    reservation, _ = plan_reservation(FRESH, wanted=5, limits=limits, now=NOW)
    next_hour = NOW + timedelta(hours=1)
    _, budget = plan_reservation(FRESH, wanted=2, limits=limits, now=next_hour)
    budget = Budget(
        budget.next_slot_at, budget.hour_window_start, 2, reservation.windows.day_start, 7, None
    )

    after = give_back(budget, unused=5, windows=reservation.windows)

    assert (after.hour_used, after.day_used) == (2, 2)  # the new hour keeps its own count
