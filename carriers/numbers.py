"""Tracking numbers: normalization, which carrier a number can belong to, and check digits.

Formats and check-digit algorithms follow the carriers' published label specifications, as
collected in jkeen/tracking_number_data (couriers/*.json, CHECKSUM_ALGORITHMS.md):

    kind                   carrier  shape                                  check digit
    usps_impb              usps     9[1-5] + 20 or 24 digits; or 420+ZIP5  GS1 mod 10 over the
                                    or 420+ZIP9 before it (30/34 digits)   tracking part (Pub 199)
    usps_20                usps     20 digits (e.g. Certified Mail 7xxx)   GS1 mod 10
    usps_20_ai91           usps     20 digits printed without the "91"     GS1 mod 10 with the 91
    s10                    usps     2 letters, 8 digits, check, "US"       UPU S10 mod 11
    ups_1z                 ups      1Z + 15 letters/digits + check         UPS mod 10, A-Z mapped
    fedex_express_12       fedex    12 digits                              mod 11, weights 3,1,7
    fedex_ground_15        fedex    15 digits                              GS1 mod 10
    fedex_ground_96        fedex    96 + 20 digits (22)                    GS1 mod 10, last 15 only
    fedex_sscc_18          fedex    00 + 16 digits (GS1 SSCC-18)           GS1 mod 10
    fedex_ground_economy   fedex    92 + 20 digits, or those 20 alone      GS1 mod 10 with the 92
    dhl_express            dhl      10 digits                              first 9 digits mod 7
    dhl_ecommerce          dhl      GM + 16 to 18 digits                   none
    dhl_piece_id           dhl      J + 2-3 letters + 9-10 digits (JJD)    none

Accepted only when the carrier is named (no check digit to tell them apart from other carriers'
numbers, so they are never used to guess a carrier):

    kind                   carrier  shape
    dhl_paket              dhl      12 or 20 digits (DHL Paket / Parcel Germany, e.g. 470800204932)
    dhl_ecommerce_alnum    dhl      GM + 14 to 22 letters or digits (DHL eCommerce Americas)
    dhl_ecommerce_intl     dhl      LX, RX, UV, CN, SG, TH, IN, HK or MY + 10 to 39 digits
    dhl_license_plate      dhl      JD + 16 to 18 digits (a piece's license plate)

Overlaps are real, not bugs: FedEx Ground Economy (formerly SmartPost) hands parcels to USPS and
its 22-digit "92" label number is a USPS IMpb that both carriers track, so such a number detects as
both carriers; callers must name a carrier when `detect_carriers` returns more than one. UPS Mail
Innovations numbers are USPS IMpb numbers and are not claimed for UPS. An S10 number of another
postal operator is left out: only one ending in US is a USPS number here.

Not every check digit catches every single-digit typo: UPS doubles every other character, so a
change of 5 there goes unseen; DHL's mod 7 misses a change of 7; FedEx Express and S10 fold two
remainders onto one check digit. GS1 mod 10 (weights 3 and 1) catches every single-digit change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from carriers.types import CARRIER_CODES, carrier_name

KNOWN_CARRIERS: tuple[str, ...] = CARRIER_CODES
_SHAPES = {
    "usps": "20, 22, 26, 30 or 34 digits, or an S10 number ending in US",
    "ups": "1Z followed by 16 letters or digits",
    "fedex": "12, 15, 18, 20 or 22 digits",
    "dhl": "10 digits (Express), 12 or 20 digits (Paket), GM followed by letters and digits "
    "(eCommerce), or a JJD or JD piece number",
}
_SEPARATORS = re.compile(r"[\s\-._]+")


@dataclass(frozen=True)
class NumberFormat:
    carrier: str
    kind: str


def normalize_tracking_number(raw: str) -> str:
    """Returns `raw` upper-cased, without spaces, dashes, dots or underscores; never validates.

    Also the form the app stores and searches order numbers in, so one key finds either."""
    return _SEPARATORS.sub("", raw).upper()


def _gs1_mod10(digits: str) -> int:
    """Returns the GS1 mod 10 check digit: weights 3, 1, 3, ... from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _ups_value(char: str) -> int:
    # UPS maps letters onto digits by (ASCII code - 63) mod 10: A=2, B=3, ... (1Z label spec).
    return int(char) if char.isdigit() else (ord(char) - 63) % 10


def _ups_mod10(body: str) -> int:
    """Returns the 1Z check digit for the 15 characters after "1Z": every second one doubled."""
    total = sum(_ups_value(c) * (2 if i % 2 else 1) for i, c in enumerate(body))
    return (10 - total % 10) % 10


