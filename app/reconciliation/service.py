"""Comparing what we expect with what carriers scanned: findings become alerts, and alerts whose
problem went away close themselves."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts import opening, planned
from app.alerts import repository as alerts_repository
from app.alerts import service as alerts_service
from app.alerts.models import Alert
from app.db import session_scope
from app.kernel.calendar import CalendarTable, default_calendars
from app.kernel.findings import Finding
from app.kernel.freshness import fresh_since
from app.kernel.thresholds import ThresholdTable
from app.pacing import Pacer
from app.quarantine import repository as quarantine_repository
from app.quarantine.isolation import describe_error
from app.reconciliation import repository, rules
from app.reconciliation.facts import OrderFacts
from app.reconciliation.facts_builder import StoredEvent, build_order_facts
from app.shipments import judging_schedule, poll_schedule
from app.shipments.models import Leg, Order
from app.tracking import push_channel
from app.tracking.cadence import CADENCE, CadenceTable, next_poll_at
from app.tracking.explain import describe_status
from carriers.registry import carrier_name
from carriers.types import TrackingStatus

logger = logging.getLogger("app.reconciliation.service")
_STATUSES = {s.value for s in TrackingStatus}
# Legs that these rules call dead are not polled any more.
RULES_THAT_STOP_POLLING = frozenset({"expired"})


@dataclass(frozen=True, slots=True)
class ReconciliationConfig:
    thresholds: ThresholdTable = field(default_factory=ThresholdTable)
    calendars: CalendarTable = field(default_factory=default_calendars)
    cadence: CadenceTable = CADENCE
    policy: alerts_service.AlertPolicy = field(default_factory=alerts_service.AlertPolicy)


@dataclass(frozen=True, slots=True)
class OrderVerdict:
    order_number: str
    findings: list[Finding]
    upcoming: rules.Upcoming | None  # the next deadline and what opens then
    # Leg id -> the earliest alert deadline waiting on that leg's next poll (rules.poll_priorities)
    priorities: Mapping[int, datetime] = field(default_factory=dict)

    @property
    def next_deadline(self) -> datetime | None:
        return self.upcoming.at if self.upcoming is not None else None


@dataclass(frozen=True, slots=True)
class LoadedOrders:
    """Orders with their legs (ORM, for writing back) and their legs' scans (plain rows)."""

    orders: list[Order]
    events_by_leg: Mapping[int, Sequence[StoredEvent]]

    def facts(self, cadence: CadenceTable) -> list[tuple[Order, OrderFacts]]:
        return [(o, build_order_facts(o, self.events_by_leg, cadence)) for o in self.orders]


async def load_orders(session: AsyncSession, order_ids: Sequence[int]) -> LoadedOrders:
    orders = await repository.list_orders_with_legs(session, order_ids)
    leg_ids = [leg.id for o in orders for s in o.shipments for leg in s.legs]
    events_by_leg: dict[int, list[StoredEvent]] = defaultdict(list)
    for event in await repository.list_events_for_legs(session, leg_ids):
        events_by_leg[event.leg_id].append(event)
    return LoadedOrders(orders, events_by_leg)


async def load_order_facts(
    session: AsyncSession, order_ids: Sequence[int], cadence: CadenceTable
) -> list[tuple[Order, OrderFacts]]:
    return (await load_orders(session, order_ids)).facts(cadence)


def build_and_judge(
    loaded: LoadedOrders, now: datetime, config: ReconciliationConfig
) -> list[tuple[Order, OrderFacts, OrderVerdict]]:
    """Facts and verdicts of loaded orders: pure CPU work over objects no one else touches
    meanwhile (the caller awaits it), so it runs in a thread and leaves the event loop free."""
    return [
        (order, facts, judge_order(facts, now=now, config=config))
        for order, facts in loaded.facts(config.cadence)
    ]


def judge_order(facts: OrderFacts, *, now: datetime, config: ReconciliationConfig) -> OrderVerdict:
    """The rules' verdict on one order at `now` (pure)."""
    thresholds, calendars = config.thresholds, config.calendars
    findings, priorities = rules.find_with_priorities(
        facts, now=now, thresholds=thresholds, calendars=calendars
    )
    return OrderVerdict(
        order_number=facts.order_number,
        findings=findings,
        upcoming=rules.upcoming_findings(
            facts, now=now, thresholds=thresholds, calendars=calendars
        ),
        priorities=priorities,
    )


