"""Issue 5's carrier-call benchmark: firstscan's cadence against naive hourly polling.

    python -m bench.calls [--labels 10000]

10,000 labels are printed between Monday 08:00 and Tuesday 16:00 (New York) and followed for
one simulated week on a simulated clock (nothing sleeps). Each label plays its sandbox scenario,
so its outcome is known in advance. Both strategies drive firstscan's own pieces: the sandbox
answers (Timeline.snapshot), judging.judge_answer (progress and cadence.next_poll_at),
service.judge_order (rules.find_discrepancies and upcoming_findings on the facts as the worker would
build them), and the sweep's deadline scheduling (service._schedule_for_deadline).

- firstscan: a new leg is polled at once, then when the cadence says; the order is judged after
  every poll that brought news and again at its next rule deadline.
- naive: every leg is polled every hour until it reaches a terminal status; the order is judged
  after every poll that brought news or found a deadline passed.

A call is one tracking-number lookup (FedEx's 30-numbers-per-request batching would divide both
strategies' FedEx counts alike). Targets: every never-inducted label detected within its
threshold (the never_inducted deadline) plus one interval (1 h), with at most 1/3 of naive calls.
"""

from __future__ import annotations

import argparse
import heapq
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from random import Random

from app.reconciliation import service
from app.reconciliation.facts import LegFacts, OrderFacts
from app.tracking.cadence import CADENCE, max_poll_age
from app.tracking.claims import LegClaim
from app.tracking.judging import JudgingPolicy, judge_answer
from app.tracking.progress import LegProgress
from bench.machine import print_machine
from bench.world import CONFIG, event_facts
from carriers.sandbox import Scenario, Timeline, plan_timeline, scenario_for
from carriers.sandbox.numbering import build_number
from carriers.types import TERMINAL_STATUSES, TrackingEvent, TrackingSnapshot, TrackingStatus

WEEK_START = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)  # Monday 00:00 EDT, no holiday that week
WEEK_END = WEEK_START + timedelta(days=7)  # the default horizon
FIRST_LABEL = WEEK_START + timedelta(hours=8)
LABEL_SPAN = timedelta(hours=32)  # to Tuesday 16:00, before the 17:00 pickup cutoff
NAIVE_INTERVAL = timedelta(hours=1)
ONE_INTERVAL = timedelta(hours=1)
NEVER_SCANNED = frozenset({Scenario.NEVER_INDUCTED, Scenario.NOT_FOUND})
_CARRIERS = ("usps",) * 40 + ("ups",) * 25 + ("fedex",) * 25 + ("dhl",) * 10
_EMPTY = LegProgress(None, None, None, None, None, None, None)
POLICY = JudgingPolicy(cadence=CADENCE)


@dataclass(eq=False)
class SimLeg:
    """A leg row as the worker keeps it; its attribute names are Leg's, so the sweep's own
    scheduling function can be applied to it."""

    id: int
    order: SimOrder
    sequence: int
    carrier: str
    tracking_number: str
    timeline: Timeline
    label_created_at: datetime
    tracking_started_at: datetime
    next_poll_at: datetime | None
    handoff_from_leg_id: int | None = None
    progress: LegProgress = _EMPTY
    events: tuple[TrackingEvent, ...] = ()
    active: bool = True
    last_polled_at: datetime | None = None
    alert_deadline_at: datetime | None = None
    consecutive_failures: int = 0  # the simulated carriers never fail
    polls: int = 0

    @property
    def status(self) -> str | None:
        return self.progress.status


@dataclass(eq=False)
class SimOrder:
    number: str
    scenario: Scenario
    legs: list[SimLeg] = field(default_factory=list)
    reconcile_due_at: datetime | None = None
    first_seen: dict[str, datetime] = field(default_factory=dict)  # rule -> first finding


def build_orders(count: int) -> list[SimOrder]:
    """The week's labels: carriers in a fixed mix, print times evenly spread, sandbox outcomes."""
    orders = []
    for i in range(count):
        carrier = _CARRIERS[i % len(_CARRIERS)]
        number = build_number(carrier, 7_000_000 + i)
        label_at = FIRST_LABEL + LABEL_SPAN * ((i * 0.6180339887498949) % 1.0)
        label_at = label_at.replace(second=0, microsecond=0)
        order = SimOrder(f"CALLS-{i:05d}", scenario_for(carrier, number))
        started = label_at + timedelta(minutes=10)
        timeline = plan_timeline(carrier, number, label_created_at=label_at)
        order.legs.append(
            SimLeg(2 * i + 1, order, 1, carrier, number, timeline, label_at, started, started)
        )
        orders.append(order)
    return orders


def _claim(leg: SimLeg) -> LegClaim:
    return LegClaim(
        id=leg.id,
        shipment_id=leg.id,
        order_id=leg.id,
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        service=leg.timeline.service,
        label_created_at=leg.label_created_at,
        alert_deadline_at=leg.alert_deadline_at,
        consecutive_failures=0,
        last_poll_day=None,
        progress=leg.progress,
        taken_over_from=None,
    )


