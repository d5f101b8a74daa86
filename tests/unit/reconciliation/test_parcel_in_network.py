"""A parcel scanned by a later carrier has entered the network, whatever the first one says."""

from __future__ import annotations

import pytest

from carriers.types import TrackingStatus
from tests.unit.reconciliation.facts_builders import make_event, make_leg, make_order, ny, rules_at

LABEL_AT = ny(2026, 12, 17, 10)
WEEK_LATER = ny(2026, 12, 24, 12)


def ups_first_leg(**overrides):
    values = {
        "leg_id": 1,
        "carrier": "ups",
        "tracking_number": "1Z999AA10123456784",
        "current_status": TrackingStatus.LABEL_CREATED,
        "handoff_to_leg_id": 2,
    }
    values.update(overrides)
    return make_leg(**values)


def usps_last_mile(*statuses: TrackingStatus, leg_id: int = 2, handoff_to: int | None = None):
    events = tuple(
        make_event(status, ny(2026, 12, 19, 8 + hour)) for hour, status in enumerate(statuses)
    )
    return make_leg(
        leg_id=leg_id,
        sequence=2,
        current_status=statuses[-1] if statuses else TrackingStatus.LABEL_CREATED,
        events=events,
        handoff_to_leg_id=handoff_to,
    )


@pytest.mark.parametrize(
    ("first_status", "later", "expected_on_first"),
    [
        # The first carrier never scanned it, the next one has it moving: no alert on the first.
        (TrackingStatus.LABEL_CREATED, (TrackingStatus.ACCEPTED, TrackingStatus.IN_TRANSIT), set()),
        (TrackingStatus.NOT_FOUND, (TrackingStatus.IN_TRANSIT,), set()),
        (TrackingStatus.LABEL_CREATED, (TrackingStatus.DELIVERED,), set()),
        # The next carrier only has the electronic notice: the parcel is still unscanned.
        (TrackingStatus.LABEL_CREATED, (TrackingStatus.LABEL_CREATED,), {"never_inducted"}),
        (TrackingStatus.LABEL_CREATED, (), {"never_inducted"}),
    ],
)
def test_never_inducted_and_not_found_follow_the_parcel_not_the_leg(
    first_status, later, expected_on_first
):
    order = make_order(ups_first_leg(current_status=first_status), usps_last_mile(*later))

    found = rules_at(order, WEEK_LATER)

    assert {rule for rule, leg in found if leg == 1} & {"never_inducted", "not_found"} == (
        expected_on_first
    )


def test_a_scan_two_legs_later_counts_as_well():
    first = ups_first_leg()
    middle = usps_last_mile(leg_id=2, handoff_to=3)
    last = make_leg(
        leg_id=3,
        sequence=3,
        current_status=TrackingStatus.IN_TRANSIT,
        events=(make_event(TrackingStatus.ACCEPTED, ny(2026, 12, 20, 9)),),
    )

    found = rules_at(make_order(first, middle, last), WEEK_LATER)

    assert ("never_inducted", 1) not in found
