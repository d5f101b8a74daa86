"""A per-carrier circuit breaker, shared by all workers through the carrier's state row (pure).

    closed --(failure_threshold consecutive failed calls)--> open
    open --(cooldown elapsed)--> half_open: one worker sends one probe call
    half_open --(probe succeeds)--> closed;  --(probe fails)--> open, with a longer cooldown

Rate limiting (429) and exhausted quotas pause the carrier; they never count as failures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

_MAX_DOUBLINGS = 32


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5
    cooldown: timedelta = timedelta(minutes=1)
    max_cooldown: timedelta = timedelta(minutes=30)
    probe_timeout: timedelta = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Breaker:
    state: str = "closed"  # closed, open, half_open
    failures: int = 0
    open_until: datetime | None = None


def admits(breaker: Breaker, *, now: datetime, policy: BreakerPolicy) -> tuple[bool, Breaker]:
    """Whether a call may go out now; the first caller after the cooldown becomes the probe."""
    if breaker.state == "closed":
        return True, breaker
    if breaker.open_until is not None and now < breaker.open_until:
        return False, breaker
    # Cooldown over (or a probe timed out): this caller probes, others wait for its verdict.
    return True, replace(breaker, state="half_open", open_until=now + policy.probe_timeout)


def after_success(breaker: Breaker) -> Breaker:
    return Breaker()


def after_failure(breaker: Breaker, *, now: datetime, policy: BreakerPolicy) -> Breaker:
    failures = breaker.failures + 1
    if breaker.state == "half_open" or failures >= policy.failure_threshold:
        # Capped: a day-long outage fails a probe every cooldown, and 2**n minutes soon
        # overflows timedelta (it did, after about 40 failed probes).
        opened_times = min(max(0, failures - policy.failure_threshold), _MAX_DOUBLINGS)
        cooldown = min(policy.max_cooldown, policy.cooldown * (2**opened_times))
        return Breaker(state="open", failures=failures, open_until=now + cooldown)
    return replace(breaker, failures=failures)