def _fedex_mod11(digits: str) -> int:
    """Returns the FedEx Express check digit: weights 1,3,7 from the right, mod 11, then mod 10."""
    weights = (1, 3, 7)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(digits)))
    return total % 11 % 10


def _s10_mod11(digits: str) -> int:
    """Returns the UPU S10 check digit for 8 serial digits (weights 8,6,4,2,3,5,9,7)."""
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def _impb_parts(number: str) -> list[str]:
    """Returns the tracking parts a USPS number can hold: without a 420+ZIP routing prefix."""
    if not number.startswith("420"):
        return [number]
    # 420 + ZIP5 or 420 + ZIP+4 precede the 22 or 26 digit tracking code (Pub 199, IMpb).
    return [number[n:] for n in (8, 12) if re.fullmatch(r"9[1-5](\d{20}|\d{24})", number[n:])]


def _check_impb(number: str) -> bool:
    return any(_gs1_mod10(p[:-1]) == int(p[-1]) for p in _impb_parts(number))


def _check_tail(prefix: str, start: int = 0) -> Callable[[str], bool]:
    """Returns a GS1 mod 10 check over number[start:], with `prefix` put back in front first."""

    def check(number: str) -> bool:
        covered = prefix + number[start:-1]
        return _gs1_mod10(covered) == int(number[-1])

    return check


def _check_economy(number: str) -> bool:
    # The 20-digit form is the 22-digit IMpb with its "92" left off; the check digit keeps it.
    return _check_tail("" if len(number) == 22 else "92")(number)


def _check_ups(number: str) -> bool:
    return number[-1].isdigit() and _ups_mod10(number[2:17]) == int(number[-1])


def _check_fedex_express(number: str) -> bool:
    return _fedex_mod11(number[:11]) == int(number[11])


def _check_s10(number: str) -> bool:
    return _s10_mod11(number[2:10]) == int(number[10])


def _check_dhl_express(number: str) -> bool:
    return int(number[:9]) % 7 == int(number[9])


@dataclass(frozen=True)
class _Spec:
    format: NumberFormat
    label: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None


def _spec(
    carrier: str, kind: str, label: str, pattern: str, check: Callable[[str], bool] | None
) -> _Spec:
    return _Spec(NumberFormat(carrier, kind), label, re.compile(pattern), check)


_IMPB = r"9[1-5](\d{20}|\d{24})|420\d{5}9[1-5]\d{20}|420\d{9}9[1-5]\d{20}|420\d{5}9[1-5]\d{24}"

_SPECS: tuple[_Spec, ...] = (
    _spec("usps", "usps_impb", "USPS IMpb number", _IMPB, _check_impb),
    _spec("usps", "usps_20", "USPS 20-digit number", r"\d{20}", _check_tail("")),
    _spec("usps", "usps_20_ai91", "USPS 20-digit number", r"\d{20}", _check_tail("91")),
    _spec("usps", "s10", "USPS S10 international number", r"[A-Z]{2}\d{9}US", _check_s10),
    _spec("ups", "ups_1z", "UPS 1Z number", r"1Z[A-Z0-9]{16}", _check_ups),
    _spec("fedex", "fedex_express_12", "FedEx Express number", r"\d{12}", _check_fedex_express),
    _spec("fedex", "fedex_ground_15", "FedEx Ground number", r"\d{15}", _check_tail("")),
    _spec("fedex", "fedex_ground_96", "FedEx Ground 96 number", r"96\d{20}", _check_tail("", 7)),
    _spec("fedex", "fedex_sscc_18", "FedEx SSCC-18 number", r"00\d{16}", _check_tail("")),
    _spec(
        "fedex",
        "fedex_ground_economy",
        "FedEx Ground Economy number",
        r"92\d{20}|\d{20}",
        _check_economy,
    ),
    _spec("dhl", "dhl_express", "DHL Express number", r"\d{10}", _check_dhl_express),
    _spec("dhl", "dhl_ecommerce", "DHL eCommerce number", r"GM\d{16,18}", None),
    _spec("dhl", "dhl_piece_id", "DHL piece number", r"J[A-Z]{2,3}\d{9,10}", None),
)
# Shapes a carrier documents without a check digit that also fit other carriers' numbers (a
# 12-digit DHL Paket number has the shape of a FedEx Express number): accepted for that carrier
# when the shop names it, never used to detect a carrier.
_NAMED_SPECS: tuple[_Spec, ...] = (
    _spec("dhl", "dhl_paket", "DHL Paket number", r"\d{12}|\d{20}", None),
    _spec("dhl", "dhl_ecommerce_alnum", "DHL eCommerce number", r"GM[A-Z0-9]{14,22}", None),
    _spec(
        "dhl",
        "dhl_ecommerce_intl",
        "DHL eCommerce number",
        r"(LX|RX|UV|CN|SG|TH|IN|HK|MY)\d{10,39}",
        None,
    ),
    _spec("dhl", "dhl_license_plate", "DHL piece license plate", r"JD\d{16,18}", None),
)
_BY_KIND = {s.format.kind: s for s in _SPECS}
FORMAT_KINDS: tuple[str, ...] = tuple(_BY_KIND)


