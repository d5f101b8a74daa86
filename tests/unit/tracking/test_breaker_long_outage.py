from __future__ import annotations

from datetime import UTC, datetime

from app.kernel.breaker import Breaker, BreakerPolicy, after_failure

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def test_a_breaker_that_failed_hundreds_of_probes_waits_the_longest_cooldown():
    policy = BreakerPolicy()
    breaker = Breaker("half_open", failures=500, open_until=NOW)

    after = after_failure(breaker, now=NOW, policy=policy)

    assert (after.state, after.failures) == ("open", 501)
    assert after.open_until == NOW + policy.max_cooldown