def facts_of(order: SimOrder) -> OrderFacts:
    by_id = {leg.id: leg for leg in order.legs}
    legs = []
    for leg in order.legs:
        status = TrackingStatus(leg.status) if leg.status else None
        previous = by_id.get(leg.handoff_from_leg_id or 0)
        following = next((o.id for o in order.legs if o.handoff_from_leg_id == leg.id), None)
        legs.append(
            LegFacts(
                leg_id=leg.id,
                carrier=leg.carrier,
                service=leg.timeline.service,
                tracking_number=leg.tracking_number,
                sequence=leg.sequence,
                label_created_at=leg.label_created_at,
                events=tuple(event_facts(e) for e in leg.events),
                current_status=status,
                tracking_started_at=leg.tracking_started_at,
                last_successful_poll_at=leg.last_polled_at,
                max_poll_age=max_poll_age(status, POLICY.cadence),
                handoff_to_leg_id=following,
                handed_off_at=previous.progress.handed_off_at if previous else None,
            )
        )
    return OrderFacts(order.number, "shipped", None, tuple(legs))


class Simulation:
    """A simulated clock over a heap of due polls and sweeps; nothing sleeps."""

    def __init__(self, orders: list[SimOrder], naive: bool, end: datetime) -> None:
        self.orders, self.naive, self.end = orders, naive, end
        self.queue: list[tuple[datetime, int, str, object]] = []
        self.seq, self.rng = 0, Random(5)
        for order in orders:
            for leg in order.legs:
                self.push(leg.tracking_started_at, "poll", leg)

    def push(self, at: datetime, kind: str, item: object) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, kind, item))

    def run(self) -> None:
        while self.queue and self.queue[0][0] < self.end:
            at, _, kind, item = heapq.heappop(self.queue)
            if kind == "poll" and isinstance(item, SimLeg) and item.next_poll_at == at:
                self.poll(item, at)
            elif kind == "judge" and isinstance(item, SimOrder) and item.reconcile_due_at == at:
                self.judge(item, at)

    def poll(self, leg: SimLeg, now: datetime) -> None:
        """One lookup, recorded as recording.record_outcomes would record it."""
        leg.polls += 1
        answer = leg.timeline.snapshot(now)
        outcome = judge_answer(_claim(leg), answer, now=now, policy=POLICY, rng=self.rng)
        # As recording._orders_with_news queues an order: a new scan, a changed state, or a leg
        # stale until this poll (the sandbox only ever adds scans, so a longer list is news).
        status = TrackingStatus(leg.status) if leg.status else None
        stale = leg.last_polled_at is None or (
            now - leg.last_polled_at > max_poll_age(status, POLICY.cadence)
        )
        new_scan = isinstance(answer, TrackingSnapshot) and len(answer.events) > len(leg.events)
        news = outcome.progress is not None and (
            new_scan or outcome.progress != leg.progress or stale
        )
        leg.progress = outcome.progress or leg.progress
        if isinstance(answer, TrackingSnapshot):
            leg.events = answer.events
        leg.last_polled_at = now
        leg.next_poll_at = self._next_poll(leg, now, outcome.next_poll_at)
        leg.active = leg.next_poll_at is not None
        if leg.next_poll_at is not None:
            self.push(leg.next_poll_at, "poll", leg)
        if outcome.handoff is not None and len(leg.order.legs) == 1:
            self._add_handoff_leg(leg, outcome.handoff.tracking_number, now)
        order = leg.order
        deadline_passed = order.reconcile_due_at is not None and order.reconcile_due_at <= now
        if news or (self.naive and deadline_passed):
            order.reconcile_due_at = now
            self.judge(order, now)

    def _next_poll(self, leg: SimLeg, now: datetime, cadence: datetime | None) -> datetime | None:
        if not self.naive:
            return cadence
        status = TrackingStatus(leg.status) if leg.status else None
        return None if status in TERMINAL_STATUSES else now + NAIVE_INTERVAL

    def _add_handoff_leg(self, first: SimLeg, number: str, now: datetime) -> None:
        label_at = first.progress.handed_off_at or now
        timeline = plan_timeline("usps", number, label_created_at=label_at)
        leg = SimLeg(first.id + 1, first.order, 2, "usps", number, timeline, label_at, now, now)
        leg.handoff_from_leg_id = first.id
        first.order.legs.append(leg)
        self.push(now, "poll", leg)

    def judge(self, order: SimOrder, now: datetime) -> None:
        """The sweep's judgement: findings, the next look, and polls pulled in for deadlines."""
        verdict = service.judge_order(facts_of(order), now=now, config=CONFIG)
        for finding in verdict.findings:
            order.first_seen.setdefault(finding.rule, now)
        order.reconcile_due_at = verdict.next_deadline
        if verdict.next_deadline is not None and not self.naive:
            self.push(verdict.next_deadline, "judge", order)
        for leg in order.legs:
            if self.naive:
                leg.alert_deadline_at = verdict.priorities.get(leg.id)
                continue
            before = leg.next_poll_at
            # The worker's own scheduling (private, but it is exactly what the sweep does).
            service._schedule_for_deadline(  # type: ignore[arg-type]
                leg, verdict.priorities.get(leg.id), now=now, cadence=POLICY.cadence
            )
            if leg.next_poll_at is not None and leg.next_poll_at != before:
                self.push(leg.next_poll_at, "poll", leg)


