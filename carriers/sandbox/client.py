from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from carriers.protocol import TrackingResult
from carriers.sandbox.timeline import plan_timeline
from carriers.types import CARRIER_NAMES, RateLimit, TrackingQuery

# Real batch sizes: FedEx tracks up to 30 numbers per request, the others one per request.
_BATCH_SIZES = {"fedex": 30}
# Generous on purpose: the sandbox answers locally, so only the app's own pacing is exercised.
SANDBOX_RATE_LIMIT = RateLimit(requests_per_second=50.0, burst=50)


class SandboxCarrier:
    """A deterministic stand-in for any carrier: same number and clock, same answer, every time."""

    def __init__(
        self,
        code: str,
        *,
        clock: Callable[[], datetime],
        latency: timedelta = timedelta(0),
    ) -> None:
        self.code = code
        self.name = f"{CARRIER_NAMES.get(code, code.upper())} (sandbox)"
        self.batch_size = _BATCH_SIZES.get(code, 1)
        self.default_rate_limit = SANDBOX_RATE_LIMIT
        self._clock = clock
        self._latency = latency

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns one result per query, in order: the scans that happened by the clock's now."""
        if self._latency > timedelta(0):
            await asyncio.sleep(self._latency.total_seconds())
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the sandbox clock must return timezone-aware datetimes")
        return [
            plan_timeline(
                self.code, query.tracking_number, label_created_at=query.label_created_at
            ).snapshot(now)
            for query in queries
        ]
