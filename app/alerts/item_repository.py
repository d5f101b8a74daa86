"""Reading work items: pages by every grouping key, one item with its findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert, WorkItem
from app.alerts.paging import continue_page
from app.alerts.repository import UNRESOLVED_STATUSES
from app.errors import NotFound
from app.kernel.precedence import headline_rank
from app.shipments.models import Order


@dataclass(frozen=True, slots=True)
class ItemFilters:
    """Every key items are grouped by (team, rule, carrier, severity), and more."""

    statuses: tuple[str, ...] = UNRESOLVED_STATUSES
    rule: str | None = None
    carrier: str | None = None
    team: str | None = None
    severity: str | None = None
    assignee: str | None = None
    order_id: int | None = None
    opened_before: datetime | None = None
    opened_after: datetime | None = None


def _filtered(stmt: Select[WorkItem, str], filters: ItemFilters) -> Select[WorkItem, str]:
    stmt = stmt.where(WorkItem.status.in_(filters.statuses))
    for column, value in (
        (WorkItem.rule, filters.rule),
        (WorkItem.carrier, filters.carrier),
        (WorkItem.team, filters.team),
        (WorkItem.severity, filters.severity),
        (WorkItem.assignee, filters.assignee),
        (WorkItem.order_id, filters.order_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.opened_before:
        stmt = stmt.where(WorkItem.opened_at < filters.opened_before)
    if filters.opened_after:
        stmt = stmt.where(WorkItem.opened_at >= filters.opened_after)
    return stmt


async def list_items(
    session: AsyncSession,
    *,
    filters: ItemFilters,
    limit: int,
    after: tuple[datetime, int] | None,
    newest_first: bool,
) -> tuple[list[tuple[WorkItem, str | None]], int]:
    """A page of items with their order numbers (keyset on opened_at, id) and the total."""
    base = select(WorkItem, Order.order_number).outerjoin(Order, Order.id == WorkItem.order_id)
    stmt = _filtered(base, filters)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = continue_page(
        stmt, WorkItem.opened_at, WorkItem.id, after=after, newest_first=newest_first
    )
    rows = (await session.execute(stmt.limit(limit))).all()
    return [(row[0], row[1]) for row in rows], total


async def get_item(session: AsyncSession, item_id: int) -> tuple[WorkItem, str | None]:
    row = (
        await session.execute(
            select(WorkItem, Order.order_number)
            .outerjoin(Order, Order.id == WorkItem.order_id)
            .where(WorkItem.id == item_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"No work item with id {item_id}.")
    return row[0], row[1]


async def findings_of(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, list[Alert]]:
    """Each item's findings, unresolved first, then most specific first."""
    if not item_ids:
        return {}
    stmt = select(Alert).where(Alert.item_id.in_(item_ids)).order_by(Alert.id)
    found: dict[int, list[Alert]] = {}
    for alert in (await session.execute(stmt)).scalars():
        assert alert.item_id is not None
        found.setdefault(alert.item_id, []).append(alert)
    for alerts in found.values():
        alerts.sort(key=lambda a: (a.status == "resolved", headline_rank(a.rule), a.id))
    return found


async def count_items_by(
    session: AsyncSession, *, statuses: Sequence[str], column: str
) -> list[tuple[str | None, int]]:
    key = getattr(WorkItem, column)
    stmt = (
        select(key, func.count())
        .where(WorkItem.status.in_(statuses))
        .group_by(key)
        .order_by(func.count().desc(), key)
    )
    return [(row[0], int(row[1])) for row in (await session.execute(stmt)).all()]
