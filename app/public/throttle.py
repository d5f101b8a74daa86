"""Rate limits on the public status lookups, per client address and per order number.

Counters live in this process's memory (the `limits` package, moving windows): nothing to set
up, and they cost no database write on a path anyone on the internet can call. With N API
processes an address gets up to N times the limit; run one process behind the proxy or lower
the limits accordingly.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.errors import RateLimited


class PublicThrottle:
    """Counts lookups; `check` raises RateLimited (429 with Retry-After) past either limit."""

    def __init__(self, *, per_address: str, per_order: str) -> None:
        self._per_address = parse_many(per_address)
        self._per_order = parse_many(per_order)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, *, address: str, order_key: str | None) -> None:
        """Counts one lookup from `address` (about `order_key`, when one is named)."""
        self._hit(self._per_address, "address", address)
        if order_key is not None:
            self._hit(self._per_order, "order", order_key)

    def _hit(self, items: list[RateLimitItem], scope: str, key: str) -> None:
        for item in items:
            if not self._limiter.hit(item, scope, key):
                reset_at = self._limiter.get_window_stats(item, scope, key).reset_time
                raise RateLimited(
                    "Too many status lookups; please wait a little and try again.",
                    retry_after_seconds=math.ceil(reset_at - time.time()),
                )
