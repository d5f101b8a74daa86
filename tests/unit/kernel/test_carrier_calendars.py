from __future__ import annotations

from datetime import date, time

import pytest

from app.kernel.calendar import default_calendars
from app.settings.overrides import parse_calendar_overrides

VETERANS_DAY = date(2026, 11, 11)
THANKSGIVING = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("carrier", "day", "works"),
    [
        ("usps", VETERANS_DAY, False),
        ("ups", VETERANS_DAY, True),
        ("fedex", date(2026, 10, 12), True),  # Columbus Day
        ("dhl", date(2026, 1, 19), True),  # Martin Luther King Jr. Day
        ("ups", THANKSGIVING, False),
        ("fedex", date(2026, 12, 25), False),
        ("fedex", date(2026, 7, 3), False),  # Independence Day observed on Friday
        ("usps", date(2026, 11, 28), False),  # a Saturday
    ],
)
def test_each_carrier_works_the_days_it_really_works(carrier, day, works):
    assert default_calendars().for_carrier(carrier).is_business_day(day) is works


def test_overrides_change_one_carrier_and_keep_the_others():
    table = parse_calendar_overrides(
        '{"ups": {"pickup_cutoff": "18:30", "extra_holidays": ["2026-12-24"]},'
        ' "*": {"timezone": "America/Chicago"}}'
    )

    ups = table.for_carrier("ups")
    assert ups.pickup_cutoff == time(18, 30)
    assert not ups.is_business_day(date(2026, 12, 24))
    assert ups.is_business_day(VETERANS_DAY)  # still the UPS default for worked holidays
    assert table.for_carrier("usps").timezone == "America/Chicago"
    assert table.for_carrier("fedex").is_business_day(VETERANS_DAY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "JSON object"),
        ('{"ups": {"cutoff": "18:00"}}', "ups: use only the keys"),
        ('{"ups": {"pickup_cutoff": "late"}}', "ups:"),
        ('{"ups": {"timezone": "Mars/Base"}}', "unknown time zone"),
        ("{nope", "not valid JSON"),
    ],
)
def test_bad_calendar_configuration_names_the_entry(text, message):
    with pytest.raises(ValueError, match=message):
        parse_calendar_overrides(text)
