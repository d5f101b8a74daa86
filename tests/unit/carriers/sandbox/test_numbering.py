from datetime import UTC, datetime

import pytest

from carriers.numbers import build_valid_number, detect_carriers, detect_formats
from carriers.sandbox.numbering import build_last_mile_number, build_number, parse_last_mile_number
from carriers.sandbox.scenarios import example_number, shares_for


@pytest.mark.parametrize(
    ("kind", "real_number"),
    [
        # Published or recorded numbers: USPS v3, UPS docs, FedEx Track recordings.
        ("usps_impb", "9400109104250532908587"),
        ("usps_impb", "92419900000033499522966220"),
        ("ups_1z", "1Z999AA10123456784"),
        ("fedex_express_12", "776094337676"),
        ("fedex_express_12", "738488882438"),
    ],
)
def test_the_check_digits_the_sandbox_mints_with_agree_with_real_numbers(kind, real_number):
    assert build_valid_number(kind, real_number[:-1]) == real_number


def _is_impb(number: str) -> bool:
    return any(f.kind == "usps_impb" for f in detect_formats(number))


@pytest.mark.parametrize(
    ("carrier", "length"), [("usps", 22), ("ups", 18), ("fedex", 12), ("dhl", 18)]
)
def test_built_numbers_have_the_carrier_length_and_differ_by_serial(carrier, length):
    first, second = build_number(carrier, 1234), build_number(carrier, 1235)
    assert len(first) == len(second) == length
    assert first != second


def test_built_usps_number_carries_a_valid_impb_check_digit():
    number = build_number("usps", 987_654)
    assert number.startswith("94")
    assert _is_impb(number)


def test_built_dhl_numbers_are_ecommerce_gm_numbers():
    number = build_number("dhl", 42)
    assert number.startswith("GM")
    assert number[2:].isdigit()
    assert len(number[2:]) == 16


def test_a_serial_too_wide_for_the_format_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        build_number("ups", 10**7)


@pytest.mark.parametrize("gap", [True, False])
@pytest.mark.parametrize("consolidator", ["fedex", "ups", "dhl"])
def test_last_mile_number_reads_back_its_leg(consolidator, gap):
    tendered_at = datetime(2026, 11, 24, 9, 41, tzinfo=UTC)
    number = build_last_mile_number(consolidator, gap=gap, tendered_at=tendered_at, tag=7)
    leg = parse_last_mile_number(number)
    assert len(number) == 26
    assert _is_impb(number)
    assert leg is not None
    assert (leg.consolidator, leg.gap, leg.tendered_at) == (consolidator, gap, tendered_at)


@pytest.mark.parametrize(
    "number",
    [
        "92419900000033499522966220",  # a real IMpb, not minted by the sandbox
        "9400109104250532908587",
        "92612900100001103628106870",  # sandbox layout with a wrong check digit
        "1Z999AA10123456784",
    ],
)
def test_numbers_the_sandbox_did_not_mint_are_not_last_mile_legs(number):
    assert parse_last_mile_number(number) is None


def test_minted_numbers_detect_as_their_carrier_in_carriers_numbers():
    for carrier in ("usps", "ups", "fedex", "dhl"):
        for scenario in shares_for(carrier):
            assert carrier in detect_carriers(example_number(carrier, scenario))
    tendered_at = datetime(2026, 11, 24, 9, 41, tzinfo=UTC)
    last_mile = build_last_mile_number("ups", gap=False, tendered_at=tendered_at, tag=3)
    assert detect_carriers(last_mile) == ["usps"]
