"""A parcel's whole simulated journey, planned once from its number and label time.

Every scan is planned up front (to the whole minute, in UTC) and shown once the clock passes it,
so a later poll only ever adds scans. Times follow real life loosely: the carrier accepts the
parcel in the origin's business hours (Mon-Fri 09:00-18:00 local), hubs scan it overnight, it
goes out for delivery 07:30-09:30 local and arrives 2 to 6 calendar days after the label.

Without a label time the journey starts at a time derived from the number, somewhere in the
four weeks from SANDBOX_EPOCH, so such numbers replay identically on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from carriers.errors import TrackingNotFound
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.sandbox.geography import DESTINATIONS, GENERIC_HUBS, HUBS, ORIGINS, Place
from carriers.sandbox.numbering import build_last_mile_number, parse_last_mile_number
from carriers.sandbox.scenarios import (
    HANDOFF_SCENARIOS,
    Dice,
    Scenario,
    can_hand_off,
    scenario_for,
)
from carriers.sandbox.vocabulary import SERVICES, STATUS_OF, Milestone, Wording, wording
from carriers.types import (
    PHYSICAL_STATUSES,
    Handoff,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
    codes_name_scans,
)

SANDBOX_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
DERIVED_LABEL_SPAN = timedelta(days=28)
_MINUTE = timedelta(minutes=1)
# Carriers whose label event names no place (FedEx OC and UPS MP carry a country at most).
_UNLOCATED_LABELS = frozenset({"fedex", "ups", "dhl"})


@dataclass(frozen=True, slots=True)
class Scan:
    """One planned carrier scan; `at` is UTC, `place` gives its local offset."""

    milestone: Milestone
    at: datetime
    place: Place
    wording: Wording
    located: bool = True  # False: the carrier reports no place for this scan

    @property
    def status(self) -> TrackingStatus:
        """Returns what the carrier's own adapter reads this scan as."""
        return self.wording.status or STATUS_OF[self.milestone]

    @property
    def local_at(self) -> datetime:
        return self.place.local(self.at)

    def to_event(self, *, code_names_scan: bool = False) -> TrackingEvent:
        """Returns the scan as the carrier-neutral event an adapter would parse from it;
        `code_names_scan` as that carrier's adapter sets it (`types.codes_name_scans`)."""
        return TrackingEvent(
            status=self.status,
            occurred_at=self.local_at,
            carrier_code=self.wording.code,
            description=self.wording.description,
            location=self.place.location() if self.located else None,
            code_names_scan=code_names_scan,
        )


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything that will ever happen to one number on one carrier, oldest scan first."""

    carrier: str
    tracking_number: str
    scenario: Scenario
    service: str
    origin: Place
    destination: Place
    scans: tuple[Scan, ...]
    delivery_due_at: datetime | None = None  # the promised day's end, destination local time
    handoff: Handoff | None = field(default=None)

    def visible(self, now: datetime) -> tuple[Scan, ...]:
        """Returns the scans that have happened by `now`, oldest first."""
        return tuple(scan for scan in self.scans if scan.at <= now)

    def handed_off(self, now: datetime) -> Handoff | None:
        """Returns the hand-off once the tender scan has happened, else None."""
        tendered = any(s.milestone is Milestone.TENDERED for s in self.visible(now))
        return self.handoff if tendered else None

    def snapshot(self, now: datetime) -> TrackingResult:
        """Returns what the carrier says at `now`: not found before its first scan."""
        scans = self.visible(now)
        if not scans:
            error = TrackingNotFound(
                f"{self.carrier} has no record of {self.tracking_number}", carrier=self.carrier
            )
            return TrackingFailure(self.tracking_number, error)
        by_code = codes_name_scans(self.carrier)
        events = tuple(scan.to_event(code_names_scan=by_code) for scan in scans)
        scanned = any(event.status in PHYSICAL_STATUSES for event in events)
        return TrackingSnapshot(
            carrier=self.carrier,
            tracking_number=self.tracking_number,
            status=events[-1].status,
            events=events,
            service=self.service,
            estimated_delivery_at=self.delivery_due_at if scanned else None,
            handoff=self.handed_off(now),
        )


def derived_label_time(carrier: str, tracking_number: str) -> datetime:
    """Returns the label time the sandbox assumes when none is given; fixed per number."""
    span = int(DERIVED_LABEL_SPAN / _MINUTE)
    return SANDBOX_EPOCH + Dice(f"label|{carrier}|{tracking_number}").below(span) * _MINUTE


def plan_timeline(
    carrier: str,
    tracking_number: str,
    *,
    label_created_at: datetime | None = None,
    scenario: Scenario | None = None,
) -> Timeline:
    """Returns the number's whole journey; the same arguments always give the same timeline."""
    if carrier == "usps" and parse_last_mile_number(tracking_number) is not None:
        return _plan_last_mile(tracking_number)
    played = scenario or scenario_for(carrier, tracking_number)
    if played in HANDOFF_SCENARIOS and not can_hand_off(carrier):
        raise ValueError(f"the sandbox plays no hand-off to USPS from {carrier}")
    label_at = label_created_at or derived_label_time(carrier, tracking_number)
    if label_at.tzinfo is None:
        raise ValueError("label_created_at must be timezone-aware")
    return _Planner(carrier, tracking_number, played).plan(label_at.astimezone(UTC))


