from carriers.usps.client import UspsClient
from carriers.usps.parse import STATUS_CODES, parse_tracking

__all__ = ["STATUS_CODES", "UspsClient", "parse_tracking"]
