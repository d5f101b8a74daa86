"""What a person does with a work item: acknowledge, assign, resolve, note. Each acts on the
item and, where it must, on its findings (resolving an item resolves every finding it holds);
each is audited on the item."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import items, service
from app.alerts.models import WorkItem
from app.alerts.schemas import AlertStatus, Outcome
from app.errors import Conflict, FieldError, InvalidInput


async def acknowledge(
    session: AsyncSession, *, item_id: int, actor: str, now: datetime
) -> WorkItem:
    """open -> acknowledged, with its open findings; twice is harmless, a resolved item cannot."""
    item = await items.lock_item(session, item_id)
    if item.status == AlertStatus.RESOLVED:
        raise Conflict(f"Work item {item_id} is already resolved.")
    for finding in await items.unresolved_findings(session, item_id):
        await service.acknowledge(session, alert_id=finding.alert_id, actor=actor, now=now)
    await items.acknowledge(session, item_id, actor=actor, now=now)
    return item


async def resolve(
    session: AsyncSession,
    *,
    item_id: int,
    outcome: Outcome,
    note: str | None,
    actor: str,
    now: datetime,
) -> WorkItem:
    """Resolves the item and every finding it still holds, with one outcome and note."""
    item = await items.lock_item(session, item_id)
    if item.status == AlertStatus.RESOLVED:
        raise Conflict(f"Work item {item_id} is already resolved ({item.outcome}).")
    findings = await items.unresolved_findings(session, item_id)
    # Closed first, so that its headline stays the problem it was resolved as.
    closure = items.Closure(outcome=outcome.value, note=note, actor=actor, auto=False)
    items.close(item, closure, now=now)
    await _audit(session, item, "item.resolved", actor, {"outcome": outcome.value, "note": note})
    for finding in findings:
        await service.resolve(
            session, alert_id=finding.alert_id, outcome=outcome, note=note, actor=actor, now=now
        )
    return item


async def assign(
    session: AsyncSession,
    *,
    item_id: int,
    team: str | None,
    assignee: str | None,
    actor: str,
    now: datetime,
) -> WorkItem:
    """Gives the item to a team (its findings follow), a person, or both."""
    if team is None and assignee is None:
        raise InvalidInput([FieldError("team", "give a team, an assignee, or both")])
    item = await items.lock_item(session, item_id)
    if item.status == AlertStatus.RESOLVED:
        raise Conflict(f"Work item {item_id} is resolved; reassigning it would change nothing.")
    change: dict[str, object] = {}
    if team is not None and team != item.team:
        for finding in await items.unresolved_findings(session, item_id):
            await service.assign(
                session, alert_id=finding.alert_id, team=team, actor=actor, now=now
            )
        change |= {"team": {"from": item.team, "to": team}}
        item.team = team
    if assignee is not None and assignee != item.assignee:
        change |= {"assignee": {"from": item.assignee, "to": assignee}}
        item.assignee = assignee
    if change:
        item.updated_at = now
        await _audit(session, item, "item.assigned", actor, change)
    return item


async def add_note(
    session: AsyncSession, *, item_id: int, note: str, actor: str, now: datetime
) -> WorkItem:
    item = await items.lock_item(session, item_id)
    item.updated_at = now
    await _audit(session, item, "item.note", actor, {"note": note})
    return item


async def _audit(
    session: AsyncSession, item: WorkItem, action: str, actor: str, detail: dict[str, object]
) -> None:
    await items.audit_item(session, item, action, actor, detail)
    await session.flush()
