from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from carriers.errors import TrackingNotFound
from carriers.protocol import TrackingFailure
from carriers.sandbox.numbering import build_number, parse_last_mile_number
from carriers.sandbox.scenarios import Scenario, example_number, scenario_for
from carriers.sandbox.timeline import (
    SANDBOX_EPOCH,
    Timeline,
    derived_label_time,
    plan_timeline,
)
from carriers.types import TrackingSnapshot, TrackingStatus

S = TrackingStatus
LABEL_AT = datetime(2026, 11, 20, 15, 3, 27, tzinfo=UTC)
LONG_AFTER = LABEL_AT + timedelta(days=60)
CARRIERS = ("usps", "ups", "fedex", "dhl")


def timeline_for(carrier: str, scenario: str, index: int = 0) -> Timeline:
    return plan_timeline(
        carrier, example_number(carrier, scenario, index), label_created_at=LABEL_AT
    )


def snapshot_at(timeline: Timeline, now: datetime) -> TrackingSnapshot:
    result = timeline.snapshot(now)
    assert isinstance(result, TrackingSnapshot), result
    return result


def statuses(timeline: Timeline) -> list[TrackingStatus]:
    return [scan.status for scan in timeline.scans]


def sample_timelines(carrier: str, count: int = 400) -> list[Timeline]:
    numbers = (build_number(carrier, 7 * 10**5 + i) for i in range(count))
    return [plan_timeline(carrier, n, label_created_at=LABEL_AT) for n in numbers]


@pytest.mark.parametrize("carrier", CARRIERS)
def test_same_number_and_clock_give_identical_snapshots(carrier):
    number = example_number(carrier, "normal")
    now = LABEL_AT + timedelta(days=3)
    first = plan_timeline(carrier, number, label_created_at=LABEL_AT).snapshot(now)
    second = plan_timeline(carrier, number, label_created_at=LABEL_AT).snapshot(now)
    assert first == second
    assert isinstance(first, TrackingSnapshot)
    assert [e.dedupe_key for e in first.events] == [e.dedupe_key for e in second.events]


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_later_clock_only_appends_events(carrier):
    timeline = timeline_for(carrier, "returned_to_sender")
    previous: tuple = ()
    for hours in range(0, 24 * 10, 5):
        now = LABEL_AT + timedelta(hours=hours)
        events = snapshot_at(timeline, now).events
        assert events[: len(previous)] == previous
        previous = events
    assert len(previous) == len(timeline.scans)


@pytest.mark.parametrize("carrier", CARRIERS)
def test_event_times_are_aware_whole_minutes_in_strict_order(carrier):
    for timeline in sample_timelines(carrier):
        times = [scan.local_at for scan in timeline.scans]
        assert all(t.utcoffset() is not None and t.second == 0 for t in times)
        assert all(a < b for a, b in pairwise(times))


def test_event_offsets_are_the_real_ones_for_each_place_and_date():
    for timeline in sample_timelines("fedex", 100):
        for scan in timeline.scans:
            expected = scan.at.astimezone(ZoneInfo(scan.place.zone)).utcoffset()
            assert scan.local_at.utcoffset() == expected


@pytest.mark.parametrize("carrier", CARRIERS)
def test_every_sampled_timeline_has_its_scenario_shape(carrier):
    for timeline in sample_timelines(carrier):
        assert timeline.scenario is scenario_for(carrier, timeline.tracking_number)
        kinds = statuses(timeline)
        if timeline.scenario is Scenario.NOT_FOUND:
            assert kinds == []
            continue
        assert kinds[0] is S.LABEL_CREATED
        assert S.LABEL_CREATED not in kinds[1:]
        assert kinds[-1] is _last_status(carrier, timeline.scenario)


def _last_status(carrier: str, scenario: Scenario) -> TrackingStatus:
    if scenario in (Scenario.HANDOFF, Scenario.HANDOFF_GAP) and carrier == "ups":
        return S.IN_TRANSIT  # UPS has no hand-off activity: only the USPS_PIC number tells
    return _LAST_STATUS[scenario]


