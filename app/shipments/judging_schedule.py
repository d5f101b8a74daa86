"""When the rules next look at an order: `orders.reconcile_due_at`, written here and nowhere
else. Ingest and tracking ask for a look now (something changed); the rules set the next one
(the order's next deadline, or a retry for an order set aside). The sweep claims orders whose
time has come (reconciliation.repository) and the planned opening reads it as the plan's
deadline (alerts.planned)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.shipments.models import Order


def judge_now(order: Order, *, now: datetime) -> None:
    """The order changed: the rules look at it at their next run."""
    order.reconcile_due_at = now


def new_order(*, now: datetime) -> dict[str, object]:
    """A new order's column (built as values, not loaded): the rules look at it next run."""
    return {"reconcile_due_at": now}


async def judge_orders_now(
    session: AsyncSession, order_ids: Sequence[int], *, now: datetime
) -> None:
    """`judge_now` for orders that are not loaded; the caller has locked them."""
    if order_ids:
        await session.execute(
            update(Order).where(Order.id.in_(order_ids)).values(reconcile_due_at=now)
        )


def judge_at(order: Order, at: datetime | None) -> None:
    """The rules' next look at the order: its next deadline, or None until news asks for one
    (`judge_now`)."""
    order.reconcile_due_at = at


async def judge_order_at(session: AsyncSession, order_id: int, at: datetime | None) -> None:
    """`judge_at` for an order that is not loaded (one set aside, retried later)."""
    await session.execute(update(Order).where(Order.id == order_id).values(reconcile_due_at=at))
