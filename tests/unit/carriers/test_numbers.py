import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.numbers import (
    FORMAT_KINDS,
    KNOWN_CARRIERS,
    NumberFormat,
    build_valid_number,
    check_number_for_carrier,
    detect_carriers,
    detect_formats,
    normalize_tracking_number,
)
from tests.unit.carriers import number_strategies as ns

# Properties run once per kind; no deadline, the machine is shared.
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)

CARRIER_OF = {
    "usps_impb": "usps",
    "usps_20": "usps",
    "usps_20_ai91": "usps",
    "s10": "usps",
    "ups_1z": "ups",
    "fedex_express_12": "fedex",
    "fedex_ground_15": "fedex",
    "fedex_ground_96": "fedex",
    "fedex_sscc_18": "fedex",
    "fedex_ground_economy": "fedex",
    "dhl_express": "dhl",
    "dhl_ecommerce": "dhl",
    "dhl_piece_id": "dhl",
}

# Example numbers published with each format (collected in jkeen/tracking_number_data).
PUBLISHED_VALID = [
    ("9400 1112 0108 0805 4830 16", "usps_impb"),
    ("9361 2898 7870 0317 6337 95", "usps_impb"),
    ("92748931507708513018050063", "usps_impb"),
    ("420 22153 9101026837331000039521", "usps_impb"),
    ("4201002334249200190132607600833457", "usps_impb"),
    ("0307 1790 0005 2348 3741", "usps_20"),
    ("7112 3456 7891 2345 6787", "usps_20"),
    ("7196 9010 7560 0307 7385", "usps_20_ai91"),
    ("RB123456785US", "s10"),
    ("1Z5R89390357567127", "ups_1z"),
    ("1Z879E930346834440", "ups_1z"),
    ("1Z410E7W0392751591", "ups_1z"),
    ("986578788855", "fedex_express_12"),
    ("477179081230", "fedex_express_12"),
    ("0414 4176 0228 964", "fedex_ground_15"),
    ("5682 8361 0012 734", "fedex_ground_15"),
    ("9611020987654312345672", "fedex_ground_96"),
    ("00 0123 4500 0000 0027", "fedex_sscc_18"),
    ("61299998820821171811", "fedex_ground_economy"),
    ("9261292700768711948021", "fedex_ground_economy"),
    ("3318810025", "dhl_express"),
    ("8487135506", "dhl_express"),
    ("GM2951173225174494", "dhl_ecommerce"),
    ("GM295117494011169042", "dhl_ecommerce"),
    ("JJD0099999999", "dhl_piece_id"),
]


def test_normalization_strips_spaces_dashes_dots_and_underscores_and_upper_cases():
    assert normalize_tracking_number(" 1z-5r8.939_0357\t5671 27\n") == "1Z5R89390357567127"


@pytest.mark.parametrize(
    ("typed", "key"),
    [("fs-1001", "FS1001"), (" 9400 1000 ", "94001000"), ("a_b.c", "ABC"), ("X\t1", "X1")],
)
def test_order_and_tracking_lookup_keys_drop_separators_and_case(typed, key):
    assert normalize_tracking_number(typed) == key


def test_normalization_does_not_validate():
    assert normalize_tracking_number("not a number!") == "NOTANUMBER!"


@given(st.text(alphabet=string.ascii_letters + string.digits + " -._\t", max_size=40))
def test_normalization_is_idempotent(raw):
    once = normalize_tracking_number(raw)
    assert normalize_tracking_number(once) == once


@pytest.mark.parametrize(("number", "kind"), PUBLISHED_VALID)
def test_published_example_is_detected_as_its_format(number, kind):
    carrier = CARRIER_OF[kind]
    assert NumberFormat(carrier, kind) in detect_formats(number)
    assert check_number_for_carrier(carrier, number) is None


@pytest.mark.parametrize(
    ("carrier", "number", "label"),
    [
        ("ups", "1Z5R89390357567128", "UPS 1Z number"),
        ("fedex", "996578788855", "FedEx Express number"),
        ("fedex", "5682 8361 0012 732", "FedEx Ground number"),
        ("usps", "0307 1790 0005 2348 3742", "USPS 20-digit number"),
        ("usps", "9261292700768711948020", "USPS IMpb number"),
        ("usps", "RB123456786US", "USPS S10 international number"),
        ("dhl", "3318810010", "DHL Express number"),
    ],
)
def test_published_wrong_check_digit_is_reported_as_a_bad_check_digit(carrier, number, label):
    assert carrier not in detect_carriers(number)
    assert check_number_for_carrier(carrier, number) == f"bad check digit for a {label}"


