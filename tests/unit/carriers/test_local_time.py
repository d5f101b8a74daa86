from datetime import UTC, datetime, timedelta, timezone

import pytest

from carriers.local_time import (
    LocalTimeResolver,
    offset_between,
    parse_timestamp,
    parse_utc_offset,
)

H = timedelta(hours=1)
CENTRAL = timezone(-6 * H)
EASTERN = timezone(-5 * H)


def test_timestamp_keeps_the_offset_it_is_written_with():
    assert parse_timestamp("2022-08-23T09:59:57-05:00").utcoffset() == timedelta(hours=-5)
    assert parse_timestamp("2018-03-02T07:53:47Z").utcoffset() == timedelta(0)
    assert parse_timestamp("2022-08-22T00:00:00").tzinfo is None


def test_unreadable_timestamp_raises_value_error():
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_timestamp("yesterday")


@pytest.mark.parametrize(
    ("text", "offset"),
    [("-05:00", -5 * H), ("-7:00", -7 * H), ("+0530", 5.5 * H), ("+00:00", timedelta(0))],
)
def test_utc_offset_is_read_in_the_forms_carriers_send(text, offset):
    assert parse_utc_offset(text) == offset


@pytest.mark.parametrize("text", [None, "", "EST", "-5"])
def test_absent_or_unreadable_offset_is_none(text):
    assert parse_utc_offset(text) is None


def test_offset_between_local_and_gmt_rounds_away_the_truncated_seconds():
    local = datetime(2024, 11, 18, 7, 31)
    gmt = datetime(2024, 11, 18, 12, 31, 22)
    assert offset_between(local, gmt) == -5 * H


def test_offset_between_keeps_half_hour_zones():
    assert offset_between(datetime(2025, 1, 1, 17, 30), datetime(2025, 1, 1, 12, 0)) == 5.5 * H


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


def test_naive_times_on_either_side_take_their_nearest_neighbours_the_first_listed_on_a_tie():
    resolver = LocalTimeResolver(
        [datetime(2024, 11, 18, 10, tzinfo=EASTERN), datetime(2024, 11, 18, 14, tzinfo=CENTRAL)]
    )

    offsets = [
        resolver.resolve(datetime(2024, 11, 18, hour)).utcoffset() for hour in (8, 11, 12, 13, 16)
    ]
    assert offsets == [-5 * H, -5 * H, -5 * H, -6 * H, -6 * H]


def test_aware_time_is_left_alone():
    moment = datetime(2022, 8, 23, 1, tzinfo=CENTRAL)

    assert LocalTimeResolver([datetime(2022, 8, 23, tzinfo=UTC)]).resolve(moment) is moment


def test_naive_time_with_no_offset_anywhere_is_taken_as_utc():
    resolver = LocalTimeResolver([datetime(2022, 8, 23)])

    assert not resolver.stated
    assert resolver.resolve(datetime(2022, 8, 23, 4)) == datetime(2022, 8, 23, 4, tzinfo=UTC)


def test_an_answer_with_one_stated_offset_says_so():
    assert LocalTimeResolver([datetime(2022, 8, 23), datetime(2022, 8, 23, tzinfo=CENTRAL)]).stated
