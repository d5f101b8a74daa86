"""Alerts planned for an order's next deadline, opened set-based when the deadline comes.

Every business-day deadline falls at 00:00, so one midnight makes tens of thousands of orders due
at once (57,864 of a 1 M-leg system in bench/sweep.py), and judging each of them again then takes
minutes. But the rules already know, whenever they judge an order, which findings will open at its
next deadline if nothing changes (`rules.upcoming_findings`). The sweep stores those as
`PlannedAlert` rows; at the deadline `open_due_plans` opens them, with their audit and outbox rows,
in one transaction of a few set-based statements. The order stays due, so the ordinary sweep still
judges it afterwards (fresh wording, closing what went away, the next plan); no alert waits for it.

A plan opens only while it still holds, checked in SQL with the rules' own conditions: the order's
`reconcile_due_at` is still the plan's deadline (news moves it, and the order is judged afresh),
the deadline passed less than `PLAN_WINDOW` ago (after that the order is judged from scratch), the
leg was polled successfully since `fresh_since` (the staleness guard, as of the deadline), no alert
is open for the same subject and rule, and no person closed this problem with no news since.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from app import metrics
from app.alerts.customer_notice import NOTICE_PROBLEMS, enqueue_customer_notice
from app.alerts.models import Alert, AlertNotification, PlannedAlert
from app.alerts.service import (
    OPENED_EVENT,
    AlertPolicy,
    FindingSubject,
    build_alert,
    build_notification_payload,
    idempotency_key,
    notification_destinations,
    subject_key,
)
from app.audit.models import AuditEntry
from app.db import UTCDateTime, lock_for_update
from app.kernel.findings import Finding
from app.pacing import Pacer
from app.shipments.models import Leg, Order

# The sweep runs every few seconds; a plan whose deadline passed longer ago than this belongs to
# a sweep that did not run (a worker down over midnight), and the order is judged from scratch.
PLAN_WINDOW = timedelta(minutes=1)
# (i, n): the plans of orders whose id is i modulo n, so that n connections can share a midnight.
Part = tuple[int, int]
WHOLE: Part = (0, 1)
# Filled in only when the alert opens.
_OPENING_FIELDS = ("alert_id", "url", "opened_at")

_plans = typing.cast(Table, PlannedAlert.__table__)
_alerts = typing.cast(Table, Alert.__table__)
_audit = typing.cast(Table, AuditEntry.__table__)
_outbox = typing.cast(Table, AlertNotification.__table__)


@dataclass(frozen=True, slots=True)
class Plan:
    """A finding the rules will raise at `due_at` if the order's data stay as they are."""

    finding: Finding
    subject: FindingSubject
    due_at: datetime
    fresh_since: datetime | None  # the leg's last good poll must be this recent; None: no need


@dataclass(frozen=True, slots=True)
class OpenedAlert:
    alert_id: int
    rule: str
    order_id: int | None


async def replace_plans(
    session: AsyncSession, *, order_ids: Sequence[int], plans: Sequence[Plan], policy: AlertPolicy
) -> None:
    """The orders' plans become `plans`: an order judged again plans afresh."""
    if not order_ids:
        return
    await session.execute(delete(_plans).where(_plans.c.order_id.in_(order_ids)))
    # One plan per subject and rule, as one alert: the unique index refuses a second. A big
    # order has hundreds: building them gives the event loop its turns.
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    pacer = Pacer()
    for plan in plans:
        row = _plan_row(plan, policy)
        rows[(row["subject_key"], row["rule"])] = row
        await pacer.turn()
    if rows:
        await session.execute(insert(_plans), list(rows.values()))


def _plan_row(plan: Plan, policy: AlertPolicy) -> dict[str, Any]:
    finding, subject = plan.finding, plan.subject
    if subject.order_id is None:
        raise ValueError("only an order's findings are planned")
    key = subject_key(finding, subject.order_id)
    alert = build_alert(finding, key=key, order_id=subject.order_id, policy=policy, now=plan.due_at)
    message = build_notification_payload(
        alert, event=OPENED_EVENT, order_number=subject.order_number, policy=policy
    )
    for field in _OPENING_FIELDS:
        message.pop(field)
    return {
        "order_id": subject.order_id,
        "leg_id": finding.leg_id,
        "due_at": plan.due_at,
        "fresh_since": plan.fresh_since,
        "subject_key": key,
        "rule": finding.rule,
        "severity": alert.severity,
        "carrier": alert.carrier,
        "tracking_number": alert.tracking_number,
        "team": alert.team,
        "explanation": alert.explanation,
        "recommended_action": alert.recommended_action,
        "evidence": alert.evidence,
        "message": message,
    }


