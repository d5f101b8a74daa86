from datetime import UTC, datetime, timedelta, timezone

import pytest

from carriers.timestamps import LocalTimeResolver, parse_retry_after, parse_timestamp

CENTRAL = timezone(timedelta(hours=-6))
EASTERN = timezone(timedelta(hours=-5))


def test_timestamp_keeps_the_offset_it_is_written_with():
    assert parse_timestamp("2022-08-23T09:59:57-05:00").utcoffset() == timedelta(hours=-5)
    assert parse_timestamp("2018-03-02T07:53:47Z").utcoffset() == timedelta(0)
    assert parse_timestamp("2022-08-22T00:00:00").tzinfo is None


def test_unreadable_timestamp_raises_value_error():
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_timestamp("yesterday")


def test_naive_time_takes_the_offset_of_the_same_moment_stated_elsewhere():
    resolver = LocalTimeResolver(
        [datetime(2022, 8, 22, 10, 37, tzinfo=EASTERN), datetime(2022, 8, 22, tzinfo=CENTRAL)]
    )

    assert resolver.resolve(datetime(2022, 8, 22)) == datetime(2022, 8, 22, tzinfo=CENTRAL)


def test_naive_time_takes_the_offset_of_the_nearest_stated_time():
    resolver = LocalTimeResolver(
        [datetime(2022, 8, 20, 9, tzinfo=CENTRAL), datetime(2022, 8, 23, 9, tzinfo=EASTERN)]
    )

    resolved = resolver.resolve(datetime(2022, 8, 23, 1))
    assert resolved.utcoffset() == timedelta(hours=-5)
    assert resolved.hour == 1


def test_aware_time_is_left_alone():
    moment = datetime(2022, 8, 23, 1, tzinfo=CENTRAL)

    assert LocalTimeResolver([datetime(2022, 8, 23, tzinfo=UTC)]).resolve(moment) is moment


def test_naive_time_with_no_offset_anywhere_is_taken_as_utc():
    resolved = LocalTimeResolver([datetime(2022, 8, 23)]).resolve(datetime(2022, 8, 23, 4))

    assert resolved == datetime(2022, 8, 23, 4, tzinfo=UTC)


def test_retry_after_in_seconds_is_a_duration():
    assert parse_retry_after(" 120 ", datetime(2024, 6, 1, tzinfo=UTC)) == timedelta(seconds=120)


def test_retry_after_as_an_http_date_is_the_time_left_until_then():
    now = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("Sat, 01 Jun 2024 12:01:30 GMT", now) == timedelta(seconds=90)
    assert parse_retry_after("Sat, 01 Jun 2024 11:00:00 GMT", now) == timedelta(0)


@pytest.mark.parametrize("value", [None, "", "soon", "-5"])
def test_unreadable_retry_after_is_none(value):
    assert parse_retry_after(value, datetime(2024, 6, 1, tzinfo=UTC)) is None
