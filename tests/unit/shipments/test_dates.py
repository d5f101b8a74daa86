from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.shipments.dates import (
    EARLIEST,
    LATEST,
    DateWindows,
    check_label_time,
    is_placeholder_date,
    judge_promise,
    shift,
)

NOW = datetime(2026, 12, 17, 15, 0, tzinfo=UTC)
WINDOWS = DateWindows(label_max_age=timedelta(days=730), promise_max_ahead=timedelta(days=365))


@pytest.mark.parametrize(
    ("day", "placeholder"),
    [
        (date(9999, 12, 31), True),
        (date(9999, 1, 1), True),
        (date(1900, 1, 1), True),
        (date(1899, 12, 30), True),
        (date(1753, 1, 1), True),
        (date(1, 1, 1), True),
        (date(1970, 1, 1), True),
        (date(2026, 12, 23), False),
        (date(1970, 1, 2), False),
        (date(9998, 12, 31), False),
    ],
)
def test_no_date_placeholders_are_recognised(day, placeholder):
    assert is_placeholder_date(day) is placeholder


@pytest.mark.parametrize(
    ("moment", "delta", "expected"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), timedelta(days=-90), EARLIEST),
        (datetime(9999, 12, 31, 23, 0, tzinfo=UTC), timedelta(days=90), LATEST),
        (NOW, timedelta(days=-90), NOW - timedelta(days=90)),
    ],
)
def test_shifting_holds_at_the_ends_of_the_calendar_instead_of_overflowing(moment, delta, expected):
    assert shift(moment, delta) == expected


@pytest.mark.parametrize(
    "label_at",
    [
        NOW - timedelta(days=730),
        NOW,
        NOW + timedelta(minutes=10),
        datetime.fromisoformat("2026-12-17T10:05:00-05:00"),
    ],
)
def test_a_label_time_inside_the_window_passes(label_at):
    assert check_label_time(label_at, field="f", now=NOW, windows=WINDOWS) is None


@pytest.mark.parametrize(
    ("label_at", "starts"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "is too old"),
        (datetime.fromisoformat("0001-01-01T00:00:00+05:00"), "is too old"),
        (NOW - timedelta(days=730, seconds=1), "is too old"),
        (NOW + timedelta(minutes=10, seconds=1), "is in the future"),
        (datetime.fromisoformat("9999-12-31T23:59:59-05:00"), "is in the future"),
    ],
)
def test_a_label_time_outside_the_window_is_an_error_naming_the_window(label_at, starts):
    field = "shipments[0].label_created_at"
    error = check_label_time(label_at, field=field, now=NOW, windows=WINDOWS)

    assert error is not None
    assert error.field == "shipments[0].label_created_at"
    assert error.reason == (
        f"{starts}: a label time must lie between 2024-12-17T15:00:00Z and "
        "2026-12-17T15:10:00Z (up to 730 days ago)"
    )


@pytest.mark.parametrize(
    "promised", [None, date(2026, 12, 23), date(2024, 12, 17), date(2027, 12, 17)]
)
def test_a_promise_inside_the_window_is_kept(promised):
    assert judge_promise(promised, field="p", now=NOW, windows=WINDOWS) is None


def test_a_placeholder_promise_is_dropped_with_a_warning_saying_so():
    warning = judge_promise(date(9999, 12, 31), field="p", now=NOW, windows=WINDOWS)

    assert warning is not None
    assert warning.reason == "9999-12-31 is a 'no date' placeholder; treated as no promise"


@pytest.mark.parametrize("promised", [date(2027, 12, 18), date(2024, 12, 16), date(3000, 1, 1)])
def test_a_promise_outside_the_window_is_dropped_with_a_warning_naming_the_window(promised):
    warning = judge_promise(promised, field="promised_delivery_date", now=NOW, windows=WINDOWS)

    assert warning is not None
    assert warning.field == "promised_delivery_date"
    assert warning.reason == (
        f"{promised.isoformat()} is outside 2024-12-17..2027-12-17 (up to 365 days ahead); "
        "treated as no promise"
    )