async def open_due_plans(
    session: AsyncSession,
    *,
    now: datetime,
    policy: AlertPolicy,
    part: Part = WHOLE,
    left_to_judging: frozenset[str] = frozenset(),
) -> list[OpenedAlert]:
    """Opens every plan that is due and still holds, with audit and outbox rows, in the caller's
    transaction; plans of the `left_to_judging` rules wait for the order's own judgement. Plans
    stay until the order is judged again (the sweep does that next, and replaces them);
    meanwhile the open alert keeps a plan from opening twice."""
    chosen = due_plans(now, part).where(_plans.c.rule.not_in(left_to_judging))
    if session.get_bind().dialect.name == "postgresql":
        opened = await _open_in_one_statement(
            session, chosen_plans=chosen, now=now, policy=policy, part=part
        )
    else:
        opened = await _open_step_by_step(session, chosen_plans=chosen, now=now, policy=policy)
    for rule, count in Counter(alert.rule for alert in opened).items():
        metrics.ALERTS_OPENED.labels(rule).inc(count)
    # The customer hears of some problems; their alerts are loaded in one query.
    notice = policy.customer_notice
    notice_ids = [item.alert_id for item in opened if item.rule in NOTICE_PROBLEMS]
    if notice is not None and notice_ids:
        news = await session.execute(
            select(Alert).where(Alert.id.in_(notice_ids)).order_by(Alert.id)
        )
        for alert in news.scalars():
            await enqueue_customer_notice(session, alert=alert, policy=notice, now=now)
    return opened


def due_plans(now: datetime, part: Part = WHOLE) -> Select[Any]:
    """The plans that are due at `now` and still hold (module docstring)."""
    orders, legs = typing.cast(Table, Order.__table__), typing.cast(Table, Leg.__table__)
    still_open = _alerts.alias("still_open")
    closed = _alerts.alias("closed")
    closed_later = _alerts.alias("closed_later")
    # What reopens a problem a person closed: the leg's newest scan, or a change to the order.
    last_activity = case(
        (_plans.c.leg_id.is_(None), orders.c.updated_at), else_=legs.c.last_event_at
    )
    is_open = exists().where(
        still_open.c.subject_key == _plans.c.subject_key,
        still_open.c.rule == _plans.c.rule,
        still_open.c.status != "resolved",
    )
    closed_by_a_person_without_news = exists().where(
        closed.c.subject_key == _plans.c.subject_key,
        closed.c.rule == _plans.c.rule,
        closed.c.status == "resolved",
        closed.c.auto_resolved.is_(False),
        or_(last_activity.is_(None), closed.c.resolved_at >= last_activity),
        ~exists().where(
            closed_later.c.subject_key == closed.c.subject_key,
            closed_later.c.rule == closed.c.rule,
            closed_later.c.status == "resolved",
            closed_later.c.resolved_at > closed.c.resolved_at,
        ),
    )
    return (
        select(_plans)
        .join(orders, orders.c.id == _plans.c.order_id)
        .outerjoin(legs, legs.c.id == _plans.c.leg_id)
        .where(
            _plans.c.due_at <= now,
            _plans.c.due_at > now - PLAN_WINDOW,
            orders.c.reconcile_due_at == _plans.c.due_at,
            # Implied by the line above; lets the planner start from the orders' due index.
            orders.c.reconcile_due_at <= now,
            orders.c.reconcile_due_at > now - PLAN_WINDOW,
            or_(
                _plans.c.fresh_since.is_(None),
                legs.c.last_successful_poll_at >= _plans.c.fresh_since,
            ),
            ~is_open,
            ~closed_by_a_person_without_news,
            *([_plans.c.order_id % part[1] == part[0]] if part[1] > 1 else []),
        )
    )


