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