def test_a_number_of_no_known_shape_is_reported_as_an_unknown_format():
    reason = check_number_for_carrier("fedex", "12345")
    assert reason == "not a known FedEx number format (12, 15, 18, 20 or 22 digits)"


def test_a_valid_number_of_another_carrier_is_not_a_number_of_this_one():
    reason = check_number_for_carrier("usps", "1Z5R89390357567127")
    assert reason is not None
    assert reason.startswith("not a known USPS number format")


def test_an_s10_number_of_another_post_is_not_usps_and_says_whose_it_is():
    assert detect_carriers("RB123456785GB") == []
    assert check_number_for_carrier("usps", "RB123456785GB") == (
        "an S10 number of another postal operator (GB), not a USPS number"
    )


def test_an_empty_number_is_reported_as_empty():
    assert check_number_for_carrier("ups", " - ") == "empty tracking number"


def test_an_unknown_carrier_is_reported_with_the_known_ones():
    assert check_number_for_carrier("ontrac", "1Z5R89390357567127") == (
        "unknown carrier 'ontrac' (known: usps, ups, fedex, dhl)"
    )


def test_a_ground_economy_92_number_belongs_to_usps_and_fedex_in_that_order():
    assert detect_carriers("9261 2927 0076 8711 9480 21") == ["usps", "fedex"]


def test_a_20_digit_ground_economy_number_without_its_92_is_fedex_only():
    assert detect_carriers("61299998820821171811") == ["fedex"]


def test_detection_ignores_case_and_separators():
    assert detect_carriers("1z5r-8939.0357_5671 27") == ["ups"]


def test_every_kind_has_a_strategy_and_a_carrier():
    assert set(FORMAT_KINDS) == set(ns.STRATEGIES) == set(CARRIER_OF)
    assert set(CARRIER_OF.values()) == set(KNOWN_CARRIERS)


