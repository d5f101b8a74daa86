from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.backoff import MAX_RETRY_AFTER
from app.alerts.delivery import DeliveryResult
from app.alerts.destinations import (
    DestinationLimits,
    DestinationState,
    Verdict,
    after_verdict,
    is_paused,
    judge_answer,
    pause_until,
    plan_sends,
)
from app.kernel.breaker import Breaker, BreakerPolicy
from app.kernel.send_slots import Spacing

NOW = datetime(2026, 12, 17, 15, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)
LIMITS = DestinationLimits(Spacing(1, burst=2))


@pytest.mark.parametrize(
    ("paused_until", "retry_after", "expected"),
    [
        (None, timedelta(seconds=30), NOW + 30 * SECOND),  # the receiver's Retry-After
        (None, None, NOW + 2 * SECOND),  # none sent: a burst's worth of intervals
        (None, timedelta(seconds=-5), NOW),  # a date in the past: no wait beyond now
        (None, timedelta(days=3), NOW + MAX_RETRY_AFTER),  # a broken header is bounded
        (NOW + 60 * SECOND, timedelta(seconds=30), NOW + 60 * SECOND),  # a longer pause stays
        (NOW + 10 * SECOND, timedelta(seconds=30), NOW + 30 * SECOND),  # a shorter one grows
    ],
)
def test_a_429_pauses_the_destination_until_its_retry_after(paused_until, retry_after, expected):
    assert (
        pause_until(paused_until, retry_after=retry_after, spacing=LIMITS.spacing, now=NOW)
        == expected
    )


@pytest.mark.parametrize(
    ("result", "verdict"),
    [
        (DeliveryResult.delivered(status_code=200), Verdict.SUCCESS),
        (
            DeliveryResult.retry("HTTP 429", status_code=429, retry_after=SECOND),
            Verdict.RATE_LIMITED,
        ),
        (DeliveryResult.retry("HTTP 503", status_code=503), Verdict.FAILURE),
        (DeliveryResult.retry("timed out"), Verdict.FAILURE),
        (DeliveryResult.permanent("HTTP 404: no_service", status_code=404), Verdict.FAILURE),
        (DeliveryResult.permanent("invalid alert payload"), Verdict.NONE),
    ],
)
def test_each_answer_says_what_it_says_about_the_destination(result, verdict):
    assert judge_answer(result) is verdict


def test_a_paused_destination_grants_nothing_until_the_pause_ends():
    state = DestinationState(paused_until=NOW + 30 * SECOND)

    reservation, after = plan_sends(state, wanted=3, limits=LIMITS, now=NOW)

    assert (reservation.send_at, reservation.wait_until) == ((), NOW + 30 * SECOND)
    assert after == state
    assert is_paused(state, now=NOW)
    assert not is_paused(state, now=NOW + 30 * SECOND)


def test_after_the_pause_the_burst_goes_at_once_and_the_pause_is_cleared():
    state = DestinationState(next_slot_at=NOW - SECOND, paused_until=NOW)

    reservation, after = plan_sends(state, wanted=3, limits=LIMITS, now=NOW)

    assert reservation.send_at == (NOW, NOW, NOW + SECOND)
    assert (after.next_slot_at, after.paused_until) == (NOW + 3 * SECOND, None)


def test_repeated_failures_open_the_breaker_and_the_destination_waits_not_retries():
    policy = BreakerPolicy(failure_threshold=3, cooldown=timedelta(minutes=1))
    limits = DestinationLimits(LIMITS.spacing, breaker=policy)
    state = DestinationState()
    for _ in range(3):
        state = after_verdict(state, Verdict.FAILURE, limits=limits, now=NOW)

    reservation, _ = plan_sends(state, wanted=5, limits=limits, now=NOW + SECOND)

    assert (state.breaker.state, state.breaker.failures) == ("open", 3)
    assert (reservation.send_at, reservation.wait_until) == ((), NOW + timedelta(minutes=1))
    assert is_paused(state, now=NOW + SECOND)


def test_after_the_cooldown_one_probe_goes_and_a_success_closes_the_breaker():
    limits = DestinationLimits(LIMITS.spacing, breaker=BreakerPolicy())
    state = DestinationState(breaker=Breaker("open", 5, NOW))

    reservation, probing = plan_sends(state, wanted=5, limits=limits, now=NOW)
    closed = after_verdict(probing, Verdict.SUCCESS, limits=limits, now=NOW)

    assert reservation.send_at == (NOW,)
    assert probing.breaker.state == "half_open"
    assert closed.breaker == Breaker()


def test_a_429_is_never_counted_as_a_failure():
    state = DestinationState(breaker=Breaker("closed", 2, None))

    after = after_verdict(state, Verdict.RATE_LIMITED, limits=LIMITS, now=NOW)

    assert after == state
