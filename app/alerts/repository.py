from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.alerts.models import Alert, AlertNotification, PlannedAlert
from app.alerts.paging import continue_page
from app.errors import NotFound
from app.shipments.models import Order

UNRESOLVED_STATUSES = ("open", "acknowledged")


@dataclass(frozen=True, slots=True)
class AlertFilters:
    statuses: tuple[str, ...] = UNRESOLVED_STATUSES
    rule: str | None = None
    carrier: str | None = None
    team: str | None = None
    opened_before: datetime | None = None
    opened_after: datetime | None = None
    order_id: int | None = None


async def get_alert(session: AsyncSession, alert_id: int) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"No alert with id {alert_id}.")
    return alert


async def lock_alert(session: AsyncSession, alert_id: int) -> Alert:
    """The alert, read afresh under a lock for a person's change: its order first, then the
    alert (docs/locking.md). The rules' sweep holds the order while it judges it, so a person's
    change waits for the sweep's and is made on what the sweep left, never overwritten by it."""
    found = (
        await session.execute(select(Alert.order_id).where(Alert.id == alert_id))
    ).one_or_none()
    if found is None:
        raise NotFound(f"No alert with id {alert_id}.")
    if found.order_id is not None:  # a carrier's alert has no order
        await session.execute(db.lock_rows(select(Order.id).where(Order.id == found.order_id)))
    stmt = db.lock_rows(select(Alert).where(Alert.id == alert_id))
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def find_unresolved(session: AsyncSession, *, subject_key: str, rule: str) -> Alert | None:
    stmt = select(Alert).where(
        Alert.subject_key == subject_key,
        Alert.rule == rule,
        Alert.status.in_(UNRESOLVED_STATUSES),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_latest_resolved(
    session: AsyncSession, *, subject_key: str, rule: str
) -> Alert | None:
    stmt = (
        select(Alert)
        .where(Alert.subject_key == subject_key, Alert.rule == rule, Alert.status == "resolved")
        .order_by(Alert.resolved_at.desc(), Alert.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_resolved_by_subject(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Alert]:
    """The latest resolved alert of each (subject_key, rule), in one query."""
    if not keys:
        return {}
    wanted = set(keys)
    stmt = (
        select(Alert)
        .where(Alert.status == "resolved", Alert.subject_key.in_({k for k, _ in wanted}))
        .order_by(Alert.resolved_at, Alert.id)
    )
    latest: dict[tuple[str, str], Alert] = {}
    for alert in (await session.execute(stmt)).scalars():
        if (alert.subject_key, alert.rule) in wanted:
            latest[(alert.subject_key, alert.rule)] = alert
    return latest


async def list_current_plans_for_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> list[PlannedAlert]:
    """The alerts planned for each order's next deadline that still hold (no news since they
    were made), soonest first."""
    if not order_ids:
        return []
    stmt = (
        select(PlannedAlert)
        .join(Order, Order.id == PlannedAlert.order_id)
        .where(PlannedAlert.order_id.in_(order_ids), Order.reconcile_due_at == PlannedAlert.due_at)
        .order_by(PlannedAlert.due_at, PlannedAlert.id)
    )
    return list((await session.execute(stmt)).scalars())


async def list_unresolved_alerts_for_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> list[Alert]:
    if not order_ids:
        return []
    stmt = (
        select(Alert)
        .where(Alert.order_id.in_(order_ids), Alert.status.in_(UNRESOLVED_STATUSES))
        .order_by(Alert.opened_at, Alert.id)
    )
    return list((await session.execute(stmt)).scalars())


async def list_unresolved_for_carrier_subjects(session: AsyncSession, rule: str) -> list[Alert]:
    """The open alerts of `rule` about whole carriers (carrier_unreachable, push_silent)."""
    # In id order: the outage check closes them in the order every writer locks alerts.
    stmt = (
        select(Alert)
        .where(
            Alert.subject_key.like("carrier:%"),
            Alert.rule == rule,
            Alert.status.in_(UNRESOLVED_STATUSES),
        )
        .order_by(Alert.id)
    )
    return list((await session.execute(stmt)).scalars())


async def find_unresolved_system_alert(session: AsyncSession, rule: str) -> Alert | None:
    """The open alert about firstscan itself for this rule, if any."""
    return await find_unresolved(session, subject_key=f"system:{rule}", rule=rule)


def _filtered(stmt: Select[Alert, str], filters: AlertFilters) -> Select[Alert, str]:
    stmt = stmt.where(Alert.status.in_(filters.statuses))
    if filters.rule:
        stmt = stmt.where(Alert.rule == filters.rule)
    if filters.carrier:
        stmt = stmt.where(Alert.carrier == filters.carrier)
    if filters.team:
        stmt = stmt.where(Alert.team == filters.team)
    if filters.opened_before:
        stmt = stmt.where(Alert.opened_at < filters.opened_before)
    if filters.opened_after:
        stmt = stmt.where(Alert.opened_at >= filters.opened_after)
    if filters.order_id is not None:
        stmt = stmt.where(Alert.order_id == filters.order_id)
    return stmt


async def list_alerts(
    session: AsyncSession,
    *,
    filters: AlertFilters,
    limit: int,
    after: tuple[datetime, int] | None,
    newest_first: bool,
) -> tuple[list[tuple[Alert, str | None]], int]:
    """A page of alerts with their order numbers (keyset on opened_at, id) and the total."""
    base = select(Alert, Order.order_number).outerjoin(Order, Order.id == Alert.order_id)
    stmt = _filtered(base, filters)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = continue_page(stmt, Alert.opened_at, Alert.id, after=after, newest_first=newest_first)
    rows = (await session.execute(stmt.limit(limit))).all()
    return [(row[0], row[1]) for row in rows], total


async def count_alerts_by(
    session: AsyncSession, *, statuses: Sequence[str], columns: Sequence[str]
) -> list[tuple[tuple[str | None, ...], int]]:
    cols = [getattr(Alert, c) for c in columns]
    stmt = (
        select(*cols, func.count())
        .where(Alert.status.in_(statuses))
        .group_by(*cols)
        .order_by(func.count().desc(), *cols)
    )
    rows = (await session.execute(stmt)).all()
    return [(tuple(row[:-1]), int(row[-1])) for row in rows]


async def find_order_number(session: AsyncSession, order_id: int | None) -> str | None:
    if order_id is None:
        return None
    return (
        await session.execute(select(Order.order_number).where(Order.id == order_id))
    ).scalar_one_or_none()


async def list_notifications(session: AsyncSession, alert_id: int) -> list[AlertNotification]:
    stmt = (
        select(AlertNotification)
        .where(AlertNotification.alert_id == alert_id)
        .order_by(AlertNotification.id)
    )
    return list((await session.execute(stmt)).scalars())


async def list_customer_notices_for_order(
    session: AsyncSession, order_id: int
) -> list[AlertNotification]:
    """The customer emails queued about this order's alerts, oldest first."""
    stmt = (
        select(AlertNotification)
        .join(Alert, Alert.id == AlertNotification.alert_id)
        .where(Alert.order_id == order_id, AlertNotification.channel == "customer_email")
        .order_by(AlertNotification.created_at, AlertNotification.id)
    )
    return list((await session.execute(stmt)).scalars())


async def find_order_contact(session: AsyncSession, order_id: int) -> tuple[str, str | None] | None:
    """(order number, customer email) of an order, or None if it is gone."""
    stmt = select(Order.order_number, Order.customer_email).where(Order.id == order_id)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def find_notification_by_key(
    session: AsyncSession, idempotency_key: str
) -> AlertNotification | None:
    stmt = select(AlertNotification).where(AlertNotification.idempotency_key == idempotency_key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_alerts_for_order(session: AsyncSession, order_id: int) -> list[Alert]:
    """Every alert of the order, open ones and closed ones, oldest first."""
    stmt = select(Alert).where(Alert.order_id == order_id).order_by(Alert.opened_at, Alert.id)
    return list((await session.execute(stmt)).scalars())
