"""Rate limits on the public status lookups, per client address and per order number.

Moving windows in this process's memory: for each limit and key, the times of its hits still
inside the window (never more than the limit allows), so a check costs a few deque operations
and no database write on a path anyone on the internet can call. Keys whose hits have all left
their window are swept once per longest window, on a check, so no thread wakes up to do it (the
`limits` package's memory storage scans every key from a timer thread every 10 ms, which under
load took more CPU than the lookups it guarded). With N API processes an address gets up to N
times the limit; run one process behind the proxy or lower the limits accordingly.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from limits import parse_many

from app.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Window:
    """At most `amount` hits in any `seconds` long stretch."""

    amount: int
    seconds: float


def parse_windows(text: str) -> tuple[Window, ...]:
    """'10/minute;60/hour' (the settings' syntax) as windows."""
    return tuple(Window(item.amount, item.get_expiry()) for item in parse_many(text))


class PublicThrottle:
    """Counts lookups; `check` raises RateLimited (429 with Retry-After) past either limit."""

    def __init__(
        self,
        *,
        per_address: str,
        per_order: str,
        clock: Callable[[], float] = time.monotonic,
        what: str = "status lookups",
    ) -> None:
        self._what = what
        self._windows = {"address": parse_windows(per_address), "order": parse_windows(per_order)}
        self._clock = clock
        self._hits: dict[tuple[str, int, str], deque[float]] = {}
        self._longest = max(w.seconds for ws in self._windows.values() for w in ws)
        self._next_sweep = clock() + self._longest

    def check(self, *, address: str, order_key: str | None) -> None:
        """Counts one lookup from `address` (about `order_key`, when one is named)."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        self._hit("address", address, now)
        if order_key is not None:
            self._hit("order", order_key, now)

    def _hit(self, scope: str, key: str, now: float) -> None:
        # Limit by limit, as the `limits` package did: a hit counted against a shorter window
        # stays counted when a longer one refuses.
        for index, window in enumerate(self._windows[scope]):
            hits = self._hits.get((scope, index, key))
            if hits is None:
                hits = self._hits[(scope, index, key)] = deque()
            horizon = now - window.seconds
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= window.amount:
                raise RateLimited(
                    f"Too many {self._what}; please wait a little and try again.",
                    retry_after_seconds=math.ceil(hits[0] + window.seconds - now),
                )
            hits.append(now)

    def _sweep(self, now: float) -> None:
        for (scope, index, key), hits in list(self._hits.items()):
            if not hits or hits[-1] < now - self._windows[scope][index].seconds:
                del self._hits[(scope, index, key)]
        self._next_sweep = now + self._longest
