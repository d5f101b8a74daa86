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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from random import Random

from app.reconciliation import service
from app.reconciliation.facts import LegFacts, OrderFacts
from app.tracking.cadence import CADENCE, max_poll_age
from app.tracking.claims import LegClaim
from app.tracking.judging import JudgingPolicy, first_poll_put_off, judge_answer
from app.tracking.progress import LegProgress
from app.tracking.subscriptions import polled_only_to_confirm
from bench.machine import print_machine
from bench.world import CONFIG, event_facts
from carriers.dhl.client import DhlClient
from carriers.fedex.client import FedexClient
from carriers.protocol import TrackingResult
from carriers.sandbox import Scenario, Timeline, plan_timeline, scenario_for
from carriers.sandbox.numbering import build_number
from carriers.sandbox.scenarios import HANDOFF_SCENARIOS
from carriers.types import (
    TERMINAL_STATUSES,
    RateLimit,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
)
from carriers.ups.client import UpsClient
from carriers.usps.client import UspsClient

WEEK_START = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)  # Monday 00:00 EDT, no holiday that week
WEEK_END = WEEK_START + timedelta(days=7)  # the default horizon
FIRST_LABEL = WEEK_START + timedelta(hours=8)
LABEL_SPAN = timedelta(hours=32)  # to Tuesday 16:00, before the 17:00 pickup cutoff
NAIVE_INTERVAL = timedelta(hours=1)
PUSH_DELAY = timedelta(minutes=1)  # a carrier's push after its scan
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
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
    pushed: bool = False  # an active push subscription covers it (push mode)
    covered_since: datetime | None = None  # since when (subscriptions.covered_since)

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
        pushed=leg.pushed,
        covered_since=leg.covered_since,
    )