@pytest.mark.parametrize("kind", FORMAT_KINDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_minted_valid_number_is_detected_as_its_kind_and_carrier(kind, data):
    minted = data.draw(ns.STRATEGIES[kind])
    carrier = CARRIER_OF[minted.kind]
    assert NumberFormat(carrier, minted.kind) in detect_formats(minted.number)
    assert carrier in detect_carriers(minted.number)
    assert check_number_for_carrier(carrier, minted.number) is None


def _stays_valid(minted: ns.MintedNumber, position: int, digit: str) -> bool:
    """The single-digit changes each published algorithm cannot see (blind spots)."""
    kind, number = minted.kind, minted.number
    old, new = int(number[position]), int(digit)
    corrupted = number[:position] + digit + number[position + 1 :]
    if kind == "usps_impb" and len(number) == 34:
        # 420 + ZIP+4 + 22 digits and 420 + ZIP5 + 26 digits have the same length: a typo that
        # breaks one reading can complete the other, whose check digit then happens to fit.
        other = 12 if minted.covered[0] == 8 else 8
        return ns.impb_reading_is_valid(corrupted, other)
    if kind == "ups_1z":
        # Characters 4, 6, ... 16 are doubled: 2 x 5 = 10 vanishes mod 10.
        return position % 2 == 1 and position < 17 and abs(old - new) == 5
    if kind == "dhl_express":
        return position < 9 and abs(old - new) == 7
    if kind == "fedex_express_12" and position < 11:
        remainders = {
            ns.fedex_express_remainder(number[:11]),
            ns.fedex_express_remainder(corrupted[:11]),
        }
        return remainders == {0, 10}  # both give check digit 0
    if kind == "s10" and position < 10:
        remainders = {ns.s10_remainder(number[2:10]), ns.s10_remainder(corrupted[2:10])}
        return remainders == {0, 6}  # both give check digit 5
    return False


@pytest.mark.parametrize(
    "kind", [k for k in FORMAT_KINDS if k not in ("dhl_ecommerce", "dhl_piece_id")]
)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_single_digit_change_fails_the_check_except_in_the_algorithms_blind_spots(kind, data):
    minted = data.draw(ns.STRATEGIES[kind])
    assert minted.covered
    fmt = NumberFormat(CARRIER_OF[minted.kind], minted.kind)
    for position in minted.covered:
        for digit in string.digits.replace(minted.number[position], ""):
            corrupted = minted.number[:position] + digit + minted.number[position + 1 :]
            expected = _stays_valid(minted, position, digit)
            assert (fmt in detect_formats(corrupted)) == expected, (position, digit)


def test_gs1_formats_catch_every_single_digit_change_so_have_no_blind_spot():
    number = build_valid_number("fedex_ground_15", "12345678901234")
    for position in range(15):
        for digit in string.digits.replace(number[position], ""):
            corrupted = number[:position] + digit + number[position + 1 :]
            assert detect_formats(corrupted) == []


def test_ups_cannot_see_a_change_of_five_in_a_doubled_character():
    assert detect_carriers("1Z5R89390357567127") == ["ups"]
    assert detect_carriers("1Z5R89390357567627") == ["ups"]  # 15th character 1 -> 6


def test_zip_digits_of_a_420_routing_prefix_are_outside_the_check_digit():
    number = "420" + "12345" + build_valid_number("usps_impb", "940011120108080548301")
    assert detect_carriers(number) == ["usps"]
    assert detect_carriers("420" + "99999" + number[8:]) == ["usps"]


def test_a_34_digit_number_misread_after_a_typo_can_still_pass_as_zip5_plus_26_digits():
    # ZIP+4 ending "9400" puts a 26-digit-looking code at position 8 that fails its own check
    # by exactly 1; lowering the check digit by 1 breaks the ZIP+4 reading and fixes that one.
    code = build_valid_number("usps_impb", "940011120108080548301")
    number = "420" + "12345" + "9400" + code
    typo = number[:-1] + str((int(number[-1]) - 1) % 10)
    assert ns.reads_two_ways(number)
    assert detect_carriers(number) == ["usps"]
    assert detect_carriers(typo) == ["usps"]


@PROPERTY_SETTINGS
@given(ns.any_valid_number)
def test_build_valid_number_completes_a_serial_into_the_minted_number(minted):
    number = minted.number
    if not minted.covered:
        serial = number
    elif minted.kind == "s10":
        serial = number[:10] + number[11:]
    else:
        serial = number[:-1]
    built = build_valid_number(minted.kind, serial)
    if ns.reads_two_ways(number):
        # Either reading is a valid number; the builder picks ZIP+4, the strategy may not have.
        assert NumberFormat("usps", "usps_impb") in detect_formats(built)
    else:
        assert built == number


def test_build_valid_number_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown number kind 'ontrac'"):
        build_valid_number("ontrac", "123")


@pytest.mark.parametrize(
    ("kind", "serial"),
    [
        ("ups_1z", "2Z5R8939035756712"),
        ("fedex_express_12", "1234567890"),
        ("fedex_express_12", "1234567890A"),
        ("s10", "RB1234567US"),
        ("dhl_ecommerce", "GM12"),
    ],
)
def test_build_valid_number_rejects_a_serial_that_does_not_fit_the_kind(kind, serial):
    with pytest.raises(ValueError, match="does not fit"):
        build_valid_number(kind, serial)


@pytest.mark.parametrize(
    "number",
    [
        "470800204932",  # DHL Paket (Germany), 12 digits
        "00340434161094042557",  # DHL Paket, 20 digits
        "GMDBD8E9CCE94842E495B7",  # DHL eCommerce Americas, letters and digits
        "GM2951173225174494",
        "LX123456789012",  # DHL eCommerce Asia
        "JD014600006281190271",  # a piece's license plate
    ],
)
def test_real_dhl_numbers_without_a_check_digit_are_accepted_when_dhl_is_named(number):
    assert check_number_for_carrier("dhl", number) is None


def test_detection_without_a_named_carrier_stays_strict_for_those_shapes():
    # A 12-digit DHL Paket number has the shape of a FedEx Express number: never guessed as DHL.
    assert "dhl" not in detect_carriers("470800204932")
    assert detect_carriers("GMDBD8E9CCE94842E495B7") == []


def test_a_named_carrier_still_refuses_what_fits_none_of_its_shapes():
    reason = check_number_for_carrier("dhl", "XY12")

    assert reason is not None
    assert reason.startswith("not a known DHL number format")