def detect_formats(number: str) -> list[NumberFormat]:
    """Returns every format whose shape and check digit fit the normalized number."""
    normalized = normalize_tracking_number(number)
    return [
        s.format
        for s in _SPECS
        if s.pattern.fullmatch(normalized) and (s.check is None or s.check(normalized))
    ]


def detect_carriers(number: str) -> list[str]:
    """Returns the distinct carriers that could own the number, in KNOWN_CARRIERS order."""
    found = {f.carrier for f in detect_formats(number)}
    return [c for c in KNOWN_CARRIERS if c in found]


def check_number_for_carrier(carrier: str, number: str) -> str | None:
    """Returns None for a valid number of `carrier`, else a short reason naming what is wrong."""
    if carrier not in KNOWN_CARRIERS:
        return f"unknown carrier {carrier!r} (known: {', '.join(KNOWN_CARRIERS)})"
    normalized = normalize_tracking_number(number)
    if not normalized:
        return "empty tracking number"
    shaped = [s for s in _SPECS if s.format.carrier == carrier and s.pattern.fullmatch(normalized)]
    if any(s.check is None or s.check(normalized) for s in shaped):
        return None
    named = (s for s in _NAMED_SPECS if s.format.carrier == carrier)
    if any(s.pattern.fullmatch(normalized) for s in named):
        return None
    if shaped:
        return f"bad check digit for a {shaped[0].label}"
    if carrier == "usps" and re.fullmatch(r"[A-Z]{2}\d{9}[A-Z]{2}", normalized):
        return f"an S10 number of another postal operator ({normalized[-2:]}), not a USPS number"
    return f"not a known {carrier_name(carrier)} number format ({_SHAPES[carrier]})"


def _impb_covered(serial: str) -> str:
    """Returns the part of an IMpb serial that its check digit covers (after any 420+ZIP)."""
    if not serial.startswith("420"):
        return serial
    # 33 digits can be ZIP+4 + 22 or ZIP5 + 26; when both fit, prefer ZIP+4 like most labels.
    zip4 = len(serial) == 33 and re.fullmatch(r"9[1-5]\d{19}", serial[12:]) is not None
    return serial[12:] if zip4 else serial[8:]


def _check_digit_for(kind: str, serial: str) -> str:
    builders: dict[str, Callable[[str], int]] = {
        "usps_impb": lambda s: _gs1_mod10(_impb_covered(s)),
        "usps_20": _gs1_mod10,
        "usps_20_ai91": lambda s: _gs1_mod10("91" + s),
        "ups_1z": lambda s: _ups_mod10(s[2:]),
        "fedex_express_12": _fedex_mod11,
        "fedex_ground_15": _gs1_mod10,
        "fedex_ground_96": lambda s: _gs1_mod10(s[7:]),
        "fedex_sscc_18": _gs1_mod10,
        "fedex_ground_economy": lambda s: _gs1_mod10(s if len(s) == 21 else "92" + s),
        "dhl_express": lambda s: int(s) % 7,
    }
    return str(builders[kind](serial))


def _complete(kind: str, serial: str) -> str:
    if kind == "s10":
        return serial[:10] + str(_s10_mod11(serial[2:10])) + serial[10:]
    if kind != "ups_1z" and not serial.isdigit():
        raise ValueError(serial)
    return serial + _check_digit_for(kind, serial)


def build_valid_number(kind: str, serial: str) -> str:
    """Returns `serial` completed with its check digit so that the result detects as `kind`.

    `serial` is the number without its check digit (for S10: "RB12345678US"); kinds without a
    check digit return the normalized serial. Raises ValueError when the result would not fit.
    """
    spec = _BY_KIND.get(kind)
    if spec is None:
        raise ValueError(f"unknown number kind {kind!r}")
    serial = normalize_tracking_number(serial)
    try:
        number = serial if spec.check is None else _complete(kind, serial)
    except (ValueError, IndexError):
        number = ""
    if spec.format not in detect_formats(number):
        raise ValueError(f"serial {serial!r} does not fit a {spec.label}")
    return number
