from __future__ import annotations

CARRIER_NAMES: dict[str, str] = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL"}


def carrier_name(code: str) -> str:
    """The carrier's own spelling of its name; an unknown code is shown as given."""
    return CARRIER_NAMES.get(code, code)