async def reconcile_orders(
    session: AsyncSession, *, order_ids: Sequence[int], now: datetime, config: ReconciliationConfig
) -> list[OrderVerdict]:
    """Judges each order, opens or refreshes its alerts, closes those whose problem went away,
    and schedules the order's next look at its next deadline."""
    loaded = await load_orders(session, order_ids)
    open_alerts = await alerts_repository.list_unresolved_alerts_for_orders(
        session, [order.id for order in loaded.orders]
    )
    alerts_by_order: dict[int | None, list[Alert]] = defaultdict(list)
    for alert in open_alerts:
        alerts_by_order[alert.order_id].append(alert)
    # Building the facts and judging them is pure and CPU-bound: in a thread, it leaves the
    # event loop free for polling and delivery (the GIL is handed back every few milliseconds),
    # however big the order.
    judged = await asyncio.to_thread(build_and_judge, loaded, now, config)
    pacer = Pacer()
    legs = {order.id: _legs(order) for order in loaded.orders}
    pushed = await push_channel.list_pushed_leg_ids(
        session, [leg_id for order_legs in legs.values() for leg_id in order_legs]
    )
    findings = [
        (finding, _subject(order, finding, legs[order.id]))
        for order, _, verdict in judged
        for finding in verdict.findings
    ]
    recorded = await alerts_service.record_findings(
        session, findings=findings, open_alerts=open_alerts, policy=config.policy, now=now
    )
    _stop_polling_dead_legs(judged, recorded, legs)
    plans = []
    for order, facts, verdict in judged:
        plans += _plans(order, facts, verdict, legs[order.id])
        await pacer.turn()
    await planned.replace_plans(
        session,
        order_ids=[order.id for order, _, _ in judged],
        plans=plans,
        policy=config.policy,
    )
    for order, facts, verdict in judged:
        await _close_what_went_away(
            session,
            order=order,
            facts=facts,
            verdict=verdict,
            open_alerts=alerts_by_order[order.id],
            now=now,
        )
        judging_schedule.judge_at(order, verdict.next_deadline)
        for leg in legs[order.id].values():
            _schedule_for_deadline(
                leg,
                verdict.priorities.get(leg.id),
                now=now,
                cadence=config.cadence,
                pushed=leg.id in pushed,
            )
    await quarantine_repository.release(
        session, member_type="order", member_ids=[order.id for order, _, _ in judged]
    )
    await session.flush()
    return [verdict for _, _, verdict in judged]


def _plans(
    order: Order, facts: OrderFacts, verdict: OrderVerdict, legs: Mapping[int, Leg]
) -> list[planned.Plan]:
    """What opens at the order's next deadline that is not open already."""
    upcoming = verdict.upcoming
    if upcoming is None:
        return []
    raised_now = {f.key for f in verdict.findings}
    max_poll_age = {leg.leg_id: leg.max_poll_age for leg in facts.legs}
    return [
        planned.Plan(
            finding=due.finding,
            subject=_subject(order, due.finding, legs),
            due_at=upcoming.at,
            fresh_since=(
                fresh_since(upcoming.at, max_poll_age[due.finding.leg_id])
                if due.needs_fresh and due.finding.leg_id in max_poll_age
                else None
            ),
        )
        for due in upcoming.dues
        if due.finding.key not in raised_now
    ]


async def plan_orders(
    session: AsyncSession, *, order_ids: Sequence[int], now: datetime, config: ReconciliationConfig
) -> int:
    """Judges the orders and stores only what opens at their next deadline, touching no alert:
    for orders judged before plans existed (after an upgrade) and for the benchmark."""
    loaded = await load_order_facts(session, order_ids, config.cadence)
    plans = [
        plan
        for order, facts in loaded
        for plan in _plans(order, facts, judge_order(facts, now=now, config=config), _legs(order))
    ]
    await planned.replace_plans(
        session, order_ids=[order.id for order, _ in loaded], plans=plans, policy=config.policy
    )
    return len(plans)


async def plan_waiting_orders(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, config: ReconciliationConfig
) -> tuple[int, int]:
    """Plans every active order whose next look is still ahead, a batch per transaction;
    returns (orders, plans). Orders already due are the sweep's, which plans them as it judges."""
    orders = plans = 0
    async with sessionmaker() as reader:
        batches = [ids async for ids in repository.iter_active_order_ids(reader, batch=500)]
    for ids in batches:
        async with session_scope(sessionmaker) as session:
            waiting = await repository.lock_waiting_orders(session, ids, now=now)
            plans += await plan_orders(session, order_ids=waiting, now=now, config=config)
            orders += len(waiting)
    return orders, plans


async def open_planned_alerts(
    session: AsyncSession,
    *,
    now: datetime,
    config: ReconciliationConfig,
    part: planned.Part = planned.WHOLE,
) -> list[planned.OpenedAlert]:
    """Opens the alerts planned for a deadline that has just passed (`app.alerts.planned`)."""
    return await planned.open_due_plans(
        session,
        now=now,
        policy=config.policy,
        part=part,
        # Opening these also stops polling a leg: the order's own judgement does both.
        left_to_judging=RULES_THAT_STOP_POLLING,
    )


def _legs(order: Order) -> dict[int, Leg]:
    return {leg.id: leg for s in order.shipments for leg in s.legs}


def _subject(
    order: Order, finding: Finding, legs: Mapping[int, Leg]
) -> alerts_service.FindingSubject:
    leg = legs.get(finding.leg_id) if finding.leg_id is not None else None
    return alerts_service.FindingSubject(
        order_id=order.id,
        order_number=order.order_number,
        last_activity_at=opening.last_activity_at(
            opening.PYTHON,
            leg_id=leg.id if leg else None,
            leg_last_event_at=leg.last_event_at if leg else None,
            order_updated_at=order.updated_at,
        ),
    )


