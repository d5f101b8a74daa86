from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from carriers.errors import CarrierError
from carriers.types import RateLimit, TrackingQuery, TrackingSnapshot


@dataclass(frozen=True, slots=True)
class TrackingFailure:
    """The carrier could not give an answer for this number; `error.retryable` says what to do."""

    tracking_number: str
    error: CarrierError


TrackingResult = TrackingSnapshot | TrackingFailure


@runtime_checkable
class CarrierClient(Protocol):
    """A carrier's tracking API. Implementations never raise: every number gets a result."""

    code: str
    name: str
    batch_size: int
    default_rate_limit: RateLimit

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked."""
        ...
