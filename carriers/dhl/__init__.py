"""DHL Shipment Tracking - Unified adapter."""

from carriers.dhl.client import DhlClient
from carriers.dhl.parse import STATUS_CODES, STATUS_LABELS

__all__ = ["STATUS_CODES", "STATUS_LABELS", "DhlClient"]