_LAST_STATUS = {
    Scenario.NORMAL: S.DELIVERED,
    Scenario.NEVER_INDUCTED: S.LABEL_CREATED,
    Scenario.STALLED: S.IN_TRANSIT,
    Scenario.EXCEPTION: S.EXCEPTION,
    Scenario.RETURNED_TO_SENDER: S.RETURNED_TO_SENDER,
    Scenario.HANDOFF: S.HANDED_OFF,
    Scenario.HANDOFF_GAP: S.HANDED_OFF,
}


@pytest.mark.parametrize("carrier", CARRIERS)
def test_never_inducted_shows_only_the_label_forever(carrier):
    snapshot = snapshot_at(timeline_for(carrier, "never_inducted"), LONG_AFTER)
    assert [e.status for e in snapshot.events] == [S.LABEL_CREATED]
    assert snapshot.status is S.LABEL_CREATED
    assert snapshot.estimated_delivery_at is None


@pytest.mark.parametrize("carrier", CARRIERS)
def test_stalled_parcels_stop_mid_transit_after_acceptance(carrier):
    for index in range(5):
        kinds = statuses(timeline_for(carrier, "stalled", index))
        assert S.ACCEPTED in kinds
        assert kinds[-1] is S.IN_TRANSIT
        assert S.OUT_FOR_DELIVERY not in kinds
        assert S.DELIVERED not in kinds


@pytest.mark.parametrize("carrier", CARRIERS)
def test_exception_follows_a_delivery_attempt_and_nothing_follows_it(carrier):
    kinds = statuses(timeline_for(carrier, "exception"))
    assert kinds[-2:] == [S.OUT_FOR_DELIVERY, S.EXCEPTION]


@pytest.mark.parametrize("carrier", CARRIERS)
def test_returned_parcels_end_returned_to_sender_after_an_exception(carrier):
    kinds = statuses(timeline_for(carrier, "returned_to_sender"))
    assert kinds[-2:] == [S.EXCEPTION, S.RETURNED_TO_SENDER]


@pytest.mark.parametrize("carrier", CARRIERS)
def test_not_found_numbers_are_unknown_to_the_carrier_forever(carrier):
    result = timeline_for(carrier, "not_found").snapshot(LONG_AFTER)
    assert isinstance(result, TrackingFailure)
    assert isinstance(result.error, TrackingNotFound)
    assert result.error.carrier == carrier


def test_before_the_label_the_carrier_knows_nothing_yet():
    result = timeline_for("ups", "normal").snapshot(LABEL_AT - timedelta(minutes=5))
    assert isinstance(result, TrackingFailure)
    assert isinstance(result.error, TrackingNotFound)


@pytest.mark.parametrize("carrier", CARRIERS)
def test_acceptance_happens_in_origin_business_hours(carrier):
    for timeline in sample_timelines(carrier, 200):
        for scan in timeline.scans:
            if scan.status is S.ACCEPTED:
                local = scan.local_at
                assert local.weekday() < 5
                assert 9 <= local.hour < 18


@pytest.mark.parametrize("carrier", CARRIERS)
def test_normal_parcels_arrive_two_to_six_days_after_the_label(carrier):
    for timeline in sample_timelines(carrier):
        if timeline.scenario is Scenario.NORMAL:
            delivered = timeline.scans[-1]
            label_day = timeline.destination.local(LABEL_AT).date()
            assert 2 <= (delivered.local_at.date() - label_day).days <= 6
            assert delivered.local_at.weekday() != 6


def test_estimated_delivery_appears_once_the_parcel_is_scanned():
    timeline = timeline_for("fedex", "normal")
    label_only = snapshot_at(timeline, timeline.scans[0].at)
    scanned = snapshot_at(timeline, timeline.scans[1].at)
    assert label_only.estimated_delivery_at is None
    assert scanned.estimated_delivery_at is not None
    assert scanned.estimated_delivery_at.date() == timeline.scans[-1].local_at.date()