_ALERT_COLUMNS = (
    "rule",
    "severity",
    "status",
    "subject_key",
    "leg_id",
    "order_id",
    "carrier",
    "tracking_number",
    "team",
    "explanation",
    "recommended_action",
    "evidence",
    "opened_at",
    "last_seen_at",
    "updated_at",
    "auto_resolved",
)
_AUDIT_COLUMNS = (
    "occurred_at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "order_id",
    "detail",
)
_NOTIFICATION_COLUMNS = (
    "alert_id",
    "event",
    "channel",
    "destination",
    "idempotency_key",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def _alert_values(plans: Any, now: datetime) -> list[ColumnElement[Any]]:
    at = literal(now, UTCDateTime)
    return [
        plans.c.rule,
        plans.c.severity,
        literal("open"),
        plans.c.subject_key,
        plans.c.leg_id,
        plans.c.order_id,
        plans.c.carrier,
        plans.c.tracking_number,
        plans.c.team,
        plans.c.explanation,
        plans.c.recommended_action,
        plans.c.evidence,
        at,
        at,
        at,
        false(),
    ]


def _audit_values(alerts: Any, now: datetime, detail: ColumnElement[Any]) -> list[Any]:
    return [
        literal(now, UTCDateTime),
        literal("firstscan"),
        literal("alert.opened"),
        literal("alert"),
        cast(alerts.c.id, String),
        alerts.c.order_id,
        detail,
    ]


def _message_keys(policy: AlertPolicy) -> list[tuple[str, str, str, str]]:
    """(channel, destination, key prefix, key suffix): the alert id goes between the two."""
    keys = []
    for channel, destination in notification_destinations(policy):
        prefix, suffix = idempotency_key("\0", OPENED_EVENT, channel, destination).split("\0")
        keys.append((channel, destination, prefix, suffix))
    return keys


def _notification_values(
    alert_id: ColumnElement[Any],
    payload: ColumnElement[Any],
    now: datetime,
    key: tuple[str, str, str, str],
) -> list[Any]:
    channel, destination, prefix, suffix = key
    at = literal(now, UTCDateTime)
    return [
        alert_id,
        literal(OPENED_EVENT),
        literal(channel),
        literal(destination),
        literal(prefix) + cast(alert_id, String) + literal(suffix),
        payload,
        literal("pending"),
        literal(0),
        at,
        at,
    ]


def _alert_url(policy: AlertPolicy, alert_id: ColumnElement[Any]) -> ColumnElement[Any]:
    return literal(f"{policy.console_base_url.rstrip('/')}/console/alerts/") + cast(
        alert_id, String
    )


class OpeningRaced(RuntimeError):
    """Another transaction opened one of the chosen alerts first: this opening rolls back and
    the sweep judges those orders instead."""


async def _open_in_one_statement(
    session: AsyncSession,
    *,
    chosen_plans: Select[Any],
    now: datetime,
    policy: AlertPolicy,
    part: Part,
) -> list[OpenedAlert]:
    """PostgreSQL: one statement whose CTEs open the alerts, audit them and queue their
    messages. Each chosen plan draws its alert's id first, so the messages are built from the
    plans directly (a join back to them cost 0.8 s a midnight: the planner cannot estimate the
    rows of either side and chose a nested loop)."""
    # Openers of the same part take turns: the second then sees the first's alerts as open.
    await lock_for_update(session, [f"planned-opening:{part[0]}/{part[1]}"])
    chosen = chosen_plans.add_columns(
        literal_column(f"nextval('{_alerts.name}_id_seq')").label("alert_id")
    ).cte("chosen")
    opened = (
        pg_insert(_alerts)
        .from_select(
            ["id", *_ALERT_COLUMNS],
            # In `opening_order`, as the sweep opens them (docs/locking.md); "C": byte order,
            # as Python compares the rules' names.
            select(chosen.c.alert_id, *_alert_values(chosen, now)).order_by(
                chosen.c.order_id, chosen.c.leg_id.asc().nulls_last(), chosen.c.rule.collate("C")
            ),
        )
        # Any other writer (the per-order path) that opened the same alert in the meantime
        # makes this one skip it; that skipped alert's outbox rows then fail their foreign key
        # (or, with no destinations, the counts below differ) and the opening rolls back.
        .on_conflict_do_nothing(
            index_elements=["subject_key", "rule"], index_where=text("status != 'resolved'")
        )
        .returning(_alerts.c.id, _alerts.c.rule, _alerts.c.order_id, _alerts.c.severity)
        .cte("opened")
    )
    detail = func.json_build_object("rule", opened.c.rule, "severity", opened.c.severity)
    audited = (
        insert(_audit)
        .from_select(list(_AUDIT_COLUMNS), select(*_audit_values(opened, now, detail)))
        .cte("audited")
    )
    # The planned message with the opening's fields spliced into its JSON text: converting a
    # midnight's messages to jsonb and back cost 0.6 s; the cast to json still checks the result.
    opening_fields = func.json_build_object(
        "alert_id",
        chosen.c.alert_id,
        "url",
        _alert_url(policy, chosen.c.alert_id),
        "opened_at",
        now.isoformat(),
    )
    payload = cast(
        func.rtrim(cast(opening_fields, Text), "}")
        + literal(", ")
        + func.substr(cast(chosen.c.message, Text), 2),
        JSON,
    )
    queued = [
        insert(_outbox)
        .from_select(
            list(_NOTIFICATION_COLUMNS),
            select(*_notification_values(chosen.c.alert_id, payload, now, key)),
        )
        .cte(f"queued_{index}")
        for index, key in enumerate(_message_keys(policy))
    ]
    stmt = select(
        select(func.count()).select_from(chosen).scalar_subquery(),
        func.array_agg(opened.c.id),
        func.array_agg(opened.c.rule),
        func.array_agg(opened.c.order_id),
    ).add_cte(audited, *queued)
    # A midnight's plans are tens of megabytes of rows to sort and keep; the default 4 MB spills
    # them to disk.
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    try:
        chosen_count, ids, rules, order_ids = (await session.execute(stmt)).one()
    except IntegrityError as error:
        # The outbox rows of a skipped alert name an id that was never inserted.
        if _violated_constraint(error) == _OUTBOX_ALERT_FOREIGN_KEY:
            raise OpeningRaced("a planned alert was opened by another writer meanwhile") from error
        raise
    opened_alerts = [
        OpenedAlert(alert_id=alert_id, rule=rule, order_id=order_id)
        for alert_id, rule, order_id in zip(ids or [], rules or [], order_ids or [], strict=True)
    ]
    if len(opened_alerts) != chosen_count:
        raise OpeningRaced(
            f"{chosen_count - len(opened_alerts)} of {chosen_count} planned alerts were opened "
            "by another writer meanwhile"
        )
    return opened_alerts


# Named by the metadata's naming convention, as in the migration that made it.
_OUTBOX_ALERT_FOREIGN_KEY = next(
    key.constraint.name for key in _outbox.c.alert_id.foreign_keys if key.constraint is not None
)


def _violated_constraint(error: IntegrityError) -> str | None:
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "constraint_name", None)