def _polled_only_to_confirm(leg: SimLeg) -> bool:
    """As push_channel.list_pushed_leg_ids tells the sweep."""
    return polled_only_to_confirm(
        pushed=leg.pushed,
        status=leg.status,
        label_created_at=leg.label_created_at,
        since=leg.covered_since,
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
    """A simulated clock over a heap of due polls and sweeps; nothing sleeps.

    `quota`: calls an hour per carrier, for the carriers that ration them (the others answer at
    once). A rationed carrier is called at most once every 1/rate: legs that fall due wait, and
    the next call goes to the one the worker's claim would take first (`claims.claim_due_legs`:
    nearest alert deadline, then longest due, then id). An even flow is the strict reading of a
    day's quota (DHL's 250 a day may be spent in a burst), so the results err on the safe side.
    `push`: (carrier, leg sequence) -> subscription calls per number, for the legs the carrier
    pushes (1 for a number subscribed alone, 0.01 for UPS's 100 a request, 0 for an account or
    Mailer ID); the calls are charged to that carrier's quota when the leg is stored. A pushed
    leg's scans arrive PUSH_DELAY after they happen, and its polls follow
    `next_poll_at(..., pushed_leg=...)` as the worker's do.
    """

    def __init__(
        self,
        orders: list[SimOrder],
        naive: bool,
        end: datetime,
        *,
        quota: Mapping[str, float] | None = None,
        push: Mapping[tuple[str, int], float] | None = None,
    ) -> None:
        self.orders, self.naive, self.end = orders, naive, end
        self.quota, self.push_plan = dict(quota or {}), dict(push or {})
        self.queue: list[tuple[datetime, int, str, object]] = []
        self.seq, self.rng = 0, Random(5)
        self.legs: list[SimLeg] = []
        self.waiting: dict[str, list[tuple[tuple[datetime, datetime, int], int, SimLeg]]] = {
            carrier: [] for carrier in self.quota
        }
        self.next_free: dict[str, datetime] = {}
        self.slot_pending: set[str] = set()
        self.subscription_calls: Counter[str] = Counter()
        self.pushes = 0
        self.first_polls: Counter[str] = Counter()  # the poll of a leg never polled (history)
        # Polls of pushed legs inside the confirmation window of (or after) their deadline, by
        # carrier and deadline: the confirmations that must fit before each midnight.
        self.confirmations: Counter[tuple[str, datetime]] = Counter()
        self.peak_active: Counter[str] = Counter()
        for order in orders:
            for leg in order.legs:
                self.push(leg.tracking_started_at, "start", leg)
        at = min((leg.tracking_started_at for o in orders for leg in o.legs), default=end)
        while at < end:
            self.push(at, "sample", None)
            at += timedelta(hours=1)

    def push(self, at: datetime, kind: str, item: object) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, kind, item))

    def run(self) -> None:
        while self.queue and self.queue[0][0] < self.end:
            at, _, kind, item = heapq.heappop(self.queue)
            if kind == "poll" and isinstance(item, SimLeg) and item.next_poll_at == at:
                self.due(item, at)
            elif kind == "start" and isinstance(item, SimLeg):
                self.start_leg(item, at)
                # A new order is judged at its import (judging_schedule.new_order), so its legs
                # carry their first alert deadline, and the claim's priority, before any poll.
                item.order.reconcile_due_at = at
                self.judge(item.order, at)
            elif kind == "slot" and isinstance(item, str):
                self.slot(item, at)
            elif kind == "scan" and isinstance(item, SimLeg):
                self.receive_push(item, at)
            elif kind == "judge" and isinstance(item, SimOrder) and item.reconcile_due_at == at:
                self.judge(item, at)
            elif kind == "sample":
                self.sample(at)

    def start_leg(self, leg: SimLeg, now: datetime) -> None:
        """A stored leg: subscribed if its carrier pushes it (at once: the worker subscribes
        before it polls), then due at once, unless push covers its history
        (judging.first_poll_put_off)."""
        self.legs.append(leg)
        cost = self.push_plan.get((leg.carrier, leg.sequence))
        if cost is None:
            self.push(now, "poll", leg)
            return
        leg.pushed = True
        # A number's own subscription covers it from now; an account's from before any label.
        leg.covered_since = now if cost else WEEK_START - timedelta(days=1)
        put_off = first_poll_put_off(_claim(leg), now=now, policy=POLICY, subscribes=False)
        leg.next_poll_at = put_off or now
        self.push(leg.next_poll_at, "poll", leg)
        self.subscription_calls[leg.carrier] += cost
        if leg.carrier in self.quota:
            spacing = timedelta(hours=1) / self.quota[leg.carrier]
            self.next_free[leg.carrier] = max(self.next_free.get(leg.carrier, now), now) + (
                spacing * cost
            )
        for scan in leg.timeline.scans:
            if scan.at > now and scan.at + PUSH_DELAY < self.end:
                self.push(scan.at + PUSH_DELAY, "scan", leg)

    def due(self, leg: SimLeg, now: datetime) -> None:
        """The leg's poll time has come: polled at once, or queued behind its carrier's quota."""
        if leg.carrier not in self.quota:
            self.poll(leg, now)
            return
        self.seq += 1
        heapq.heappush(self.waiting[leg.carrier], (_claim_order(leg), self.seq, leg))
        if leg.carrier not in self.slot_pending:
            self.slot_pending.add(leg.carrier)
            self.push(max(now, self.next_free.get(leg.carrier, now)), "slot", leg.carrier)

    def slot(self, carrier: str, now: datetime) -> None:
        """The carrier's quota allows one call: to the due leg the worker's claim takes first."""
        self.slot_pending.discard(carrier)
        waiting = self.waiting[carrier]
        while waiting:
            key, _, leg = heapq.heappop(waiting)
            if leg.next_poll_at is None or leg.next_poll_at > now:
                continue  # polled since, or no longer due
            if key != _claim_order(leg):
                self.seq += 1
                heapq.heappush(waiting, (_claim_order(leg), self.seq, leg))
                continue
            self.poll(leg, now)
            spacing = timedelta(hours=1) / self.quota[carrier]
            self.next_free[carrier] = max(self.next_free.get(carrier, now), now) + spacing
            break
        if waiting and carrier not in self.slot_pending:
            self.slot_pending.add(carrier)
            self.push(max(now, self.next_free[carrier]), "slot", carrier)

    def sample(self, now: datetime) -> None:
        active = Counter(
            leg.carrier for leg in self.legs if leg.active and leg.tracking_started_at <= now
        )
        for carrier, count in active.items():
            self.peak_active[carrier] = max(self.peak_active[carrier], count)

    def poll(self, leg: SimLeg, now: datetime) -> None:
        """One lookup, recorded as recording.record_outcomes would record it."""
        leg.polls += 1
        if leg.status is None:
            self.first_polls[leg.carrier] += 1
        deadline = leg.alert_deadline_at
        window = POLICY.cadence.confirmation_window[1]
        if leg.pushed and deadline is not None and deadline - now <= window:
            self.confirmations[(leg.carrier, deadline)] += 1
        self.record(leg, leg.timeline.snapshot(now), now, polled=True)

    def receive_push(self, leg: SimLeg, now: datetime) -> None:
        """A pushed scan, recorded as a push is (recording._PUSHED_LEG_UPDATE): contact, and a
        next poll never later than it was."""
        if not leg.active:
            return
        self.pushes += 1
        self.record(leg, leg.timeline.snapshot(now), now, polled=False)

    def record(self, leg: SimLeg, answer: TrackingResult, now: datetime, *, polled: bool) -> None:
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
        before = leg.next_poll_at
        if polled:
            leg.next_poll_at = self._next_poll(leg, now, outcome.next_poll_at)
        elif outcome.next_poll_at is None:
            leg.next_poll_at = None
        elif before is not None and before < outcome.next_poll_at:
            leg.next_poll_at = before
        else:
            leg.next_poll_at = outcome.next_poll_at
        leg.active = leg.next_poll_at is not None
        if leg.next_poll_at is not None and (polled or leg.next_poll_at != before):
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
        self.start_leg(leg, now)

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
                leg,
                verdict.priorities.get(leg.id),
                now=now,
                cadence=POLICY.cadence,
                pushed=_polled_only_to_confirm(leg),
            )
            if leg.next_poll_at is not None and leg.next_poll_at != before:
                self.push(leg.next_poll_at, "poll", leg)
            elif leg.carrier in self.quota and leg.next_poll_at and leg.next_poll_at <= now:
                self.due(leg, now)  # waiting behind the quota: its place may have changed


