from datetime import UTC, datetime, timedelta

import pytest

from carriers.retry_after import parse_retry_after

NOW = datetime(2025, 3, 12, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "seconds"), [(" 30 ", 30), ("120", 120), ("0", 0)])
def test_delay_seconds_are_a_duration(value, seconds):
    assert parse_retry_after(value, now=NOW) == timedelta(seconds=seconds)


def test_an_http_date_is_the_time_left_until_it():
    assert parse_retry_after("Wed, 12 Mar 2025 15:02:30 GMT", now=NOW) == timedelta(seconds=150)


def test_an_http_date_in_the_past_means_no_wait():
    assert parse_retry_after("Wed, 12 Mar 2025 14:00:00 GMT", now=NOW) == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "Wednesday, 12-Mar-25 15:02:30 GMT",  # RFC 850, obsolete but still an HTTP-date
        "Wed Mar 12 15:02:30 2025",  # asctime: no zone written, always GMT
    ],
)
def test_the_obsolete_http_date_forms_are_read_as_gmt(value):
    assert parse_retry_after(value, now=NOW) == timedelta(seconds=150)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "soon",
        "-5",
        "1.5",
        "Wed, 12 Mar 2025 15:02:30 -0000",  # RFC 5322's "zone unknown": not an HTTP-date
        "Wed, 12 Mar 2025 15:02:30",
    ],
)
def test_an_absent_or_unreadable_header_is_none(value):
    assert parse_retry_after(value, now=NOW) is None
