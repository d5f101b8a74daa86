"""Carrier tracking APIs turned into one vocabulary. Knows nothing of the app or the database."""

from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    InvalidTrackingNumber,
    TrackingNotFound,
    TrackingNumberError,
)
from carriers.protocol import CarrierClient, TrackingFailure, TrackingResult
from carriers.types import (
    PHYSICAL_STATUSES,
    TERMINAL_STATUSES,
    Handoff,
    Location,
    RateLimit,
    TrackingEvent,
    TrackingQuery,
    TrackingSnapshot,
    TrackingStatus,
)

__all__ = [
    "PHYSICAL_STATUSES",
    "TERMINAL_STATUSES",
    "CarrierAuthError",
    "CarrierClient",
    "CarrierError",
    "CarrierRateLimited",
    "CarrierResponseInvalid",
    "CarrierUnavailable",
    "Handoff",
    "InvalidTrackingNumber",
    "Location",
    "RateLimit",
    "TrackingEvent",
    "TrackingFailure",
    "TrackingNotFound",
    "TrackingNumberError",
    "TrackingQuery",
    "TrackingResult",
    "TrackingSnapshot",
    "TrackingStatus",
]
