from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

# The carriers firstscan tracks: lowercase slug (folder, DB value, registry key, log field) -> the
# carrier's own spelling of its name.
CARRIER_NAMES: Final = MappingProxyType(
    {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL"}
)
CARRIER_CODES: tuple[str, ...] = tuple(CARRIER_NAMES)


def carrier_name(code: str) -> str:
    """The carrier's own spelling of its name; an unknown code is shown as given."""
    return CARRIER_NAMES.get(code, code)


class TrackingStatus(StrEnum):
    """One vocabulary for all carriers; the gap from LABEL_CREATED to ACCEPTED is the product."""

    LABEL_CREATED = "label_created"  # electronic notice only; nothing physical scanned yet
    ACCEPTED = "accepted"  # first physical scan: the parcel entered the carrier's network
    IN_TRANSIT = "in_transit"
    HANDED_OFF = "handed_off"  # tendered to the next (last-mile) carrier
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"  # the carrier does not know the number
    UNKNOWN = "unknown"  # a code our tables do not know; never guessed


# Statuses after which nothing more will happen to the parcel on this leg.
TERMINAL_STATUSES = frozenset(
    {TrackingStatus.DELIVERED, TrackingStatus.RETURNED_TO_SENDER, TrackingStatus.CANCELLED}
)

# Statuses that prove the parcel physically entered the carrier's network.
PHYSICAL_STATUSES = frozenset(TrackingStatus) - {
    TrackingStatus.LABEL_CREATED,
    TrackingStatus.CANCELLED,
    TrackingStatus.NOT_FOUND,
    TrackingStatus.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class Location:
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def describe(self) -> str:
        """Human-readable 'City, ST 12345, US' with missing parts left out."""
        city_state = ", ".join(p for p in (self.city, self.state) if p)
        return " ".join(p for p in (city_state, self.postal_code, self.country) if p)


# Carriers whose status code names one kind of scan: a UPS activity code (OR origin scan, AR
# arrival, FS delivered) is one scan of one status type, while its wording differs between Track
# Alert and the Track API for the same scan ("On the Way" vs "Origin Scan"). DHL's codes are
# coarse ("transit" covers every hub scan), so for the others the wording tells scans apart.
CODE_NAMED_SCAN_CARRIERS: Final = frozenset({"ups"})


def codes_name_scans(carrier: str) -> bool:
    """True when this carrier's status code, time and place identify a scan without its words."""
    return carrier in CODE_NAMED_SCAN_CARRIERS


def scan_key(
    *,
    code: str,
    occurred_at: datetime,
    city: str | None,
    postal_code: str | None,
    description: str | None,
) -> str:
    """Returns a scan's stored identity (32 hex): the same inputs always give the same key.

    `occurred_at` counts to the minute in UTC; `description` None leaves the wording out (a
    carrier whose code names the scan). Stored keys are rewritten by a migration whenever this
    changes (migrations/versions/2026-12-04_ups_scan_identity.py).
    """
    parts = [
        code.strip().upper(),
        occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
        (city or "").strip().upper(),
        (postal_code or "").strip().upper(),
    ]
    if description is not None:
        parts.append(" ".join(description.split()).upper())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One scan as the carrier reported it, with its normalized meaning.

    `occurred_at` is timezone-aware and keeps the carrier's own UTC offset (the local time of the
    scan); compare it freely, convert with `.astimezone(UTC)` to store. `code_names_scan` is
    set wherever an event of a carrier in CODE_NAMED_SCAN_CARRIERS is built (its parser, the
    sandbox, the firstscan-format push): the wording then stays out of `dedupe_key`.
    """

    status: TrackingStatus
    occurred_at: datetime
    carrier_code: str
    description: str
    location: Location | None = None
    code_names_scan: bool = False

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("TrackingEvent.occurred_at must be timezone-aware")

    @property
    def dedupe_key(self) -> str:
        """Stable identity of the scan: the same scan polled twice, or pushed then polled by a
        carrier whose code names the scan, gives the same key."""
        loc = self.location or Location()
        return scan_key(
            code=self.carrier_code,
            occurred_at=self.occurred_at,
            city=loc.city,
            postal_code=loc.postal_code,
            description=None if self.code_names_scan else self.description,
        )


@dataclass(frozen=True, slots=True)
class Handoff:
    """The carrier names a second number under which another carrier delivers the last mile."""

    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class PartnerNumber:
    """The carrier names a number under which a delivery partner that firstscan does not track
    (a foreign postal service) carries the parcel on: worth finding the order by, never polled.

    `number` is as the carrier wrote it; `partner_name` only when the carrier names the partner.
    """

    number: str
    partner_name: str | None = None


@dataclass(frozen=True, slots=True)
class TrackingQuery:
    """One number to track. `label_created_at` is a hint: live carriers ignore it, the sandbox
    anchors its simulated timeline on it so that every poll replays the same scans."""

    tracking_number: str
    service: str | None = None
    label_created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TrackingSnapshot:
    """What a carrier currently says about one number.

    `events` are oldest first. `status` is the carrier's current status, normally the newest
    event's; a label-only answer has status LABEL_CREATED and may have no events at all.
    """

    carrier: str
    tracking_number: str
    status: TrackingStatus
    events: tuple[TrackingEvent, ...] = ()
    service: str | None = None
    estimated_delivery_at: datetime | None = None
    handoff: Handoff | None = None
    unknown_codes: tuple[str, ...] = field(default=())
    partner_numbers: tuple[PartnerNumber, ...] = ()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A carrier's published limits; None means the carrier publishes no such limit."""

    requests_per_second: float
    requests_per_hour: int | None = None
    requests_per_day: int | None = None
    burst: int = 1

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=1 / self.requests_per_second)


@dataclass(frozen=True, slots=True)
class SubscriptionAnswer:
    """Which numbers a carrier subscribed to push and which it refused, normalized."""

    subscribed: tuple[str, ...]
    refused: tuple[str, ...]
    # The carrier's name for the subscription: USPS's subscriptionId; UPS gives none, so the
    # request's transId.
    reference: str | None = None