class _Journey:
    """Collects scans in order; each lands on a whole minute after the one before."""

    def __init__(self, carrier: str) -> None:
        self.carrier = carrier
        self.scans: list[Scan] = []

    def add(
        self, milestone: Milestone, at: datetime, place: Place, *, located: bool = True
    ) -> datetime:
        at = at.replace(second=0, microsecond=0)
        if self.scans and at <= self.scans[-1].at:
            at = self.scans[-1].at + _MINUTE
        self.scans.append(Scan(milestone, at, place, wording(self.carrier, milestone), located))
        return at


class _Planner:
    def __init__(self, carrier: str, tracking_number: str, scenario: Scenario) -> None:
        self.carrier = carrier
        self.tracking_number = tracking_number
        self.scenario = scenario
        self.dice = Dice(f"plan|{carrier}|{tracking_number}")
        self.tag = self.dice.below(100)  # also travels in a hand-off's USPS number
        self.origin = ORIGINS[self.dice.below(len(ORIGINS))]
        self.destination = DESTINATIONS[self.tag % len(DESTINATIONS)]
        hubs = HUBS.get(carrier, GENERIC_HUBS)
        first, count = self.dice.below(len(hubs)), 1 + self.dice.below(2)
        self.hubs = tuple(hubs[(first + i) % len(hubs)] for i in range(count))
        self.journey = _Journey(carrier)

    def plan(self, label_at: datetime) -> Timeline:
        if self.scenario is Scenario.NOT_FOUND:
            return self._timeline(due=None)
        located = self.carrier not in _UNLOCATED_LABELS
        self.journey.add(Milestone.LABEL_CREATED, label_at, self.origin, located=located)
        if self.scenario is Scenario.NEVER_INDUCTED:
            return self._timeline(due=None)
        picked_up = label_at + self.dice.minutes(120, 1200)
        accepted_at = self.journey.add(
            Milestone.ACCEPTED, _business_time(picked_up, self.origin, self.dice), self.origin
        )
        out_at = self._out_for_delivery_time(label_at, accepted_at)
        self._transit(accepted_at, out_at)
        if self.scenario is Scenario.STALLED:
            return self._timeline(due=_end_of_day(out_at, self.destination))
        if self.scenario in HANDOFF_SCENARIOS:
            return self._handed_off_timeline()
        return self._final_mile(out_at)

    def _transit(self, accepted_at: datetime, out_at: datetime) -> None:
        """Spreads hub scans evenly between acceptance and the out-for-delivery morning."""
        handing_off = self.scenario in HANDOFF_SCENARIOS
        steps = [(m, hub) for hub in self.hubs for m in (Milestone.ARRIVED, Milestone.DEPARTED)]
        steps.append(
            (Milestone.TENDERED if handing_off else Milestone.AT_DESTINATION, self.destination)
        )
        if self.scenario is Scenario.STALLED:  # silence falls somewhere before the last step
            steps = steps[: 1 + self.dice.below(len(steps) - 1)]
        span = out_at - accepted_at
        for i, (milestone, place) in enumerate(steps):
            jitter = self.dice.minutes(0, 40) - timedelta(minutes=20)
            self.journey.add(
                milestone, accepted_at + span * (i + 1) / (len(steps) + 1) + jitter, place
            )

    def _out_for_delivery_time(self, label_at: datetime, accepted_at: datetime) -> datetime:
        place = self.destination
        label_day, accepted_day = place.local(label_at).date(), place.local(accepted_at).date()
        earliest = max(accepted_day + timedelta(days=1), label_day + timedelta(days=2))
        day = max(label_day + timedelta(days=2 + self.dice.below(5)), earliest)
        if day.weekday() == 6:  # no Sunday rounds: Saturday if that keeps 2+ days, else Monday
            saturday = day - timedelta(days=1)
            day = saturday if saturday >= earliest else day + timedelta(days=1)
        return place.wall_clock(day, time(7, 30)) + self.dice.minutes(0, 120)

    def _final_mile(self, out_at: datetime) -> Timeline:
        add, here = self.journey.add, self.destination
        add(Milestone.OUT_FOR_DELIVERY, out_at, here)
        if self.scenario is Scenario.NORMAL:
            add(Milestone.DELIVERED, out_at + self.dice.minutes(120, 540), here)
        else:
            failed_at = add(Milestone.EXCEPTION, out_at + self.dice.minutes(120, 360), here)
            if self.scenario is Scenario.RETURNED_TO_SENDER:
                # DHL reports a return as delivered back at the origin; others as it leaves.
                back = self.origin if self.carrier == "dhl" else here
                add(Milestone.RETURNING, failed_at + self.dice.minutes(18 * 60, 30 * 60), back)
        return self._timeline(due=_end_of_day(out_at, here))

    def _handed_off_timeline(self) -> Timeline:
        usps_number = build_last_mile_number(
            self.carrier,
            gap=self.scenario is Scenario.HANDOFF_GAP,
            tendered_at=self.journey.scans[-1].at,
            tag=self.tag,
        )
        return self._timeline(due=None, handoff=Handoff("usps", usps_number))

    def _timeline(self, *, due: datetime | None, handoff: Handoff | None = None) -> Timeline:
        direct, handing_off = SERVICES.get(self.carrier, ("Ground", "Ground"))
        return Timeline(
            carrier=self.carrier,
            tracking_number=self.tracking_number,
            scenario=self.scenario,
            service=handing_off if self.scenario in HANDOFF_SCENARIOS else direct,
            origin=self.origin,
            destination=self.destination,
            scans=tuple(self.journey.scans),
            delivery_due_at=due,
            handoff=handoff,
        )