def _claim_order(leg: SimLeg) -> tuple[datetime, datetime, int]:
    """The claim's order (claims.claim_due_legs): nearest alert deadline first (none last),
    then the longest due, then the id."""
    assert leg.next_poll_at is not None
    return (leg.alert_deadline_at or FAR_FUTURE, leg.next_poll_at, leg.id)


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
    delays, missed, after_week, false_alarms = judge_detection(orders, end)
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


def judge_detection(
    orders: list[SimOrder], end: datetime
) -> tuple[dict[str, list[timedelta]], Counter[str], Counter[str], Counter[str]]:
    """Per rule, the delays after the deadline of detected labels; then the labels missed, those
    due too late to count, and findings on labels that played another story."""
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
    return delays, missed, after_week, false_alarms


def _expected_rule(scenario: Scenario) -> str | None:
    if scenario in NEVER_SCANNED:
        return "never_inducted"
    return "handoff_gap" if scenario is Scenario.HANDOFF_GAP else None


def _deadline(order: SimOrder, rule: str, end: datetime) -> datetime | None:
    """The rule's own deadline (its threshold), from the finding the rules would raise on the
    data seen by the end of the week, looked at later with every leg fresh; None if none. A leg
    the run never looked at (a quota too small) is judged on what its carrier showed by the end,
    so its label still counts, as missed."""
    probe = end + timedelta(days=10)
    facts = facts_of(_as_seen_by(order, end))
    fresh = tuple(replace(leg, last_successful_poll_at=probe) for leg in facts.legs)
    verdict = service.judge_order(replace(facts, legs=fresh), now=probe, config=CONFIG)
    finding = next((f for f in verdict.findings if f.rule == rule), None)
    return datetime.fromisoformat(finding.evidence["deadline_at"]) if finding else None


def _as_seen_by(order: SimOrder, end: datetime) -> SimOrder:
    """The order with every leg never polled nor pushed filled in from its carrier at `end`."""
    if all(leg.status is not None for leg in order.legs):
        return order
    legs = []
    for leg in order.legs:
        answer = leg.timeline.snapshot(end)
        if leg.status is None:
            outcome = judge_answer(_claim(leg), answer, now=end, policy=POLICY, rng=Random(0))
            events = answer.events if isinstance(answer, TrackingSnapshot) else ()
            leg = replace(leg, progress=outcome.progress or leg.progress, events=events)
        legs.append(leg)
    return replace(order, legs=legs)


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


# --- Push against polling under the carriers' quotas (issue 18) ---------------------------------

# The carriers' own published limits, as firstscan's clients default to them.
RATE_LIMITS: dict[str, RateLimit] = {
    "usps": UspsClient.default_rate_limit,
    "ups": UpsClient.default_rate_limit,
    "fedex": FedexClient.default_rate_limit,
    "dhl": DhlClient.default_rate_limit,
}


def calls_per_hour(limit: RateLimit) -> float:
    """The sustained rate a limit allows: the tightest of its second, hour and day."""
    rates = [limit.requests_per_second * 3600]
    if limit.requests_per_hour is not None:
        rates.append(limit.requests_per_hour)
    if limit.requests_per_day is not None:
        rates.append(limit.requests_per_day / 24)
    return min(rates)


