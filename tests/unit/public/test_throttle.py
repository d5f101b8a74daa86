from __future__ import annotations

import pytest

from app.errors import RateLimited
from app.public.throttle import PublicThrottle


def test_an_address_past_its_limit_is_refused_with_retry_after():
    throttle = PublicThrottle(per_address="3/minute", per_order="100/minute")
    for n in range(3):
        throttle.check(address="203.0.113.7", order_key=f"FS{n}")

    with pytest.raises(RateLimited) as refused:
        throttle.check(address="203.0.113.7", order_key="FS9")

    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    throttle.check(address="198.51.100.1", order_key="FS9")  # another address is unaffected


def test_an_order_past_its_limit_is_refused_from_any_address():
    throttle = PublicThrottle(per_address="100/minute", per_order="2/hour")
    throttle.check(address="a", order_key="FS1001")
    throttle.check(address="b", order_key="FS1001")

    with pytest.raises(RateLimited) as refused:
        throttle.check(address="c", order_key="FS1001")

    assert 60 < int(refused.value.headers["Retry-After"]) <= 3600
    throttle.check(address="c", order_key="FS1002")


def test_a_lookup_without_an_order_counts_only_against_the_address():
    throttle = PublicThrottle(per_address="2/minute", per_order="1/minute")
    throttle.check(address="a", order_key=None)
    throttle.check(address="a", order_key=None)

    with pytest.raises(RateLimited):
        throttle.check(address="a", order_key=None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_moves_a_hit_leaves_it_one_period_later():
    clock = FakeClock()
    throttle = PublicThrottle(per_address="2/minute", per_order="100/minute", clock=clock)
    throttle.check(address="a", order_key=None)
    clock.now += 30
    throttle.check(address="a", order_key=None)
    clock.now += 20

    with pytest.raises(RateLimited) as refused:
        throttle.check(address="a", order_key=None)

    # The oldest hit in the window leaves it 60 s after it came, 10 s from now.
    assert refused.value.headers["Retry-After"] == "10"
    clock.now += 10
    throttle.check(address="a", order_key=None)  # the first hit has left; the refusal not counted
    with pytest.raises(RateLimited):
        throttle.check(address="a", order_key=None)


def test_a_hit_counted_by_the_short_window_stays_when_the_long_one_refuses():
    clock = FakeClock()
    throttle = PublicThrottle(per_address="100/minute", per_order="2/minute;2/hour", clock=clock)
    throttle.check(address="a", order_key="FS1")
    throttle.check(address="a", order_key="FS1")
    clock.now += 61

    with pytest.raises(RateLimited) as refused:
        throttle.check(address="a", order_key="FS1")

    assert 60 < int(refused.value.headers["Retry-After"]) <= 3600


def test_keys_idle_for_longer_than_every_window_are_forgotten():
    clock = FakeClock()
    throttle = PublicThrottle(per_address="5/minute", per_order="5/hour", clock=clock)
    for n in range(50):
        throttle.check(address=f"10.0.0.{n}", order_key=f"FS{n}")
    clock.now += 3601

    throttle.check(address="10.0.1.1", order_key="FS-new")

    assert set(throttle._hits) == {("address", 0, "10.0.1.1"), ("order", 0, "FS-new")}
