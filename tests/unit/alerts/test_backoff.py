from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.alerts.backoff import MAX_RETRY_AFTER, RetryPolicy, next_attempt_delay

POLICY = RetryPolicy()


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


unit_interval = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
attempts = st.integers(min_value=1, max_value=10_000)


def window(attempt: int) -> timedelta:
    return min(POLICY.cap, POLICY.base * 2 ** min(attempt - 1, 40))


@given(attempt=attempts, draw=unit_interval)
def test_delay_stays_between_zero_and_the_capped_exponential_window(attempt, draw):
    delay = next_attempt_delay(attempt, None, FixedRandom(draw))

    assert timedelta(0) <= delay <= window(attempt)
    assert delay <= timedelta(hours=1)


@given(attempt=attempts, low=unit_interval, high=unit_interval)
def test_delay_grows_with_the_random_draw_so_retries_are_spread_over_the_window(attempt, low, high):
    low, high = sorted((low, high))

    assert next_attempt_delay(attempt, None, FixedRandom(low)) <= next_attempt_delay(
        attempt, None, FixedRandom(high)
    )


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(seconds=60)),
        (3, timedelta(seconds=120)),
        (7, timedelta(seconds=1920)),
        (8, timedelta(hours=1)),
        (12, timedelta(hours=1)),
    ],
)
def test_window_doubles_from_thirty_seconds_until_the_one_hour_cap(attempt, ceiling):
    almost_one = 1 - 2**-40

    assert next_attempt_delay(attempt, None, FixedRandom(0.0)) == timedelta(0)
    top = next_attempt_delay(attempt, None, FixedRandom(almost_one))
    assert ceiling - timedelta(milliseconds=1) < top <= ceiling


def test_jitter_is_full_a_seeded_source_spreads_delays_over_the_whole_window():
    rng = random.Random(7)

    delays = [next_attempt_delay(10, None, rng) for _ in range(200)]

    assert min(delays) < timedelta(minutes=10)
    assert max(delays) > timedelta(minutes=50)
    assert len(set(delays)) > 190


@given(attempt=attempts, draw=unit_interval, seconds=st.integers(0, 10 * 24 * 3600))
def test_delay_is_never_shorter_than_retry_after_up_to_its_bound(attempt, draw, seconds):
    retry_after = timedelta(seconds=seconds)

    delay = next_attempt_delay(attempt, retry_after, FixedRandom(draw))

    assert delay >= min(retry_after, MAX_RETRY_AFTER)
    assert delay <= max(window(attempt), min(retry_after, MAX_RETRY_AFTER))


def test_retry_after_longer_than_the_cap_is_honoured():
    delay = next_attempt_delay(1, timedelta(hours=2), FixedRandom(0.5))

    assert delay == timedelta(hours=2)


def test_a_negative_retry_after_is_ignored():
    delay = next_attempt_delay(1, timedelta(seconds=-30), FixedRandom(0.5))

    assert delay == timedelta(seconds=15)


def test_custom_policy_changes_base_and_cap():
    policy = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=5))

    assert next_attempt_delay(3, None, FixedRandom(0.5), policy=policy) == timedelta(seconds=2)
    assert next_attempt_delay(30, None, FixedRandom(0.5), policy=policy) == timedelta(seconds=2.5)


def test_attempt_zero_is_rejected():
    with pytest.raises(ValueError, match="from 1"):
        next_attempt_delay(0, None, FixedRandom(0.5))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": timedelta(0)},
        {"base": timedelta(minutes=2), "cap": timedelta(minutes=1)},
        {"max_attempts": 0},
    ],
)
def test_policy_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked nowhere else either
        RetryPolicy(**kwargs)
