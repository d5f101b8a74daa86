"""The scan identity every stored event is keyed by (carriers/types.py)."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from carriers.types import (
    CARRIER_CODES,
    Location,
    TrackingEvent,
    TrackingStatus,
    codes_name_scans,
    scan_key,
)

EST = timezone(timedelta(hours=-5))
AT = datetime(2026, 12, 7, 10, 0, 59, tzinfo=EST)


def event(description: str, *, code_names_scan: bool) -> TrackingEvent:
    return TrackingEvent(
        TrackingStatus.IN_TRANSIT,
        AT,
        "IT",
        description,
        Location("Memphis", "TN", "38118", "US"),
        code_names_scan=code_names_scan,
    )


def test_a_worded_key_is_the_one_stored_before_the_ups_change():
    # Written out independently: a key that moved for these carriers would store every scan of
    # every stored leg again on its next poll.
    old = hashlib.sha256(b"IT|2026-12-07T15:00|MEMPHIS|38118|ARRIVED AT HUB").hexdigest()[:32]

    assert event(" Arrived  at hub ", code_names_scan=False).dedupe_key == old


def test_a_code_named_key_leaves_the_words_out_and_nothing_else():
    expected = hashlib.sha256(b"IT|2026-12-07T15:00|MEMPHIS|38118").hexdigest()[:32]

    assert event("Arrived at hub", code_names_scan=True).dedupe_key == expected
    assert event("Departed", code_names_scan=True).dedupe_key == expected


@pytest.mark.parametrize(
    ("code", "at", "city", "postal_code"),
    [
        ("AR", AT, "Memphis", "38118"),
        ("IT", AT + timedelta(minutes=1), "Memphis", "38118"),
        ("IT", AT, "Nashville", "38118"),
        ("IT", AT, "Memphis", "37201"),
    ],
)
def test_a_code_named_key_still_tells_code_minute_and_place_apart(code, at, city, postal_code):
    key = scan_key(code=code, occurred_at=at, city=city, postal_code=postal_code, description=None)

    assert key != event("Arrived at hub", code_names_scan=True).dedupe_key


def test_the_minute_is_counted_in_utc_whatever_offset_the_carrier_wrote():
    same = scan_key(
        code="it", occurred_at=AT.astimezone(UTC), city="memphis ", postal_code="38118",
        description=None,
    )  # fmt: skip

    assert same == event("x", code_names_scan=True).dedupe_key


def test_only_ups_codes_name_their_scans():
    assert [c for c in CARRIER_CODES if codes_name_scans(c)] == ["ups"]