@dataclass(frozen=True)
class QuotaCase:
    """One carrier's quota, the labels that load it, and what push does for them."""

    name: str
    carrier: str  # whose quota is rationed and searched
    labels_of: tuple[str, ...]  # the carriers of the simulated labels, in turn
    push: Mapping[tuple[str, int], float]  # (carrier, leg sequence) -> subscription calls a number
    scenarios: frozenset[Scenario] | None = None  # only labels playing these stories

    @property
    def limit(self) -> RateLimit:
        return RATE_LIMITS[self.carrier]


# Labels stop this long before the end, so every label's never_inducted deadline falls in the run
# and a backlog that only grows shows as a miss (not as labels whose deadlines come after it).
TAIL = timedelta(days=4)

QUOTA_CASES = (
    # Track Alert: 100 numbers a subscription request (charged 1/100 a number: at the leg counts
    # found below, far more than 100 UPS legs are stored each minute, so requests go full).
    QuotaCase("UPS (Track Alert, 100 a request)", "ups", ("ups",), {("ups", 1): 0.01}),
    # The shop's own USPS labels under its Mailer ID: one account subscription, no call a number.
    QuotaCase("USPS, the shop's labels (Mailer ID)", "usps", ("usps",), {("usps", 1): 0.0}),
    QuotaCase("FedEx (AIV, by account)", "fedex", ("fedex",), {("fedex", 1): 0.0}),
    QuotaCase("DHL (no push: polled)", "dhl", ("dhl",), {}),
    # A consolidator's USPS hand-off number: subscribed alone, one USPS call each. Only labels
    # that hand off, so every USPS leg is one.
    QuotaCase(
        "USPS hand-off numbers (one by one)",
        "usps",
        ("fedex", "ups"),
        {("fedex", 1): 0.0, ("ups", 1): 0.01, ("usps", 2): 1.0},
        HANDOFF_SCENARIOS,
    ),
)


def build_steady_orders(
    count: int,
    carriers: tuple[str, ...],
    *,
    start: datetime,
    span: timedelta,
    only: frozenset[Scenario] | None,
) -> list[SimOrder]:
    """A shop printing labels at a steady rate over `span`: `count` labels of `carriers` in
    turn, those playing `only` if given."""
    orders: list[SimOrder] = []
    i = 0
    while len(orders) < count:
        carrier = carriers[i % len(carriers)]
        number = build_number(carrier, 7_000_000 + i)
        scenario = scenario_for(carrier, number)
        i += 1
        if only is not None and scenario not in only:
            continue
        k = len(orders)
        label_at = start + span * ((k * 0.6180339887498949) % 1.0)
        label_at = label_at.replace(second=0, microsecond=0)
        order = SimOrder(f"QUOTA-{k:05d}", scenario)
        started = label_at + timedelta(minutes=10)
        timeline = plan_timeline(carrier, number, label_created_at=label_at)
        order.legs.append(
            SimLeg(2 * k + 1, order, 1, carrier, number, timeline, label_at, started, started)
        )
        orders.append(order)
    return orders


@dataclass
class QuotaRun:
    rate: float | None  # calls an hour allowed to the case's carrier; None: unrationed
    detected_in_time: bool  # every never_inducted and handoff_gap due in the run, by deadline + 1 h
    due: int
    late_or_missed: int
    polls: int  # lookups of the case's carrier's legs
    subscription_calls: float
    legs: int  # of the case's carrier
    peak_active: int
    pushes: int
    first_polls: int  # polls of legs never polled before: in push mode, the history poll
    busiest_confirmations: int  # the most confirmations one deadline took (push mode)


def run_quota_case(
    case: QuotaCase, *, pushed: bool, rate: float | None, labels: int, end: datetime
) -> QuotaRun:
    orders = build_steady_orders(
        labels, case.labels_of, start=WEEK_START, span=end - WEEK_START - TAIL, only=case.scenarios
    )
    sim = Simulation(
        orders,
        False,
        end,
        quota={case.carrier: rate} if rate is not None else None,
        push=case.push if pushed else None,
    )
    sim.run()
    delays, missed, _, _ = judge_detection(orders, end)
    late = sum(missed.values()) + sum(1 for d in delays.values() for x in d if x > ONE_INTERVAL)
    due = sum(missed.values()) + sum(len(d) for d in delays.values())
    legs = [leg for o in orders for leg in o.legs if leg.carrier == case.carrier]
    return QuotaRun(
        rate,
        late == 0,
        due,
        late,
        sum(leg.polls for leg in legs),
        sim.subscription_calls[case.carrier],
        len(legs),
        sim.peak_active[case.carrier],
        sim.pushes,
        sim.first_polls[case.carrier],
        max((n for (c, _), n in sim.confirmations.items() if c == case.carrier), default=0),
    )


