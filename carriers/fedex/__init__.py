"""FedEx Track API adapter."""

from carriers.fedex.client import FedexClient
from carriers.fedex.parse import STATUS_CODES

__all__ = ["STATUS_CODES", "FedexClient"]
