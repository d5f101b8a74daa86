"""Carrier tracking APIs turned into one vocabulary. Knows nothing of the app or the database."""

from carriers.dhl import DhlClient
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
from carriers.fedex import FedexClient
from carriers.numbers import (
    FORMAT_KINDS,
    KNOWN_CARRIERS,
    NumberFormat,
    build_valid_number,
    check_number_for_carrier,
    detect_carriers,
    detect_formats,
    normalize_tracking_number,
)
from carriers.protocol import CarrierClient, TrackingFailure, TrackingResult
from carriers.registry import (
    CarrierConfig,
    CarrierCredentials,
    UnconfiguredCarrier,
    build_carrier_clients,
)
from carriers.sandbox import (
    SandboxCarrier,
    Scenario,
    example_number,
    plan_timeline,
    scenario_for,
)
from carriers.types import (
    CARRIER_CODES,
    CARRIER_NAMES,
    PHYSICAL_STATUSES,
    TERMINAL_STATUSES,
    Handoff,
    Location,
    PartnerNumber,
    RateLimit,
    TrackingEvent,
    TrackingQuery,
    TrackingSnapshot,
    TrackingStatus,
    carrier_name,
)
from carriers.ups import UpsClient
from carriers.usps import UspsClient

__all__ = [
    "CARRIER_CODES",
    "CARRIER_NAMES",
    "FORMAT_KINDS",
    "KNOWN_CARRIERS",
    "PHYSICAL_STATUSES",
    "TERMINAL_STATUSES",
    "CarrierAuthError",
    "CarrierClient",
    "CarrierConfig",
    "CarrierCredentials",
    "CarrierError",
    "CarrierRateLimited",
    "CarrierResponseInvalid",
    "CarrierUnavailable",
    "DhlClient",
    "FedexClient",
    "Handoff",
    "InvalidTrackingNumber",
    "Location",
    "NumberFormat",
    "PartnerNumber",
    "RateLimit",
    "SandboxCarrier",
    "Scenario",
    "TrackingEvent",
    "TrackingFailure",
    "TrackingNotFound",
    "TrackingNumberError",
    "TrackingQuery",
    "TrackingResult",
    "TrackingSnapshot",
    "TrackingStatus",
    "UnconfiguredCarrier",
    "UpsClient",
    "UspsClient",
    "build_carrier_clients",
    "build_valid_number",
    "carrier_name",
    "check_number_for_carrier",
    "detect_carriers",
    "detect_formats",
    "example_number",
    "normalize_tracking_number",
    "plan_timeline",
    "scenario_for",
]
