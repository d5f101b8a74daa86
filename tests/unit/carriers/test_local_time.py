from datetime import datetime, timedelta

import pytest

from carriers.local_time import fill_missing_offsets, offset_between, parse_utc_offset

H = timedelta(hours=1)


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


def test_missing_offsets_take_the_nearest_known_one_the_earlier_on_a_tie():
    filled = fill_missing_offsets([None, -5 * H, None, None, -6 * H, None])
    assert filled == [-5 * H, -5 * H, -5 * H, -6 * H, -6 * H, -6 * H]


def test_offsets_stay_missing_when_none_is_known():
    assert fill_missing_offsets([None, None]) == [None, None]
