"""The kinds of text a request may carry: what names and free text refuse, and that the
pattern the OpenAPI document publishes for each agrees with what the code accepts."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.alerts.schemas import NoteText, TeamName
from app.shipments.schemas import (
    CarrierCode,
    OrderNumber,
    PostalCode,
    ServiceName,
    TrackingNumberText,
)

NAMES: dict[str, Any] = {
    "order number": OrderNumber,
    "tracking number": TrackingNumberText,
    "carrier": CarrierCode,
    "service": ServiceName,
    "postal code": PostalCode,
    "team": TeamName,
}
SPOOFERS = {
    "\u202e": "contains a bidirectional control character (U+202E)",
    "\u202a": "contains a bidirectional control character (U+202A)",
    "\u2066": "contains a bidirectional control character (U+2066)",
    "\u2069": "contains a bidirectional control character (U+2069)",
    "\u200e": "contains a bidirectional control character (U+200E)",
    "\u200f": "contains a bidirectional control character (U+200F)",
    "\u061c": "contains a bidirectional control character (U+061C)",
    "\u200b": "contains a zero-width character (U+200B)",
    "\u200c": "contains a zero-width character (U+200C)",
    "\u200d": "contains a zero-width character (U+200D)",
    "\u2060": "contains a zero-width character (U+2060)",
    "\ufeff": "contains a zero-width character (U+FEFF)",
    "\x00": "contains control characters",
    "\x1b": "contains control characters",
    "\t": "contains control characters",
    "\x85": "contains control characters",
}


def reason_for(kind: Any, value: str) -> str:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(kind).validate_python(value)
    return str(raised.value.errors()[0]["msg"]).removeprefix("Value error, ")


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("character", sorted(SPOOFERS))
def test_a_name_refuses_controls_bidi_and_zero_width_characters(name, character):
    assert reason_for(NAMES[name], f"AB{character}12") == SPOOFERS[character]


@pytest.mark.parametrize("number", ["FS-1001", "ORD-000123", "#1001", "A1", "PO 12345", "x"])
def test_real_shop_order_numbers_fit_the_alphabet(number):
    assert TypeAdapter(OrderNumber).validate_python(f" {number} ") == number


@pytest.mark.parametrize("number", ["SO-2026/001", "../admin", "-1", "Bestellung-ä", "A?B"])
def test_order_numbers_outside_the_alphabet_are_refused_with_the_alphabet(number):
    assert reason_for(OrderNumber, number).startswith("may contain only ASCII letters, digits")


def test_the_alphabet_says_what_to_send_instead_of_a_slash():
    assert "send SO-2026/001 as SO-2026-001" in reason_for(OrderNumber, "SO-2026/001")


def test_free_text_keeps_newlines_joiners_and_right_to_left_marks():
    note = "Customer called.\nShe wrote \u200fמשה\u200f; emoji \U0001f469\u200d\U0001f4bb"

    assert TypeAdapter(NoteText).validate_python(note) == note


@pytest.mark.parametrize(
    ("character", "reason"),
    [
        ("\u202e", "contains a bidirectional control character (U+202E)"),
        ("\u2067", "contains a bidirectional control character (U+2067)"),
        ("\x00", "contains control characters"),
        ("\x07", "contains control characters"),
    ],
)
def test_free_text_refuses_controls_and_bidi_overrides(character, reason):
    assert reason_for(NoteText, f"see{character}this") == reason


def test_a_name_longer_than_its_limit_as_sent_is_refused_even_if_spaces_pad_it():
    assert reason_for(OrderNumber, "A" * 60 + " " * 5) == "is longer than 64 characters"


TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("Aa09#/-_.:+ \t\n\u3000\u00a0é" + "".join(SPOOFERS)),
        st.characters(codec="utf-8"),
    ),
    max_size=70,
)


@pytest.mark.parametrize("kind", [*NAMES.values(), NoteText], ids=[*NAMES, "note"])
@given(value=TEXT)
def test_the_published_schema_and_the_code_agree(kind, value):
    adapter = TypeAdapter(kind)
    schema = adapter.json_schema()
    try:
        adapter.validate_python(value)
        accepted = True
    except ValidationError:
        accepted = False
    valid_by_the_document = jsonschema_rs.Draft202012Validator(schema).is_valid(value)

    # What the document calls invalid is refused (what negative fuzzing checks) ...
    assert valid_by_the_document or not accepted
    # ... and what it calls valid is accepted, once padding is stripped.
    if valid_by_the_document and len(value.strip()) >= schema.get("minLength", 0):
        assert accepted
