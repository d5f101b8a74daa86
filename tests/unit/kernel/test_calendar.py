from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.kernel.calendar import BusinessCalendar, CalendarTable
from tests.unit.reconciliation.facts_builders import ny

US = BusinessCalendar()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(date(2026, 12, 17), True, id="an ordinary Thursday"),
        pytest.param(date(2026, 12, 19), False, id="Saturday"),
        pytest.param(date(2026, 12, 20), False, id="Sunday"),
        pytest.param(date(2026, 12, 25), False, id="Christmas Day"),
        pytest.param(date(2026, 12, 24), True, id="Christmas Eve is not a federal holiday"),
        pytest.param(date(2026, 7, 3), False, id="Friday observing a Saturday Independence Day"),
        pytest.param(date(2021, 7, 5), False, id="Monday observing a Sunday Independence Day"),
        pytest.param(date(2021, 12, 31), False, id="Friday observing next year's New Year's Day"),
        pytest.param(date(2026, 11, 26), False, id="Thanksgiving"),
        pytest.param(date(2026, 11, 27), True, id="the Friday after Thanksgiving"),
    ],
)
def test_business_days_follow_weekends_and_observed_federal_holidays(day, expected):
    assert US.is_business_day(day) is expected


def test_extra_holidays_close_an_otherwise_open_day():
    closed = BusinessCalendar(extra_holidays=frozenset({date(2026, 12, 24)}))

    assert not closed.is_business_day(date(2026, 12, 24))
    assert US.is_business_day(date(2026, 12, 24))


def test_a_subdivision_adds_its_state_holidays():
    patriots_day = date(2026, 4, 20)

    assert not BusinessCalendar(subdivision="MA").is_business_day(patriots_day)
    assert US.is_business_day(patriots_day)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        pytest.param(ny(2026, 12, 17, 10), 0, ny(2026, 12, 18), id="n=0 ends the start day"),
        pytest.param(ny(2026, 12, 17, 10), 2, ny(2026, 12, 22), id="before cutoff counts Thu"),
        pytest.param(ny(2026, 12, 17, 16, 59), 2, ny(2026, 12, 22), id="a minute before cutoff"),
        pytest.param(ny(2026, 12, 17, 17), 2, ny(2026, 12, 23), id="at cutoff counts from Fri"),
        pytest.param(ny(2026, 12, 18, 10), 1, ny(2026, 12, 22), id="the weekend is skipped"),
        pytest.param(ny(2026, 12, 19, 9), 0, ny(2026, 12, 22), id="Saturday counts from Mon"),
        pytest.param(ny(2026, 12, 22, 10), 2, ny(2026, 12, 28), id="Christmas is skipped"),
        pytest.param(ny(2026, 12, 24, 18), 0, ny(2026, 12, 29), id="after cutoff on Xmas Eve"),
        pytest.param(ny(2026, 12, 31, 10), 0, ny(2027, 1, 4), id="New Year and weekend skipped"),
        pytest.param(ny(2026, 7, 2, 12), 1, ny(2026, 7, 7), id="observed July 4th skipped"),
        pytest.param(ny(2026, 3, 6, 12), 1, ny(2026, 3, 10), id="across the spring DST change"),
        pytest.param(
            datetime(2026, 12, 17, 21, 30, tzinfo=UTC), 0, ny(2026, 12, 18), id="16:30 EST in UTC"
        ),
        pytest.param(
            datetime(2026, 12, 17, 22, 30, tzinfo=UTC), 0, ny(2026, 12, 21), id="17:30 EST in UTC"
        ),
    ],
)
def test_add_business_days_returns_the_start_of_the_following_business_day(start, n, expected):
    assert US.add_business_days(start, n) == expected


def test_add_business_days_honours_a_custom_cutoff_and_time_zone():
    pacific = BusinessCalendar(timezone="America/Los_Angeles", pickup_cutoff=time(14, 0))
    # 13:30 Pacific is before a 14:00 cutoff; 14:30 Pacific is after it.
    before = datetime(2026, 12, 17, 21, 30, tzinfo=UTC)
    after = datetime(2026, 12, 17, 22, 30, tzinfo=UTC)

    assert pacific.add_business_days(before, 0) == datetime(2026, 12, 18, 8, tzinfo=UTC)
    assert pacific.add_business_days(after, 0) == datetime(2026, 12, 21, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(ny(2026, 12, 17, 10), ny(2026, 12, 17, 23), 0, id="same day"),
        pytest.param(ny(2026, 12, 17, 10), ny(2026, 12, 21, 23, 59), 1, id="Fri has ended"),
        pytest.param(ny(2026, 12, 17, 10), ny(2026, 12, 22), 2, id="Fri and Mon have ended"),
        pytest.param(ny(2026, 12, 23, 10), ny(2026, 12, 28, 12), 1, id="only Thu counts"),
        pytest.param(ny(2026, 12, 23, 10), ny(2026, 12, 29), 2, id="Thu and Mon have ended"),
        pytest.param(ny(2026, 12, 22, 10), ny(2026, 12, 17, 10), 0, id="end before start"),
    ],
)
def test_business_days_between_counts_fully_ended_days_after_day_zero(start, end, expected):
    assert US.business_days_between(start, end) == expected


def test_add_business_days_rejects_a_negative_count():
    with pytest.raises(ValueError, match="zero or positive"):
        US.add_business_days(ny(2026, 12, 17), -1)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        US.add_business_days(datetime(2026, 12, 17, 10), 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"timezone": "Mars/Olympus"}, "unknown time zone", id="time zone"),
        pytest.param({"country": "XX"}, "no holiday calendar", id="country"),
        pytest.param({"subdivision": "ZZ"}, "no holiday calendar", id="subdivision"),
        pytest.param({"pickup_cutoff": time(17, tzinfo=UTC)}, "wall-clock", id="aware cutoff"),
    ],
)
def test_a_misconfigured_calendar_fails_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)


def test_calendar_table_gives_each_carrier_its_calendar_and_others_the_default():
    pacific = BusinessCalendar(timezone="America/Los_Angeles")
    table = CalendarTable(by_carrier={"UPS": pacific})

    assert table.for_carrier("ups") is pacific
    assert table.for_carrier("usps") == table.default == BusinessCalendar()


def test_a_calendar_with_no_business_day_in_a_year_is_reported_not_looped_on():
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(800))
    closed = BusinessCalendar(extra_holidays=every_day)

    with pytest.raises(ValueError, match="no business day"):
        closed.add_business_days(ny(2026, 1, 1), 0)
