from __future__ import annotations

import pytest

from app.public.access import normalize_postal_code, postal_code_matches


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("97211", "97211"),
        (" 97211 ", "97211"),
        ("97211-1234", "97211"),
        ("972111234", "97211"),
        ("sw1a 1aa", "SW1A1AA"),
        ("K1A-0B1", "K1A0B1"),
        ("", ""),
    ],
)
def test_postal_codes_are_compared_without_spacing_case_or_zip4(typed, normalized):
    assert normalize_postal_code(typed) == normalized


@pytest.mark.parametrize(
    ("stored", "given", "matches"),
    [
        ("97211", "97211", True),
        ("97211", "97211-0001", True),
        ("SW1A 1AA", "sw1a1aa", True),
        ("97211", "97212", False),
        ("97211", "", False),
        (None, "97211", False),
        (None, "", False),
        ("", "", False),
    ],
)
def test_a_postal_code_matches_only_the_stored_one_and_never_when_either_is_missing(
    stored, given, matches
):
    assert postal_code_matches(stored, given) is matches
