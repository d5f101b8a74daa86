"""A loopback stand-in for the carriers' HTTP APIs (raw ASGI; no web framework in carriers/)."""

from carriers.mock_server.app import (
    CARRIERS,
    DEFAULT_CREDENTIALS,
    DEFAULT_DHL_API_KEY,
    MockCarrierServer,
    MockShipment,
)
from carriers.mock_server.faults import FaultConfig
from carriers.mock_server.stats import RecordedRequest, RequestLog, max_in_window
from carriers.mock_server.tokens import ClientCredentials

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
