"""The order being judged, seen from one leg: its neighbours, calendar and thresholds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from app.kernel.calendar import BusinessCalendar, CalendarTable
from app.kernel.findings import Finding, Severity
from app.kernel.thresholds import RuleThresholds, ThresholdTable
from app.reconciliation.facts import EventFacts, LegFacts, OrderFacts
from carriers.types import PHYSICAL_STATUSES, TrackingStatus

CANCELLED_CLAIMS = frozenset({"cancelled", "canceled"})

# Consolidators often report the tender as free text (FedEx Ground Economy: "Tendered to USPS",
# "Delivered to local post office") under an in-transit or delivered code; a handed_off status
# from the parser always wins over these words.
_HANDOFF_WORDS = re.compile(
    r"\btendered\s+to\b"
    r"|\b(?:delivered|handed(?:\s+over)?|transferred|released)\s+to\s+(?:the\s+)?(?:local\s+)?"
    r"(?:usps|u\.?s\.?\s+postal\s+service|postal\s+service|post\s+office)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Due:
    """A finding a rule raises from `due_at` on (None: as soon as the data show it).

    `needs_fresh` marks findings that rest on the carrier's silence; a stale leg holds them back.
    """

    finding: Finding
    due_at: datetime | None
    needs_fresh: bool


@dataclass(frozen=True, slots=True)
class Scene:
    order: OrderFacts
    now: datetime
    thresholds: ThresholdTable
    calendars: CalendarTable
    # Indexes over the order's legs, built once: every rule asks about each leg's neighbours,
    # and scanning the legs for each one made judging an order quadratic in its size.
    _by_id: dict[int, LegFacts] = field(init=False, repr=False, compare=False)
    _previous: dict[int, LegFacts] = field(init=False, repr=False, compare=False)
    _delivering: frozenset[int] = field(init=False, repr=False, compare=False)
    _scanned_later: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        legs = self.order.legs
        by_id = {leg.leg_id: leg for leg in legs}
        previous = {leg.handoff_to_leg_id: leg for leg in reversed(legs) if leg.handoff_to_leg_id}
        ends = [leg for leg in legs if leg.handoff_to_leg_id not in by_id]
        live = [leg for leg in ends if leg.current_status != TrackingStatus.CANCELLED]
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_previous", previous)
        object.__setattr__(self, "_delivering", frozenset(leg.leg_id for leg in live or ends))
        object.__setattr__(self, "_scanned_later", _scanned_later(legs, by_id))

    @property
    def claim(self) -> str:
        return (self.order.claimed_status or "").strip().lower()

    @property
    def cancelled(self) -> bool:
        return self.claim in CANCELLED_CLAIMS

    def calendar(self, leg: LegFacts) -> BusinessCalendar:
        return self.calendars.for_carrier(leg.carrier)

    def limits(self, leg: LegFacts) -> RuleThresholds:
        return self.thresholds.for_leg(leg.carrier, leg.service)

    def previous(self, leg: LegFacts) -> LegFacts | None:
        """The leg that hands the parcel to `leg`, if it is in the order."""
        return self._previous.get(leg.leg_id)

    def following(self, leg: LegFacts) -> LegFacts | None:
        """The leg `leg` hands the parcel to, if it is known."""
        if leg.handoff_to_leg_id is None:
            return None
        return self._by_id.get(leg.handoff_to_leg_id)

    def is_handoff_target(self, leg: LegFacts) -> bool:
        return leg.handed_off_at is not None or self.previous(leg) is not None

    def scanned_later(self, leg: LegFacts) -> bool:
        """True when a later leg of the same parcel has a physical scan: whatever this leg's
        carrier says, the parcel has entered the network."""
        return leg.leg_id in self._scanned_later

    def is_delivering(self, leg: LegFacts) -> bool:
        """True for the last known leg of each parcel; voided labels are left out unless nothing
        else is left."""
        return leg.leg_id in self._delivering


def _scanned_later(legs: tuple[LegFacts, ...], by_id: dict[int, LegFacts]) -> frozenset[int]:
    scanned = set()
    for leg in legs:
        seen, following = {leg.leg_id}, by_id.get(leg.handoff_to_leg_id or -1)
        while following is not None and following.leg_id not in seen:
            if has_physical_scan(following):
                scanned.add(leg.leg_id)
                break
            seen.add(following.leg_id)
            following = by_id.get(following.handoff_to_leg_id or -1)
    return frozenset(scanned)


def has_physical_scan(leg: LegFacts) -> bool:
    """True once the carrier has shown the parcel physically in its network."""
    if leg.current_status in PHYSICAL_STATUSES:
        return True
    return any(event.status in PHYSICAL_STATUSES for event in leg.events)


def first_physical_event(leg: LegFacts) -> EventFacts | None:
    physical = [event for event in leg.events if event.status in PHYSICAL_STATUSES]
    return min(physical, key=lambda event: event.occurred_at, default=None)


def newest_event(leg: LegFacts, status: TrackingStatus | None = None) -> EventFacts | None:
    """The latest event, optionally of one status; robust to events that arrive out of order."""
    matching = [event for event in leg.events if status is None or event.status == status]
    return max(matching, key=lambda event: event.occurred_at, default=None)


def handoff_event(leg: LegFacts) -> EventFacts | None:
    """The scan where `leg` handed the parcel on: a handed_off status first, else its words."""
    by_status = [event for event in leg.events if event.status == TrackingStatus.HANDED_OFF]
    if by_status:
        return min(by_status, key=lambda event: event.occurred_at)
    by_words = [event for event in leg.events if _HANDOFF_WORDS.search(event.description)]
    return min(by_words, key=lambda event: event.occurred_at, default=None)


def label_created_at(leg: LegFacts) -> datetime:
    """When the label came to exist: our record, or the carrier's earlier label event."""
    carrier_label = [e.occurred_at for e in leg.events if e.status == TrackingStatus.LABEL_CREATED]
    return min([leg.label_created_at, *carrier_label])


def leg_finding(
    rule: str, severity: Severity, leg: LegFacts, explanation: str, action: str, **evidence: str
) -> Finding:
    """A finding about one leg; evidence always records the leg's current status."""
    return Finding(
        rule=rule,
        severity=severity,
        leg_id=leg.leg_id,
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        explanation=explanation,
        recommended_action=action,
        evidence={"current_status": str(leg.current_status or ""), **evidence},
    )