async def _open_step_by_step(
    session: AsyncSession, *, chosen_plans: Select[Any], now: datetime, policy: AlertPolicy
) -> list[OpenedAlert]:
    """SQLite: the same in a few statements; its one writer (BEGIN IMMEDIATE) makes every alert
    above the highest id before the insert one of ours."""
    before = (await session.execute(select(func.coalesce(func.max(_alerts.c.id), 0)))).scalar_one()
    chosen = chosen_plans.subquery("chosen")
    await session.execute(
        insert(_alerts).from_select(
            list(_ALERT_COLUMNS),
            select(*_alert_values(chosen, now)).order_by(chosen.c.order_id, chosen.c.leg_id),
        )
    )
    new = select(_alerts).where(_alerts.c.id > before).subquery("new")
    detail = func.json_object("rule", new.c.rule, "severity", new.c.severity)
    await session.execute(
        insert(_audit).from_select(list(_AUDIT_COLUMNS), select(*_audit_values(new, now, detail)))
    )
    # The plan each new alert came from (one per subject and rule).
    plans = _plans.alias("plan")
    with_plan = new.join(
        plans, and_(plans.c.subject_key == new.c.subject_key, plans.c.rule == new.c.rule)
    )
    payload = func.json_set(
        plans.c.message,
        "$.alert_id",
        new.c.id,
        "$.url",
        _alert_url(policy, new.c.id),
        "$.opened_at",
        now.isoformat(),
    )
    for key in _message_keys(policy):
        await session.execute(
            insert(_outbox).from_select(
                list(_NOTIFICATION_COLUMNS),
                select(*_notification_values(new.c.id, payload, now, key)).select_from(with_plan),
            )
        )
    rows = (
        await session.execute(
            select(_alerts.c.id, _alerts.c.rule, _alerts.c.order_id)
            .where(_alerts.c.id > before)
            .order_by(_alerts.c.id)
        )
    ).all()
    return [OpenedAlert(alert_id=row[0], rule=row[1], order_id=row[2]) for row in rows]
