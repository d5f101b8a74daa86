"""A loopback stand-in for the carriers' HTTP APIs, for tests and benchmarks (not installed)."""

from mock_carriers.faults import FaultConfig
from mock_carriers.server import (
    CARRIERS,
    DEFAULT_CREDENTIALS,
    DEFAULT_DHL_API_KEY,
    MockCarrierServer,
    MockShipment,
)
from mock_carriers.stats import RecordedRequest, RequestLog, max_in_window
from mock_carriers.tokens import ClientCredentials

__all__ = [
    "CARRIERS",
    "DEFAULT_CREDENTIALS",
    "DEFAULT_DHL_API_KEY",
    "ClientCredentials",
    "FaultConfig",
    "MockCarrierServer",
    "MockShipment",
    "RecordedRequest",
    "RequestLog",
    "max_in_window",
]
