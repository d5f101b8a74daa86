from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

# A Retry-After beyond this is treated as a broken header rather than parking a message for days.
MAX_RETRY_AFTER = timedelta(hours=6)
# 2**32 * base is far past any cap; stops the float from overflowing for absurd attempt counts.
_MAX_EXPONENT = 32


class RandomSource(Protocol):
    """Anything with random() -> float in [0, 1): random.Random, or a fixed stub in tests."""

    def random(self) -> float: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a failing notification is retried before it is declared dead."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("need 0 < base <= cap")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


DEFAULT_RETRY_POLICY = RetryPolicy()


def next_attempt_delay(
    attempt: int,
    retry_after: timedelta | None,
    rng: RandomSource,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> timedelta:
    """Returns a delay in [0, min(cap, base * 2**(attempt-1))] ("full jitter"), never shorter
    than the receiver's Retry-After (itself bounded by MAX_RETRY_AFTER).

    `attempt` counts the attempts made so far, the failed one included (1 after the first try).
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    exponent = min(attempt - 1, _MAX_EXPONENT)
    ceiling = min(policy.cap, policy.base * (1 << exponent))
    # Full jitter spreads retries of a burst of alerts over the whole window, so a receiver that
    # comes back is not hit by every dispatcher at once.
    delay = ceiling * rng.random()
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, timedelta(0)), MAX_RETRY_AFTER))
    return delay
