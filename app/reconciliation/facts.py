"""What the rules read: facts about an order and its legs (what they write: app.kernel.findings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.kernel.freshness import fresh_since, polled_since
from carriers.types import TrackingStatus


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class EventFacts:
    """One scan on a leg, already normalized to firstscan's vocabulary."""

    status: TrackingStatus
    occurred_at: datetime
    carrier_code: str
    description: str
    location: str | None = None

    def __post_init__(self) -> None:
        _require_aware("EventFacts.occurred_at", self.occurred_at)


@dataclass(frozen=True, slots=True)
class LegFacts:
    """One carrier's part of a parcel's journey, as firstscan knows it at evaluation time.

    `current_status` is None until the first successful poll. `tracking_started_at` is when
    firstscan began tracking the number (for a discovered hand-off leg, when it was discovered).
    `handed_off_at`, on a last-mile leg, is when the previous leg's hand-off event happened.
    """

    leg_id: int
    carrier: str
    service: str | None
    tracking_number: str
    sequence: int
    label_created_at: datetime
    events: tuple[EventFacts, ...]
    current_status: TrackingStatus | None
    tracking_started_at: datetime
    last_successful_poll_at: datetime | None
    max_poll_age: timedelta
    handoff_to_leg_id: int | None = None
    handed_off_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in (
            "label_created_at",
            "tracking_started_at",
            "last_successful_poll_at",
            "handed_off_at",
        ):
            _require_aware(f"LegFacts.{name}", getattr(self, name))

    def is_fresh(self, now: datetime) -> bool:
        """True when the last successful poll is recent enough to trust the carrier's silence."""
        if self.last_successful_poll_at is None:
            return False
        return polled_since(self.last_successful_poll_at, fresh_since(now, self.max_poll_age))


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """An order as our side claims it, with every leg of every parcel."""

    order_number: str
    claimed_status: str | None
    promised_delivery_on: date | None
    legs: tuple[LegFacts, ...]


@dataclass(frozen=True, slots=True)
class CarrierHealth:
    """How firstscan's calls to one carrier's API have been going."""

    carrier: str
    last_success_at: datetime | None
    failing_since: datetime | None
    last_error: str | None

    def __post_init__(self) -> None:
        _require_aware("CarrierHealth.last_success_at", self.last_success_at)
        _require_aware("CarrierHealth.failing_since", self.failing_since)


@dataclass(frozen=True, slots=True)
class PushSilence:
    """A carrier whose pushes stopped: since when firstscan polls its legs instead, and when its
    last push came (None: never)."""

    carrier: str
    silent_since: datetime
    last_push_at: datetime | None

    def __post_init__(self) -> None:
        _require_aware("PushSilence.silent_since", self.silent_since)
        _require_aware("PushSilence.last_push_at", self.last_push_at)


@dataclass(frozen=True, slots=True)
class QuarantineSummary:
    """What the jobs have set aside because handling it raised: counts by member type ("order",
    "leg", "message"), since when the oldest has waited, and a few named examples."""

    counts: Mapping[str, int]
    oldest_since: datetime | None
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_aware("QuarantineSummary.oldest_since", self.oldest_since)
