"""Alerts planned for an order's next deadline, opened set-based when the deadline comes.

Every business-day deadline falls at 00:00, so one midnight makes tens of thousands of orders due
at once (BENCHMARKS.md, section 1), and judging each of them again then takes minutes. But the
rules already know, whenever they judge an order, which findings will open at its next deadline if
nothing changes (`rules.upcoming_findings`). The sweep stores those as `PlannedAlert` rows; at the
deadline `open_due_plans` opens them, with their audit rows and work items, in one transaction
of a few set-based statements. The order stays due, so the ordinary sweep still judges it
afterwards (fresh wording, closing what went away, the next plan); no alert waits for it.

A plan opens only while it still holds, checked in SQL with the conditions `app.alerts.opening`
defines for every opening (no news, fresh enough, nothing open, no person's closure), and only
in the `PLAN_WINDOW` after its deadline (after that the order is judged from scratch). The rows
it writes are the ones that module defines, built as SQL. On SQLite (the one-worker demo) the
chosen plans open one by one through the per-order writer instead.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    Table,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import Exists

from app import db, metrics
from app.alerts import items, opening, service
from app.alerts.customer_notice import NOTICE_PROBLEMS, enqueue_customer_notice
from app.alerts.models import Alert, PlannedAlert, WorkItem
from app.alerts.opening import SQL, AlertPolicy, FindingSubject
from app.audit.models import AuditEntry
from app.db import lock_for_update
from app.kernel.findings import Finding
from app.pacing import Pacer
from app.shipments.models import Leg, Order

# The sweep runs every few seconds; a plan whose deadline passed longer ago than this belongs to
# a sweep that did not run (a worker down over midnight), and the order is judged from scratch.
PLAN_WINDOW = timedelta(minutes=1)
# (i, n): the plans of orders whose id is i modulo n, so that n connections can share a midnight.
Part = tuple[int, int]
WHOLE: Part = (0, 1)

_plans = typing.cast(Table, PlannedAlert.__table__)
_alerts = typing.cast(Table, Alert.__table__)
_items = typing.cast(Table, WorkItem.__table__)
_audit = typing.cast(Table, AuditEntry.__table__)


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
    content = opening.alert_content(finding, order_id=subject.order_id, policy=policy)
    return {
        **content,
        "due_at": plan.due_at,
        "fresh_since": plan.fresh_since,
    }


async def open_due_plans(
    session: AsyncSession,
    *,
    now: datetime,
    policy: AlertPolicy,
    part: Part = WHOLE,
    left_to_judging: frozenset[str] = frozenset(),
) -> list[OpenedAlert]:
    """Opens every plan that is due and still holds, with audit rows and items, in the caller's
    transaction; plans of the `left_to_judging` rules wait for the order's own judgement. Plans
    stay until the order is judged again (the sweep does that next, and replaces them);
    meanwhile the open alert keeps a plan from opening twice."""
    chosen = due_plans(now, part).where(_plans.c.rule.not_in(left_to_judging))
    if session.get_bind().dialect.name != "postgresql":
        # SQLite serves the one-worker demo: its plans open one by one on the per-order path.
        return await _open_one_by_one(session, chosen_plans=chosen, now=now, policy=policy)
    opened = await _open_in_one_statement(
        session, chosen_plans=chosen, now=now, policy=policy, part=part
    )
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
    """The plans that are due at `now` and still hold: `app.alerts.opening`'s conditions."""
    orders, legs = typing.cast(Table, Order.__table__), typing.cast(Table, Leg.__table__)
    still_open = _alerts.alias("still_open")
    is_open = exists().where(
        still_open.c.subject_key == _plans.c.subject_key,
        still_open.c.rule == _plans.c.rule,
        opening.is_unresolved(still_open.c.status),
    )
    return (
        select(_plans)
        .join(orders, orders.c.id == _plans.c.order_id)
        .outerjoin(legs, legs.c.id == _plans.c.leg_id)
        .where(
            _plans.c.due_at <= now,
            _plans.c.due_at > now - PLAN_WINDOW,
            opening.no_news(SQL, next_look_at=orders.c.reconcile_due_at, due_at=_plans.c.due_at),
            # Implied by the lines above; lets the planner start from the orders' due index.
            orders.c.reconcile_due_at <= now,
            orders.c.reconcile_due_at > now - PLAN_WINDOW,
            opening.fresh_enough(
                SQL,
                last_successful_poll_at=legs.c.last_successful_poll_at,
                fresh_since=_plans.c.fresh_since,
            ),
            ~is_open,
            ~_closed_by_a_person_without_news(orders, legs),
            *([_plans.c.order_id % part[1] == part[0]] if part[1] > 1 else []),
        )
    )


