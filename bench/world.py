"""The benchmark's world: a shop's steady stream of labels, each played by the sandbox, seen at
one instant as firstscan's worker would have left the database.

Labels arrive at a constant rate over the 35 days before `NOW`, spread over four carriers. Each
label plays its sandbox scenario (80 % normal, 6 % never inducted, ...). A leg was last polled a
random part of its cadence interval before `NOW` and holds what the carrier showed then; its
order was judged by the real rules after that poll and again at every deadline that passed
before the last sweep, exactly as `reconcile_due_orders` would have, so its open alerts,
`reconcile_due_at`, `alert_deadline_at` and `next_poll_at` are the worker's own values.

`NOW` is three seconds after a business-day midnight in New York: every business-day deadline
(never_inducted, handoff_gap, not_found, stalled) and every `late` promise falls on a midnight,
so the sweep interval that contains one is the heaviest of the day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from app.kernel.findings import Finding
from app.reconciliation.facts import EventFacts, LegFacts, OrderFacts
from app.reconciliation.service import ReconciliationConfig, judge_order
from app.tracking.cadence import CADENCE, max_poll_age, next_poll_at
from app.tracking.progress import LegProgress, apply_not_found, apply_snapshot
from carriers.sandbox import Scenario, Timeline, plan_timeline, scenario_for
from carriers.sandbox.numbering import build_number
from carriers.types import TERMINAL_STATUSES, TrackingEvent, TrackingSnapshot, TrackingStatus

NOW = datetime(2026, 3, 11, 4, 0, 3, tzinfo=UTC)  # Wednesday 00:00:03 EDT
SWEEP_INTERVAL = timedelta(seconds=5)  # Settings.reconcile_interval_seconds
HISTORY = timedelta(days=35)
# Scenarios that end in a terminal state within a week of the label: older ones are done.
_SHORT_LIVED = frozenset({Scenario.NORMAL, Scenario.RETURNED_TO_SENDER, Scenario.HANDOFF})
_SHORT_LIFE = timedelta(days=9)
_CARRIERS = ("usps",) * 40 + ("ups",) * 25 + ("fedex",) * 25 + ("dhl",) * 10
_SERIAL_BASE = {"usps": 1_000_000_000, "ups": 1_000_000, "fedex": 10_000_000_000, "dhl": 1_000}
_GOLDEN = 0.6180339887498949
_EMPTY = LegProgress(None, None, None, None, None, None, None)
CONFIG = ReconciliationConfig()


@dataclass(frozen=True, slots=True)
class Label:
    serial: int
    carrier: str
    tracking_number: str
    created_at: datetime


def label_for(serial: int) -> Label:
    """The serial-th label of the stream: carriers in a fixed mix, times evenly spread."""
    carrier = _CARRIERS[serial % len(_CARRIERS)]
    age = HISTORY * ((serial * _GOLDEN) % 1.0)
    created_at = (NOW - age).replace(second=0, microsecond=0)
    number = build_number(carrier, _SERIAL_BASE[carrier] + serial)
    return Label(serial, carrier, number, created_at)


@dataclass(slots=True)
class LegState:
    """One leg as the worker left it: what the carrier showed at its last poll."""

    leg_id: int
    sequence: int
    carrier: str
    tracking_number: str
    service: str | None
    label_created_at: datetime
    tracking_started_at: datetime
    polled_at: datetime
    progress: LegProgress
    events: tuple[TrackingEvent, ...]
    handoff_from: int | None = None
    handoff_number: str | None = None
    active: bool = True
    next_poll_at: datetime | None = None


@dataclass(slots=True)
class OrderState:
    serial: int
    label: Label
    legs: list[LegState]
    judged_at: datetime
    next_deadline: datetime | None = None
    findings: list[tuple[Finding, datetime]] = field(default_factory=list)

    @property
    def order_id(self) -> int:
        return self.serial + 1

    @property
    def order_number(self) -> str:
        return f"BENCH-{self.serial:08d}"

    @property
    def promised_on(self) -> date:
        """Five days after the label's New York date (the shop's promise)."""
        return (self.label.created_at - timedelta(hours=4)).date() + timedelta(days=5)


@dataclass(frozen=True, slots=True)
class Poll:
    timeline: Timeline
    polled_at: datetime
    progress: LegProgress
    answer: TrackingSnapshot | None


def _poll(
    carrier: str, number: str, label_at: datetime | None, started: datetime, phase: float
) -> Poll:
    """Plays the number and picks its last poll time: `phase` of its cadence interval ago."""
    timeline = plan_timeline(carrier, number, label_created_at=label_at)
    current = timeline.snapshot(NOW)
    status = current.status if isinstance(current, TrackingSnapshot) else None
    interval = CADENCE.interval(status) or timedelta(hours=2)  # terminal now: polled often
    polled_at = max(started, NOW - interval * phase)
    answer = timeline.snapshot(polled_at)
    if isinstance(answer, TrackingSnapshot):
        # The status back then may be polled more often: its own interval must cover NOW.
        shorter = CADENCE.interval(answer.status) or interval
        if shorter < interval:
            polled_at = max(started, NOW - shorter * phase)
            answer = timeline.snapshot(polled_at)
    if isinstance(answer, TrackingSnapshot):
        return Poll(timeline, polled_at, apply_snapshot(_EMPTY, answer, now=polled_at), answer)
    return Poll(timeline, polled_at, apply_not_found(_EMPTY, now=polled_at), None)


def _phase(serial: int, salt: float) -> float:
    return (serial * salt) % 1.0


def build_order_state(serial: int) -> OrderState | None:
    """The order of the serial-th label as the worker left it at NOW; None when it is over."""
    label = label_for(serial)
    started = label.created_at + timedelta(minutes=10)
    if started > NOW - SWEEP_INTERVAL:
        return None
    scenario = scenario_for(label.carrier, label.tracking_number)
    if scenario in _SHORT_LIVED and NOW - label.created_at > _SHORT_LIFE:
        return None
    poll = _poll(
        label.carrier, label.tracking_number, label.created_at, started, _phase(serial, 0.7548)
    )
    answer = poll.answer
    first = LegState(
        leg_id=2 * serial + 1,
        sequence=1,
        carrier=label.carrier,
        tracking_number=label.tracking_number,
        service=poll.timeline.service,
        label_created_at=label.created_at,
        tracking_started_at=started,
        polled_at=poll.polled_at,
        progress=poll.progress,
        events=answer.events if answer else (),
        handoff_number=answer.handoff.tracking_number if answer and answer.handoff else None,
    )
    legs = [first]
    if first.handoff_number is not None:
        legs.append(_handoff_leg(first, _phase(serial, 0.5698)))
    order = OrderState(serial, label, legs, judged_at=max(leg.polled_at for leg in legs))
    _judge_until_last_sweep(order)
    _schedule_legs(order)
    return order if any(leg.active for leg in order.legs) else None


def _handoff_leg(first: LegState, phase: float) -> LegState:
    """The USPS leg the consolidator revealed, added at the poll that revealed it."""
    assert first.handoff_number is not None
    handed_off_at = first.progress.handed_off_at or first.polled_at
    poll = _poll("usps", first.handoff_number, None, first.polled_at, phase)
    return LegState(
        leg_id=first.leg_id + 1,
        sequence=2,
        carrier="usps",
        tracking_number=first.handoff_number,
        service=None,
        label_created_at=handed_off_at,
        tracking_started_at=first.polled_at,
        polled_at=poll.polled_at,
        progress=poll.progress,
        events=poll.answer.events if poll.answer else (),
        handoff_from=first.leg_id,
    )


def order_facts(order: OrderState) -> OrderFacts:
    """The facts `build_order_facts` would read from the rows this order is stored as."""
    by_id = {leg.leg_id: leg for leg in order.legs}
    facts = []
    for leg in order.legs:
        status = TrackingStatus(leg.progress.status) if leg.progress.status else None
        previous = by_id.get(leg.handoff_from) if leg.handoff_from else None
        following = next((o.leg_id for o in order.legs if o.handoff_from == leg.leg_id), None)
        facts.append(
            LegFacts(
                leg_id=leg.leg_id,
                carrier=leg.carrier,
                service=leg.service,
                tracking_number=leg.tracking_number,
                sequence=leg.sequence,
                label_created_at=leg.label_created_at,
                events=tuple(event_facts(e) for e in leg.events),
                current_status=status,
                tracking_started_at=leg.tracking_started_at,
                last_successful_poll_at=leg.polled_at,
                max_poll_age=max_poll_age(status, CADENCE),
                handoff_to_leg_id=following,
                handed_off_at=previous.progress.handed_off_at if previous else None,
            )
        )
    return OrderFacts(order.order_number, "shipped", order.promised_on, tuple(facts))


def event_facts(event: TrackingEvent) -> EventFacts:
    """As `build_event_facts` reads a stored event back: UTC time, "city, state, country"."""
    loc = event.location
    parts = (loc.city, loc.state, loc.country) if loc else ()
    return EventFacts(
        status=event.status,
        occurred_at=event.occurred_at.astimezone(UTC),
        carrier_code=event.carrier_code,
        description=event.description,
        location=", ".join(p for p in parts if p) or None,
    )


def _judge_until_last_sweep(order: OrderState) -> None:
    """Judges after the last poll, then at each deadline reached before the last sweep."""
    facts, at, seen = order_facts(order), order.judged_at, {}
    while True:
        verdict = judge_order(facts, now=at, config=CONFIG)
        for finding in verdict.findings:
            seen.setdefault(finding.key, at)
        order.judged_at, order.next_deadline = at, verdict.next_deadline
        order.findings = [(f, seen[f.key]) for f in verdict.findings]
        if at > NOW - SWEEP_INTERVAL:  # polled since the last sweep: this sweep judges it
            order.next_deadline = at
            return
        if verdict.next_deadline is None or verdict.next_deadline > NOW - SWEEP_INTERVAL:
            return
        at = verdict.next_deadline


def _schedule_legs(order: OrderState) -> None:
    expired = {f.leg_id for f, _ in order.findings if f.rule == "expired"}
    for leg in order.legs:
        status = TrackingStatus(leg.progress.status) if leg.progress.status else None
        if leg.leg_id in expired or status in TERMINAL_STATUSES:
            leg.active, leg.next_poll_at = False, None
            continue
        leg.next_poll_at = next_poll_at(
            status, now=leg.polled_at, deadline=order.next_deadline, table=CADENCE
        )
