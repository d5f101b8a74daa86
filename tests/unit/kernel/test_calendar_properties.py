from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.kernel.calendar import BusinessCalendar

calendars = st.builds(
    BusinessCalendar,
    timezone=st.sampled_from(
        ["America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"]
    ),
    pickup_cutoff=st.times(min_value=time(0, 0), max_value=time(23, 59)),
)
instants = st.datetimes(
    min_value=datetime(2019, 1, 1), max_value=datetime(2031, 12, 31), timezones=st.just(UTC)
)
counts = st.integers(min_value=0, max_value=40)


@given(calendar=calendars, start=instants, n=counts)
def test_add_business_days_lands_at_midnight_of_a_business_day(calendar, start, n):
    deadline = calendar.local(calendar.add_business_days(start, n))

    assert calendar.is_business_day(deadline.date())
    assert deadline.weekday() < 5
    assert (deadline.month, deadline.day) != (12, 25)
    assert deadline.time() == time(0, 0)


@given(calendar=calendars, start=instants, n=counts)
def test_add_business_days_always_lies_after_the_start(calendar, start, n):
    assert calendar.add_business_days(start, n) > start


@given(calendar=calendars, start=instants, n=counts)
def test_add_business_days_is_strictly_increasing_in_n(calendar, start, n):
    assert calendar.add_business_days(start, n) < calendar.add_business_days(start, n + 1)


@given(
    calendar=calendars,
    start=instants,
    later_by=st.timedeltas(timedelta(0), timedelta(30)),
    n=counts,
)
def test_add_business_days_never_moves_back_when_the_start_moves_forward(
    calendar, start, later_by, n
):
    assert calendar.add_business_days(start, n) <= calendar.add_business_days(start + later_by, n)


@given(calendar=calendars, start=instants, n=counts)
def test_business_days_between_inverts_add_business_days(calendar, start, n):
    deadline = calendar.add_business_days(start, n)

    assert calendar.business_days_between(start, deadline) == n
    assert calendar.business_days_between(start, deadline - timedelta(microseconds=1)) == max(
        n - 1, 0
    )


@given(calendar=calendars, start=instants, end=instants)
def test_business_days_between_is_the_largest_count_whose_deadline_has_passed(calendar, start, end):
    elapsed = calendar.business_days_between(start, end)

    assert elapsed >= 0
    assert calendar.add_business_days(start, elapsed + 1) > end
    if elapsed > 0:
        assert calendar.add_business_days(start, elapsed) <= end
