from carriers.ups.client import UpsClient
from carriers.ups.parse import STATUS_CODES, STATUS_TYPES, parse_tracking

__all__ = ["STATUS_CODES", "STATUS_TYPES", "UpsClient", "parse_tracking"]