@pytest.mark.parametrize("carrier", ["fedex", "ups", "dhl"])
@pytest.mark.parametrize("scenario", ["handoff", "handoff_gap"])
def test_first_leg_names_its_usps_number_only_once_tendered(carrier, scenario):
    timeline = timeline_for(carrier, scenario)
    tendered = timeline.scans[-1]
    before = snapshot_at(timeline, tendered.at - timedelta(minutes=1))
    after = snapshot_at(timeline, tendered.at)
    assert before.handoff is None
    assert after.handoff is not None
    assert after.handoff.carrier == "usps"
    assert after.status is _last_status(carrier, Scenario(scenario))
    leg = parse_last_mile_number(after.handoff.tracking_number)
    assert leg is not None
    assert leg.tendered_at == tendered.at
    assert leg.gap is (scenario == "handoff_gap")


@pytest.mark.parametrize("carrier", ["fedex", "ups", "dhl"])
def test_usps_never_accepts_the_last_mile_of_a_gap(carrier):
    first_leg = timeline_for(carrier, "handoff_gap")
    assert first_leg.handoff is not None
    usps = plan_timeline("usps", first_leg.handoff.tracking_number)
    snapshot = snapshot_at(usps, first_leg.scans[-1].at + timedelta(days=365))
    assert usps.scenario is Scenario.HANDOFF_GAP
    assert {e.status for e in snapshot.events} == {S.LABEL_CREATED}
    assert [e.carrier_code for e in snapshot.events] == ["MA", "82"]


@pytest.mark.parametrize("carrier", ["fedex", "ups", "dhl"])
def test_usps_accepts_and_delivers_a_normal_last_mile_after_the_tender(carrier):
    first_leg = timeline_for(carrier, "handoff")
    assert first_leg.handoff is not None
    usps = plan_timeline("usps", first_leg.handoff.tracking_number, label_created_at=LABEL_AT)
    kinds = statuses(usps)
    accepted = usps.scans[kinds.index(S.ACCEPTED)]
    assert kinds[-1] is S.DELIVERED
    assert accepted.at > first_leg.scans[-1].at
    assert usps.destination == first_leg.destination


def test_without_a_label_time_the_journey_starts_at_a_time_fixed_by_the_number():
    number = example_number("dhl", "normal")
    label_at = derived_label_time("dhl", number)
    timeline = plan_timeline("dhl", number)
    assert timeline.scans[0].at == label_at.replace(second=0)
    assert SANDBOX_EPOCH <= label_at < SANDBOX_EPOCH + timedelta(days=28)
    assert derived_label_time("dhl", number) == label_at


def test_a_naive_label_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_timeline("ups", example_number("ups", "normal"), label_created_at=datetime(2026, 1, 1))


def test_a_scenario_can_be_forced_for_a_number():
    number = example_number("fedex", "normal")
    timeline = plan_timeline("fedex", number, label_created_at=LABEL_AT, scenario=Scenario.STALLED)
    assert timeline.scenario is Scenario.STALLED
    assert statuses(timeline)[-1] is S.IN_TRANSIT


@pytest.mark.parametrize("carrier", ["usps", "ontrac"])
def test_forcing_a_hand_off_where_none_exists_is_refused(carrier):
    with pytest.raises(ValueError, match="no hand-off"):
        plan_timeline(carrier, "9400190551138041170003", scenario=Scenario.HANDOFF)


def test_usps_distribution_centres_are_reported_by_name_alone():
    locations = [
        scan.to_event().location
        for timeline in sample_timelines("usps", 50)
        for scan in timeline.scans
        if scan.place.named_facility
    ]
    assert locations
    assert all(
        loc is not None and loc.state is None and loc.postal_code is None for loc in locations
    )
    assert all(
        loc is not None and loc.city and "DISTRIBUTION CENTER" in loc.city for loc in locations
    )


@pytest.mark.parametrize("carrier", CARRIERS)
def test_sandbox_scans_are_keyed_as_the_carriers_adapter_keys_them(carrier):
    events = snapshot_at(timeline_for(carrier, "normal"), LONG_AFTER).events

    assert events
    assert {e.code_names_scan for e in events} == {carrier == "ups"}