def _closed_by_a_person_without_news(orders: Table, legs: Table) -> Exists:
    """The plan's latest resolved alert meets `opening.closed_by_a_person_without_news`."""
    closed = _alerts.alias("closed")
    closed_later = _alerts.alias("closed_later")
    last_activity_at = opening.last_activity_at(
        SQL,
        leg_id=_plans.c.leg_id,
        leg_last_event_at=legs.c.last_event_at,
        order_updated_at=orders.c.updated_at,
    )
    return exists().where(
        closed.c.subject_key == _plans.c.subject_key,
        closed.c.rule == _plans.c.rule,
        closed.c.status == "resolved",
        opening.closed_by_a_person_without_news(
            SQL,
            auto_resolved=closed.c.auto_resolved,
            resolved_at=closed.c.resolved_at,
            last_activity_at=last_activity_at,
        ),
        ~exists().where(
            closed_later.c.subject_key == closed.c.subject_key,
            closed_later.c.rule == closed.c.rule,
            closed_later.c.status == "resolved",
            closed_later.c.resolved_at > closed.c.resolved_at,
        ),
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
    """PostgreSQL: the chosen plans are read first, each drawing its alert's id, and where each
    is worked is decided (`items.decide`); then one statement whose CTEs insert the new work
    items, the alerts each with its item, and the audit entries of both, each row as
    `app.alerts.opening` and `app.alerts.items` define it. Nothing is written twice, and the
    wording goes from the plans to the items inside the database (BENCHMARKS.md, section 9)."""
    # Openers of the same part take turns: the second then sees the first's alerts as open.
    await lock_for_update(session, [f"planned-opening:{part[0]}/{part[1]}"])
    # A midnight's plans are tens of megabytes of rows to sort and keep; the default 4 MB spills
    # them to disk.
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    chosen_stmt = chosen_plans.with_only_columns(
        _plans.c.id,
        _plans.c.leg_id,
        *[_plans.c[name] for name in _CHOSEN],
    )
    # In `opening_order`, as the sweep opens them: their ids, drawn now, follow it.
    plans = sorted(
        (await session.execute(chosen_stmt)).all(),
        key=lambda r: opening.opening_order(r.order_id, r.leg_id, r.rule),
    )
    if not plans:
        return []
    alert_ids = await _draw_ids(session, _alerts, len(plans))
    findings = [_as_finding(p, a, now) for p, a in zip(plans, alert_ids, strict=True)]
    decision = await items.decide(session, findings, now=now)
    new_ids = await _draw_ids(session, _items, len(decision.founding))
    item_of = decision.item_of(new_ids)
    await items.rehead(session, decision.reheaded)
    plan_of = {alert_id: plan.id for plan, alert_id in zip(plans, alert_ids, strict=True)}
    inserted = await session.scalar(
        _insert_alerts(
            plan_ids=[plan.id for plan in plans],
            alert_ids=alert_ids,
            item_ids=[item_of[alert_id] for alert_id in alert_ids],
            founded=[
                (item_id, plan_of[items.headline_of(group).alert_id], items.highest_severity(group))
                for item_id, group in zip(new_ids, decision.founding, strict=True)
            ],
            now=now,
        )
    )
    if inserted != len(plans):
        raise OpeningRaced(
            f"{len(plans) - (inserted or 0)} of {len(plans)} planned alerts were opened "
            "by another writer meanwhile"
        )
    return [
        OpenedAlert(alert_id=alert_id, rule=plan.rule, order_id=plan.order_id)
        for plan, alert_id in zip(plans, alert_ids, strict=True)
    ]


async def _draw_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """`count` ids of `table`'s sequence, in the order drawn."""
    drawn: Select[Any] = select(literal_column(f"nextval('{table.name}_id_seq')")).select_from(
        func.generate_series(1, count)
    )
    return list(await session.scalars(drawn)) if count else []


# What opening reads of each chosen plan: what its work item shows.
_CHOSEN = ("order_id", "severity", *items.HEADLINE_OF_ALERT.values())


def _arrays(name: str, columns: dict[str, Any], values: Sequence[Sequence[Any]]) -> Any:
    """unnest() of one array a column, as a table `name` with those columns."""
    arrays = [
        db.array_param(list(column), kind)
        for kind, column in zip(columns.values(), values, strict=True)
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=name)


def _insert_alerts(
    *,
    plan_ids: list[int],
    alert_ids: list[int],
    item_ids: list[int],
    founded: list[tuple[int, int, str]],
    now: datetime,
) -> Select[Any]:
    """One statement: the founded work items (id, headline plan, severity), the plans' alerts
    with the ids they drew and their items, and the audit entries of both (`items`' item.opened
    and item.joined); it returns how many alerts were inserted."""
    drawn = _arrays(
        "drawn",
        {"plan_id": BigInteger(), "alert_id": BigInteger(), "item_id": BigInteger()},
        (plan_ids, alert_ids, item_ids),
    )
    heads = _arrays(
        "heads",
        {"item_id": BigInteger(), "plan_id": BigInteger(), "severity": String()},
        tuple(zip(*founded, strict=True)) if founded else ([], [], []),
    )
    new_item = {
        "id": heads.c.item_id,
        "order_id": _plans.c.order_id,
        "severity": heads.c.severity,
        **{item: _plans.c[of] for item, of in items.HEADLINE_OF_ALERT.items()},
        **items.founded_state(SQL, now),
    }
    new_items = (
        insert(_items)
        .from_select(
            list(new_item),
            select(*new_item.values())
            .select_from(heads.join(_plans, _plans.c.id == heads.c.plan_id))
            .order_by(heads.c.item_id),
        )
        .returning(_items.c.id)
        .cte("new_items")
    )
    alert = {
        **{column: _plans.c[column] for column in opening.ALERT_CONTENT_COLUMNS},
        **opening.opened_state(SQL, now),
    }
    opened = (
        pg_insert(_alerts)
        .from_select(
            ["id", "item_id", *alert],
            # In `opening_order`, as the sweep opens them (docs/locking.md); "C": byte order,
            # as Python compares the rules' names.
            select(drawn.c.alert_id, drawn.c.item_id, *alert.values())
            .select_from(drawn.join(_plans, _plans.c.id == drawn.c.plan_id))
            .order_by(
                _plans.c.order_id, _plans.c.leg_id.asc().nulls_last(), _plans.c.rule.collate("C")
            ),
        )
        # Any other writer (the per-order path) that opened the same alert in the meantime
        # makes this one skip it; the counts then differ and the opening rolls back.
        .on_conflict_do_nothing(
            index_elements=["subject_key", "rule"], index_where=text("status != 'resolved'")
        )
        .returning(*[_alerts.c[name] for name in ("id", "order_id", "rule", "severity", "item_id")])
        .cte("opened")
    )
    audit = opening.opened_audit(
        SQL,
        alert_id=opened.c.id,
        order_id=opened.c.order_id,
        rule=opened.c.rule,
        severity=opened.c.severity,
        now=now,
    )
    audited = insert(_audit).from_select(list(audit), select(*audit.values())).cte("audited")
    item_audit = items.audit_of_opening(
        item_id=opened.c.item_id,
        alert_id=opened.c.id,
        order_id=opened.c.order_id,
        rule=opened.c.rule,
        founded=new_items.c.id.is_not(None),
        now=now,
    )
    items_audited = (
        insert(_audit)
        .from_select(
            list(item_audit),
            select(*item_audit.values())
            .select_from(opened.outerjoin(new_items, new_items.c.id == opened.c.item_id))
            .group_by(opened.c.item_id, new_items.c.id)
            .order_by(opened.c.item_id),
        )
        .cte("items_audited")
    )
    return select(func.count()).select_from(opened).add_cte(audited, items_audited)


def _as_finding(row: Any, alert_id: int, now: datetime) -> items.Finding:
    return items.Finding(
        alert_id=alert_id,
        order_id=row.order_id,
        rule=row.rule,
        severity=row.severity,
        opened_at=now,
        content={item: getattr(row, of) for item, of in items.HEADLINE_OF_ALERT.items()},
    )


async def _open_one_by_one(
    session: AsyncSession, *, chosen_plans: Select[Any], now: datetime, policy: AlertPolicy
) -> list[OpenedAlert]:
    """The per-order path's writer for each chosen plan, in `opening_order`."""
    orders = typing.cast(Table, Order.__table__)
    chosen = chosen_plans.add_columns(orders.c.order_number.label("order_number"))
    rows = (await session.execute(chosen)).mappings().all()
    rows = sorted(rows, key=lambda r: opening.opening_order(r["order_id"], r["leg_id"], r["rule"]))
    opened = []
    for row in rows:
        content = {column: row[column] for column in opening.ALERT_CONTENT_COLUMNS}
        alert = service.build_opened_alert(content, now=now)
        written = await service.open_alert(
            session, alert=alert, order_number=row["order_number"], policy=policy, now=now
        )
        if written is alert:
            opened.append(OpenedAlert(alert_id=alert.id, rule=alert.rule, order_id=alert.order_id))
    return opened