def smallest_rate(
    case: QuotaCase, *, pushed: bool, labels: int, end: datetime, steps: int
) -> tuple[QuotaRun, QuotaRun]:
    """The unrationed run, and the run at the smallest rate found (a geometric bisection over
    the rate, from the unrationed run's average) at which every detection is still in time."""
    free = run_quota_case(case, pushed=pushed, rate=None, labels=labels, end=end)
    hours = (end - WEEK_START) / timedelta(hours=1)
    average = (free.polls + free.subscription_calls) / hours
    high, passing = 4 * average, None
    for _ in range(4):  # find a rate that holds
        passing = run_quota_case(case, pushed=pushed, rate=high, labels=labels, end=end)
        if passing.detected_in_time:
            break
        high *= 2
    assert passing is not None
    assert passing.detected_in_time, "no rate found that holds"
    low = average / 4
    for _ in range(steps):
        middle = math.sqrt(low * high)
        run = run_quota_case(case, pushed=pushed, rate=middle, labels=labels, end=end)
        if run.detected_in_time:
            high, passing = middle, run
        else:
            low = middle
    return free, passing


def report_quotas(labels: int, days: int, steps: int) -> None:
    end = WEEK_START + timedelta(days=days)
    print(
        f"each case: {labels:,} labels printed at a steady rate from {WEEK_START:%a %d %b %H:%M} "
        f"UTC to {end - TAIL:%a %d %b %H:%M} UTC, followed to {end:%a %d %b %H:%M} UTC; "
        f"quota searched by {steps} "
        "halvings (geometric) of the rate; legs scaled arithmetically to the real quota"
    )
    for case in QUOTA_CASES:
        quota = calls_per_hour(case.limit)
        print(f"\n{case.name}: quota {quota:,.1f} calls an hour ({case.limit})")
        found: dict[bool, float] = {}
        in_flight = 0
        for pushed in (False, True):
            free, tight = smallest_rate(case, pushed=pushed, labels=labels, end=end, steps=steps)
            assert tight.rate is not None
            # The parcels in flight at once, as the unrationed polling run sees them (a rationed
            # run keeps delivered legs active until polled, which would flatter polling).
            in_flight = in_flight or free.peak_active
            # Calls scale with legs at a fixed mix: the real quota carries this many legs.
            legs_at_quota = in_flight * quota / tight.rate
            found[pushed] = legs_at_quota
            calls = free.polls + free.subscription_calls
            print(
                f"  {'push + confirmation polls' if pushed else 'polling only':26} "
                f"calls per {case.carrier} leg {calls / free.legs:5.2f} "
                f"(polls {free.polls / free.legs:.2f} + subscription "
                f"{free.subscription_calls / free.legs:.2f}), pushes {free.pushes:,}; "
                f"in time at {tight.rate:,.2f} calls/h "
                f"({tight.polls / tight.legs:.2f} polls a leg, "
                f"{tight.first_polls / tight.legs:.2f} of them first polls) "
                f"with {in_flight:,} in flight (due {tight.due}, late {tight.late_or_missed}) "
                "-> at the quota: "
                f"{legs_at_quota:,.0f} active legs"
            )
        print(f"  push / polling only: {found[True] / found[False]:.1f}x the active legs")
        if case.push:
            _print_confirmation_floor(tight, found[True] / found[False])


def _print_confirmation_floor(tight: QuotaRun, ratio: float) -> None:
    """What binds push under a quota: every confirmation of one deadline has to fit between the
    confirmation window's opening and the detection tolerance after the deadline."""
    assert tight.rate is not None
    longest = POLICY.cadence.confirmation_window[1]
    hours = (longest + ONE_INTERVAL) / timedelta(hours=1)
    floor = tight.busiest_confirmations / hours
    print(
        f"  the busiest deadline took {tight.busiest_confirmations} confirmations in the "
        f"{hours:.0f} h from the window's opening to the tolerance: at least {floor:.2f} calls/h "
        f"of the {tight.rate:.2f} found ({floor / tight.rate:.0%})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument(
        "--days", type=int, default=7, help="simulated days (10 lets the hand-off gaps fall due)"
    )
    parser.add_argument(
        "--quotas",
        action="store_true",
        help="push against polling under each carrier's quota (issue 18) instead",
    )
    parser.add_argument("--steps", type=int, default=5, help="bisection steps of the quota search")
    args = parser.parse_args(argv)
    if args.quotas:
        print_machine("carrier calls: push against polling under the carriers' quotas (issue 18)")
        report_quotas(args.labels, args.days, args.steps)
        return
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
