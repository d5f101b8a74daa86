"""Valid tracking numbers for the sandbox to mint, and the USPS last-mile numbers it decodes.

Check digits come from `carriers.numbers.build_valid_number`, so every minted number detects as
its carrier. Formats minted:

    usps   usps_impb          "94" + STC "001" + MID "905511" + serial(10) + GS1 mod-10 check
    ups    ups_1z             "1Z" + shipper "A1B2C3" + service "03" + serial(7) + 1Z check
    fedex  fedex_express_12   serial(11) + mod-11 check (weights 1, 3, 7 from the right)
    dhl    dhl_ecommerce      "GM" + "29511" + serial(11); DHL eCommerce numbers carry no check

A consolidator's USPS last-mile number is a 26-digit IMpb whose fields carry the leg's story, so
the sandbox "usps" carrier can replay it without knowing the first number:

    "92" + STC "612" + MID(9, one per consolidator) + mode(1) + tender minute(8) + tag(2) + check
    mode 1 = normal last mile, 0 = gap (USPS never scans it); tender minute counts from 2020-01-01
    UTC; tag is two digits of the first leg's dice, which also pick the destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from carriers.numbers import build_valid_number

TENDER_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# 9-digit Mailer IDs start with 9 (6-digit ones never do); one per consolidator, made up here.
LAST_MILE_MIDS = {"fedex": "900100001", "ups": "900100002", "dhl": "900100003"}
_MID_OWNERS = {mid: carrier for carrier, mid in LAST_MILE_MIDS.items()}
_LAST_MILE_PREFIX = "92612"


_FORMATS = {
    # carrier: (number kind, fixed prefix, serial digits)
    "usps": ("usps_impb", "94001905511", 10),
    "ups": ("ups_1z", "1ZA1B2C303", 7),
    "fedex": ("fedex_express_12", "", 11),
    "dhl": ("dhl_ecommerce", "GM29511", 11),
}


def build_number(carrier: str, serial: int) -> str:
    """Returns a number of `carrier`'s format with a valid check digit; distinct serials differ."""
    kind, prefix, width = _FORMATS[carrier]
    if not 0 <= serial < 10**width:
        raise ValueError(f"serial {serial} does not fit {width} digits for {carrier}")
    return build_valid_number(kind, f"{prefix}{serial:0{width}d}")


@dataclass(frozen=True, slots=True)
class LastMileLeg:
    """What a last-mile USPS number says about itself."""

    consolidator: str
    gap: bool
    tendered_at: datetime


def build_last_mile_number(consolidator: str, *, gap: bool, tendered_at: datetime, tag: int) -> str:
    """Returns a valid 26-digit IMpb that `parse_last_mile_number` reads back to the same leg."""
    minute = int((tendered_at - TENDER_EPOCH) // timedelta(minutes=1))
    serial = (
        f"{_LAST_MILE_PREFIX}{LAST_MILE_MIDS[consolidator]}{0 if gap else 1}"
        f"{minute:08d}{tag % 100:02d}"
    )
    return build_valid_number("usps_impb", serial)


def parse_last_mile_number(number: str) -> LastMileLeg | None:
    """Returns the leg a sandbox-minted last-mile number encodes, or None for any other number."""
    if len(number) != 26 or not number.isdigit() or not number.startswith(_LAST_MILE_PREFIX):
        return None
    consolidator = _MID_OWNERS.get(number[5:14])
    if consolidator is None or build_valid_number("usps_impb", number[:-1]) != number:
        return None
    minute = int(number[15:23])
    return LastMileLeg(
        consolidator=consolidator,
        gap=number[14] == "0",
        tendered_at=TENDER_EPOCH + timedelta(minutes=minute),
    )