def _plan_last_mile(tracking_number: str) -> Timeline:
    """Plays the USPS half of a hand-off from what its number encodes."""
    leg = parse_last_mile_number(tracking_number)
    assert leg is not None
    dice = Dice(f"plan|usps|{tracking_number}")
    here = DESTINATIONS[int(tracking_number[23:25]) % len(DESTINATIONS)]
    journey, tendered_at = _Journey("usps"), leg.tendered_at
    manifested_at = tendered_at - dice.minutes(120, 360)
    journey.add(Milestone.PRE_SHIPMENT_INFO, manifested_at, here, located=False)
    journey.add(Milestone.PARTNER_DEPARTED, tendered_at, here)
    due = None
    if not leg.gap:
        accepted_at = tendered_at + dice.minutes(180, 600)
        journey.add(Milestone.ACCEPTED_AT_DESTINATION, accepted_at, here)
        day = here.local(accepted_at).date() + timedelta(days=1)
        day += timedelta(days=1) if day.weekday() == 6 else timedelta(0)
        journey.add(
            Milestone.AT_DESTINATION, here.wall_clock(day, time(4)) + dice.minutes(0, 90), here
        )
        out_at = journey.add(
            Milestone.OUT_FOR_DELIVERY,
            here.wall_clock(day, time(7, 30)) + dice.minutes(0, 120),
            here,
        )
        journey.add(Milestone.DELIVERED, out_at + dice.minutes(120, 480), here)
        due = _end_of_day(out_at, here)
    return Timeline(
        carrier="usps",
        tracking_number=tracking_number,
        scenario=Scenario.HANDOFF_GAP if leg.gap else Scenario.HANDOFF,
        service=SERVICES["usps"][1],
        origin=here,
        destination=here,
        scans=tuple(journey.scans),
        delivery_due_at=due,
    )


def _end_of_day(at: datetime, place: Place) -> datetime:
    """Returns 20:00 local on `at`'s day: the promise carriers print as "by end of day"."""
    return place.local(place.wall_clock(place.local(at).date(), time(20)))


def _business_time(at: datetime, place: Place, dice: Dice) -> datetime:
    """Returns `at` if the place is open then (Mon-Fri 09:00-18:00 local), else a later pickup."""
    local = place.local(at)
    if local.weekday() < 5 and 9 <= local.hour < 18:
        return at
    day = (
        local.date() if local.weekday() < 5 and local.hour < 9 else local.date() + timedelta(days=1)
    )
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return place.wall_clock(day, time(9)) + dice.minutes(15, 240)
