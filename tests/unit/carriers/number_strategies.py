"""Hypothesis strategies for valid tracking numbers, one per format kind.

The check digits here are computed from the published descriptions, written independently of
carriers.numbers (weights spelled out position by position, UPS letters from UPS's own table), so
that a test using these strategies checks carriers.numbers against the specification, not against
itself. Each minted number says which positions its check digit protects.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from hypothesis import strategies as st

# UPS 1Z letter values as printed in UPS's check-digit description (A=2 ... Z=7).
UPS_LETTER_VALUES = dict(zip(string.ascii_uppercase, "23456789012345678901234567", strict=True))


@dataclass(frozen=True)
class MintedNumber:
    kind: str
    number: str
    covered: tuple[int, ...]  # positions whose digits the check digit protects (check included)


def gs1_check(digits: str) -> int:
    """GS1 mod 10 per Pub 199: from the rightmost digit, odd positions x3, even positions x1."""
    odd = sum(int(d) for d in digits[::-1][0::2])
    even = sum(int(d) for d in digits[::-1][1::2])
    return -(odd * 3 + even) % 10


def ups_check(body: str) -> int:
    values = [int(c) if c.isdigit() else int(UPS_LETTER_VALUES[c]) for c in body]
    total = sum(values[0::2]) + 2 * sum(values[1::2])
    return -total % 10


def fedex_express_remainder(serial: str) -> int:
    """FedEx Express: weights 3,1,7 repeated from the left over 11 digits; the sum mod 11."""
    weights = [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1]
    return sum(int(d) * w for d, w in zip(serial, weights, strict=True)) % 11


def s10_remainder(serial: str) -> int:
    weights = [8, 6, 4, 2, 3, 5, 9, 7]
    return sum(int(d) * w for d, w in zip(serial, weights, strict=True)) % 11


def s10_check(serial: str) -> int:
    """UPU S10: 11 minus the remainder; 10 becomes 0 and 11 becomes 5."""
    check = 11 - s10_remainder(serial)
    return 0 if check == 10 else 5 if check == 11 else check


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=count, max_size=count)


def _all(number: str) -> tuple[int, ...]:
    return tuple(range(len(number)))


def impb_reading_is_valid(number: str, start: int) -> bool:
    """Reads number[start:] as the IMpb code after a 420+ZIP prefix (Pub 199): shape and check."""
    code = number[start:]
    return (
        number.startswith("420")
        and len(code) in (22, 26)
        and "91" <= code[:2] <= "95"
        and gs1_check(code[:-1]) == int(code[-1])
    )


def reads_two_ways(number: str) -> bool:
    """A 34-digit USPS number is both 420+ZIP+4+22 digits and 420+ZIP5+26 digits."""
    return len(number) == 34 and "91" <= number[8:10] <= "95" and "91" <= number[12:14] <= "95"


@st.composite
def usps_impb(draw: st.DrawFn) -> MintedNumber:
    tracking = draw(st.sampled_from(["91", "92", "93", "94", "95"]))
    tracking += draw(st.one_of(_digits(19), _digits(23)))
    tracking += str(gs1_check(tracking))
    # Routing prefixes per Pub 199: none, 420 + ZIP5, or 420 + ZIP+4 before a 22-digit code.
    zip_lengths = [0, 5, 9] if len(tracking) == 22 else [0, 5]
    zip_length = draw(st.sampled_from(zip_lengths))
    prefix = "420" + draw(_digits(zip_length)) if zip_length else ""
    number = prefix + tracking
    return MintedNumber("usps_impb", number, tuple(range(len(prefix), len(number))))


@st.composite
def usps_20(draw: st.DrawFn) -> MintedNumber:
    serial = draw(_digits(19))
    number = serial + str(gs1_check(serial))
    return MintedNumber("usps_20", number, _all(number))


@st.composite
def usps_20_ai91(draw: st.DrawFn) -> MintedNumber:
    serial = draw(_digits(19))
    number = serial + str(gs1_check("91" + serial))
    return MintedNumber("usps_20_ai91", number, _all(number))


@st.composite
def s10(draw: st.DrawFn) -> MintedNumber:
    service = draw(st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2))
    serial = draw(_digits(8))
    number = f"{service}{serial}{s10_check(serial)}US"
    return MintedNumber("s10", number, tuple(range(2, 11)))


@st.composite
def ups_1z(draw: st.DrawFn) -> MintedNumber:
    body = draw(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=15, max_size=15))
    number = f"1Z{body}{ups_check(body)}"
    return MintedNumber("ups_1z", number, tuple(i for i in range(2, 18) if number[i].isdigit()))


@st.composite
def fedex_express_12(draw: st.DrawFn) -> MintedNumber:
    serial = draw(_digits(11))
    number = serial + str(fedex_express_remainder(serial) % 10)
    return MintedNumber("fedex_express_12", number, _all(number))


@st.composite
def fedex_ground_15(draw: st.DrawFn) -> MintedNumber:
    serial = draw(_digits(14))
    number = serial + str(gs1_check(serial))
    return MintedNumber("fedex_ground_15", number, _all(number))


@st.composite
def fedex_ground_96(draw: st.DrawFn) -> MintedNumber:
    head = "96" + draw(_digits(5))  # 96, then the SCNC and service code, outside the check
    serial = draw(_digits(14))
    number = head + serial + str(gs1_check(serial))
    return MintedNumber("fedex_ground_96", number, tuple(range(7, 22)))


@st.composite
def fedex_sscc_18(draw: st.DrawFn) -> MintedNumber:
    serial = "00" + draw(_digits(15))
    number = serial + str(gs1_check(serial))
    return MintedNumber("fedex_sscc_18", number, _all(number))


@st.composite
def fedex_ground_economy(draw: st.DrawFn) -> MintedNumber:
    serial = draw(_digits(19))
    check = str(gs1_check("92" + serial))
    number = draw(st.sampled_from([serial + check, "92" + serial + check]))
    return MintedNumber("fedex_ground_economy", number, _all(number))


@st.composite
def dhl_express(draw: st.DrawFn) -> MintedNumber:
    serial = draw(_digits(9))
    number = serial + str(int(serial) % 7)
    return MintedNumber("dhl_express", number, _all(number))


@st.composite
def dhl_ecommerce(draw: st.DrawFn) -> MintedNumber:
    number = "GM" + draw(st.one_of(_digits(16), _digits(17), _digits(18)))
    return MintedNumber("dhl_ecommerce", number, ())


@st.composite
def dhl_piece_id(draw: st.DrawFn) -> MintedNumber:
    letters = draw(st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=3))
    number = "J" + letters + draw(st.one_of(_digits(9), _digits(10)))
    return MintedNumber("dhl_piece_id", number, ())


STRATEGIES: dict[str, st.SearchStrategy[MintedNumber]] = {
    "usps_impb": usps_impb(),
    "usps_20": usps_20(),
    "usps_20_ai91": usps_20_ai91(),
    "s10": s10(),
    "ups_1z": ups_1z(),
    "fedex_express_12": fedex_express_12(),
    "fedex_ground_15": fedex_ground_15(),
    "fedex_ground_96": fedex_ground_96(),
    "fedex_sscc_18": fedex_sscc_18(),
    "fedex_ground_economy": fedex_ground_economy(),
    "dhl_express": dhl_express(),
    "dhl_ecommerce": dhl_ecommerce(),
    "dhl_piece_id": dhl_piece_id(),
}

any_valid_number: st.SearchStrategy[MintedNumber] = st.one_of(*STRATEGIES.values())