@dataclass
class Result:
    name: str
    calls: int
    legs: int
    delays: dict[str, list[timedelta]]  # rule -> delay after its deadline, per detected order
    missed: Counter[str]  # due in the week (deadline + one interval before its end), not found
    after_week: Counter[str]  # deadline too late in the week to count, or not yet known
    false_alarms: Counter[str]
    seconds: float


def simulate(naive: bool, labels: int, end: datetime = WEEK_END) -> Result:
    started = time.perf_counter()
    orders = build_orders(labels)
    Simulation(orders, naive, end).run()
    delays: dict[str, list[timedelta]] = {"never_inducted": [], "handoff_gap": []}
    missed: Counter[str] = Counter()
    after_week: Counter[str] = Counter()
    false_alarms: Counter[str] = Counter()
    for order in orders:
        expected = _expected_rule(order.scenario)
        false_alarms.update(r for r in order.first_seen if r in delays and r != expected)
        if expected is None:
            continue
        deadline = _deadline(order, expected, end)
        if deadline is None or deadline > end - ONE_INTERVAL:
            after_week[expected] += 1
        elif expected not in order.first_seen:
            missed[expected] += 1
        else:
            delays[expected].append(order.first_seen[expected] - deadline)
    return Result(
        "naive hourly" if naive else "firstscan",
        calls=sum(leg.polls for o in orders for leg in o.legs),
        legs=sum(len(o.legs) for o in orders),
        delays=delays,
        missed=missed,
        after_week=after_week,
        false_alarms=false_alarms,
        seconds=time.perf_counter() - started,
    )


def _expected_rule(scenario: Scenario) -> str | None:
    if scenario in NEVER_SCANNED:
        return "never_inducted"
    return "handoff_gap" if scenario is Scenario.HANDOFF_GAP else None


def _deadline(order: SimOrder, rule: str, end: datetime) -> datetime | None:
    """The rule's own deadline (its threshold), from the finding the rules would raise on the
    data seen by the end of the week, looked at later with every leg fresh; None if none."""
    probe = end + timedelta(days=10)
    facts = facts_of(order)
    fresh = tuple(replace(leg, last_successful_poll_at=probe) for leg in facts.legs)
    verdict = service.judge_order(replace(facts, legs=fresh), now=probe, config=CONFIG)
    finding = next((f for f in verdict.findings if f.rule == rule), None)
    return datetime.fromisoformat(finding.evidence["deadline_at"]) if finding else None


def _percentile(values: list[timedelta], share: float) -> timedelta:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def report(result: Result, labels: int, days: int, hours: Callable[[timedelta], str]) -> None:
    print(
        f"{result.name}: {result.calls:,} calls for {result.legs:,} legs "
        f"({result.calls / labels / days:.2f} per label per day), "
        f"simulated in {result.seconds:.0f} s"
    )
    for rule, delays in result.delays.items():
        total = len(delays) + result.missed[rule]
        if not total:
            print(f"  {rule}: none due in the run ({result.after_week[rule]:,} fall due after it)")
            continue
        within = sum(1 for d in delays if d <= ONE_INTERVAL)
        spread = (
            f"max {hours(max(delays))}, p95 {hours(_percentile(delays, 0.95))}, "
            f"median {hours(_percentile(delays, 0.5))}"
            if delays
            else "none detected"
        )
        print(
            f"  {rule}: {len(delays):,}/{total:,} due in the run detected, {within / total:.1%} "
            f"within the deadline + {hours(ONE_INTERVAL)}; delay after the deadline: {spread} "
            f"({result.after_week[rule]:,} more fall due after the run)"
        )
    print(f"  findings on labels that did not play that story: {dict(result.false_alarms) or 0}")


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument(
        "--days", type=int, default=7, help="simulated days (10 lets the hand-off gaps fall due)"
    )
    args = parser.parse_args(argv)
    end = WEEK_START + timedelta(days=args.days)
    print_machine("carrier calls: firstscan's cadence against naive hourly polling (issue 5)")
    scenarios = Counter(o.scenario for o in build_orders(args.labels))
    print(
        f"{args.labels:,} labels printed {FIRST_LABEL:%a %d %b %H:%M} UTC + {LABEL_SPAN}, "
        f"followed to {end:%a %d %b %H:%M} UTC: "
        + ", ".join(f"{s} {n:,}" for s, n in scenarios.most_common())
    )
    ours, naive = simulate(False, args.labels, end), simulate(True, args.labels, end)
    report(ours, args.labels, args.days, _hours)
    report(naive, args.labels, args.days, _hours)
    ratio = ours.calls / naive.calls
    verdict = "meets" if ratio <= 1 / 3 else "MISSES"
    print(f"calls ratio firstscan/naive: {ratio:.3f} ({verdict} the <= 1/3 target)")


if __name__ == "__main__":
    main()