def _stop_polling_dead_legs(
    judged: Sequence[tuple[Order, OrderFacts, OrderVerdict]],
    recorded: Sequence[Alert | None],
    legs: Mapping[int, Mapping[int, Leg]],
) -> None:
    findings = [(order, f) for order, _, verdict in judged for f in verdict.findings]
    for (order, finding), alert in zip(findings, recorded, strict=True):
        leg = legs[order.id].get(finding.leg_id) if finding.leg_id is not None else None
        if leg is not None and finding.rule in RULES_THAT_STOP_POLLING and alert is not None:
            poll_schedule.stop_polling(leg)


async def _close_what_went_away(
    session: AsyncSession,
    *,
    order: Order,
    facts: OrderFacts,
    verdict: OrderVerdict,
    open_alerts: list[Alert],
    now: datetime,
) -> None:
    legs = _legs(order)
    raised = {(alerts_service.subject_key(f, order.id), f.rule) for f in verdict.findings}
    fresh = {leg.leg_id: leg.is_fresh(now) for leg in facts.legs}
    for alert in open_alerts:
        if (alert.subject_key, alert.rule) in raised:
            continue
        leg = legs.get(alert.leg_id) if alert.leg_id is not None else None
        # Silence from a carrier we cannot reach proves nothing: keep the alert open.
        if leg is not None and not fresh.get(leg.id, False):
            continue
        if leg is None and not all(fresh.values()):
            continue
        await alerts_service.auto_resolve(
            session, alert=alert, reason=describe_recovery(alert, leg), now=now
        )


def _schedule_for_deadline(
    leg: Leg, deadline: datetime | None, *, now: datetime, cadence: CadenceTable, pushed: bool
) -> None:
    """Tells the poll schedule the earliest alert deadline waiting on this leg, with when the
    carrier's cadence would poll it for that deadline (a pushed leg: its confirmation poll). A
    leg never polled is due at once from its import unless push covers its history (`pushed`
    then): when else it is first polled is the poller's to say (judging.first_poll_put_off)."""
    sooner = None
    if deadline is not None and deadline > now and (leg.status is not None or pushed):
        status = TrackingStatus(leg.status) if leg.status in _STATUSES else None
        last = leg.last_polled_at or now
        sooner = next_poll_at(
            status,
            now=last,
            deadline=deadline,
            table=cadence,
            pushed_leg=leg.id if pushed else None,
        )
    poll_schedule.follow_alert_deadline(leg, deadline, now=now, sooner=sooner)


def describe_recovery(alert: Alert, leg: Leg | None) -> str:
    """Why an alert closed itself, in words an agent can repeat."""
    if leg is None:
        return f"The {alert.rule.replace('_', ' ')} condition no longer holds."
    name = carrier_name(leg.carrier)
    when = leg.last_event_at.strftime("%d %b %Y %H:%M UTC") if leg.last_event_at else "recently"
    return (
        f"{alert.rule.replace('_', ' ')} no longer holds: {describe_status(name, leg.status)} "
        f"(latest scan {when})."
    )


async def check_all_active_orders(
    session: AsyncSession, *, now: datetime, config: ReconciliationConfig
) -> list[OrderVerdict]:
    """Judges every order with an active leg now, without touching alerts (for people)."""
    verdicts = []
    async for order_ids in repository.iter_active_order_ids(session, batch=500):
        for _, facts in await load_order_facts(session, order_ids, config.cadence):
            try:
                verdicts.append(judge_order(facts, now=now, config=config))
            except Exception as error:  # one order must not hide the others' findings
                logger.error(
                    "judging order %s raised: %s", facts.order_number, describe_error(error)
                )
    return verdicts


async def check_carrier_outages(
    session: AsyncSession, *, now: datetime, config: ReconciliationConfig
) -> list[Finding]:
    """One carrier_unreachable alert per carrier down longer than the threshold (at once for
    refused credentials); closes those whose carrier answers again."""
    states = await repository.list_carrier_health(session)
    threshold = config.thresholds.for_leg("*", None).carrier_outage_after
    refused = [h for h, kind in states if kind == "auth"]
    down = [h for h, kind in states if kind != "auth"]
    findings = rules.find_carrier_outages(
        down, now=now, threshold=threshold, calendars=config.calendars
    ) + rules.find_carrier_outages(
        refused, now=now, threshold=timedelta(0), calendars=config.calendars
    )
    no_order = alerts_service.FindingSubject(order_id=None, order_number=None, last_activity_at=now)
    for finding in findings:
        await alerts_service.record_finding(
            session, finding=finding, subject=no_order, policy=config.policy, now=now
        )
    healthy = {h.carrier for h, _ in states if h.failing_since is None}
    unreachable = "carrier_unreachable"
    for alert in await alerts_repository.list_unresolved_for_carrier_subjects(session, unreachable):
        if alert.carrier in healthy:
            await alerts_service.auto_resolve(
                session,
                alert=alert,
                reason=f"{carrier_name(alert.carrier or '')} answers again.",
                now=now,
            )
    await session.flush()
    return findings
