"""`/v1/items`: work items, one per parcel problem, and what a person does with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.alerts import item_actions, item_repository
from app.alerts.item_repository import ItemFilters
from app.alerts.models import Alert, WorkItem
from app.alerts.paging import decode_cursor, encode_cursor
from app.alerts.repository import UNRESOLVED_STATUSES
from app.alerts.schemas import (
    AlertStatus,
    AuditEntryRead,
    ItemAssignRequest,
    ItemDetailRead,
    ItemFindingRead,
    ItemPage,
    ItemRead,
    NoteRequest,
    ResolveRequest,
)
from app.audit import repository as audit_repository
from app.deps import ActorPrincipal, AlertReaderPrincipal, NoterPrincipal, NowDep, SessionDep
from app.openapi import problem_responses

router = APIRouter(prefix="/v1/items", tags=["items"])

LIST_ERRORS = problem_responses(401, 403, 422)
READ_ERRORS = problem_responses(401, 403, 404, 422, s404="no such work item")
ACTION_ERRORS = problem_responses(
    400, 401, 403, 404, 409, 413, 422, s404="no such work item", s409="not allowed in its state"
)
NOTE_ERRORS = problem_responses(400, 401, 403, 404, 413, 422, s404="no such work item")

NAME = r"^[A-Za-z0-9_.-]+$"
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # work_items.id is a 32-bit integer column
MAX_AGE_HOURS = 24 * 365 * 10


def build_item_read(item: WorkItem, order_number: str | None, alerts: list[Alert]) -> ItemRead:
    return ItemRead(
        id=item.id,
        rule=item.rule,
        severity=item.severity,
        status=AlertStatus(item.status),
        order_number=order_number,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        team=item.team,
        assignee=item.assignee,
        headline=item.headline,
        next_step=item.next_step,
        opened_at=item.opened_at,
        updated_at=item.updated_at,
        announced_at=item.announced_at,
        acknowledged_at=item.acknowledged_at,
        acknowledged_by=item.acknowledged_by,
        escalated_at=item.escalated_at,
        resolved_at=item.resolved_at,
        resolved_by=item.resolved_by,
        outcome=item.outcome,
        resolution_note=item.resolution_note,
        auto_resolved=item.auto_resolved,
        findings=[
            ItemFindingRead(
                alert_id=a.id,
                rule=a.rule,
                severity=a.severity,
                status=AlertStatus(a.status),
                carrier=a.carrier,
                tracking_number=a.tracking_number,
                explanation=a.explanation,
                recommended_action=a.recommended_action,
                opened_at=a.opened_at,
            )
            for a in alerts
        ],
    )


@router.get("", response_model=ItemPage, responses=LIST_ERRORS)
async def list_items(
    session: SessionDep,
    _: AlertReaderPrincipal,
    now: NowDep,
    status: Annotated[
        list[AlertStatus] | None, Query(description="default: open and acknowledged")
    ] = None,
    rule: Annotated[str | None, Query(max_length=32, pattern=NAME)] = None,
    carrier: Annotated[str | None, Query(max_length=32, pattern=NAME)] = None,
    team: Annotated[str | None, Query(max_length=64, pattern=NAME)] = None,
    severity: Annotated[str | None, Query(pattern="^(info|warning|critical)$")] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    min_age_hours: Annotated[float | None, Query(ge=0, le=MAX_AGE_HOURS)] = None,
    max_age_hours: Annotated[float | None, Query(ge=0, le=MAX_AGE_HOURS)] = None,
    order: Annotated[str, Query(pattern="^(oldest|newest)$")] = "oldest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ItemPage:
    filters = ItemFilters(
        statuses=tuple(s.value for s in status) if status else UNRESOLVED_STATUSES,
        rule=rule,
        carrier=carrier,
        team=team,
        severity=severity,
        assignee=assignee,
        opened_before=now - timedelta(hours=min_age_hours) if min_age_hours is not None else None,
        opened_after=now - timedelta(hours=max_age_hours) if max_age_hours is not None else None,
    )
    rows, total = await item_repository.list_items(
        session,
        filters=filters,
        limit=limit + 1,
        after=decode_cursor(cursor) if cursor else None,
        newest_first=order == "newest",
    )
    page = rows[:limit]
    findings = await item_repository.findings_of(session, [item.id for item, _ in page])
    return ItemPage(
        items=[build_item_read(item, number, findings.get(item.id, [])) for item, number in page],
        total=total,
        next_cursor=(
            encode_cursor(page[-1][0].opened_at, page[-1][0].id) if len(rows) > limit else None
        ),
    )


async def _detail(session: SessionDep, item_id: int) -> ItemDetailRead:
    item, order_number = await item_repository.get_item(session, item_id)
    findings = await item_repository.findings_of(session, [item.id])
    history = await audit_repository.list_for_entity(session, "item", str(item.id))
    return ItemDetailRead(
        **build_item_read(item, order_number, findings.get(item.id, [])).model_dump(),
        history=[
            AuditEntryRead(
                occurred_at=e.occurred_at, actor=e.actor, action=e.action, detail=e.detail
            )
            for e in history
        ],
    )


@router.get("/{item_id}", response_model=ItemDetailRead, responses=READ_ERRORS)
async def get_item(item_id: ItemId, session: SessionDep, _: AlertReaderPrincipal) -> ItemDetailRead:
    return await _detail(session, item_id)


@router.post(
    "/{item_id}/acknowledge",
    response_model=ItemDetailRead,
    responses=problem_responses(401, 403, 404, 409, 422, s404="no such work item"),
)
async def acknowledge_item(
    item_id: ItemId, session: SessionDep, principal: ActorPrincipal, now: NowDep
) -> ItemDetailRead:
    await item_actions.acknowledge(session, item_id=item_id, actor=principal.actor, now=now)
    return await _detail(session, item_id)


@router.post("/{item_id}/resolve", response_model=ItemDetailRead, responses=ACTION_ERRORS)
async def resolve_item(
    item_id: ItemId,
    body: ResolveRequest,
    session: SessionDep,
    principal: ActorPrincipal,
    now: NowDep,
) -> ItemDetailRead:
    await item_actions.resolve(
        session,
        item_id=item_id,
        outcome=body.outcome,
        note=body.note,
        actor=principal.actor,
        now=now,
    )
    return await _detail(session, item_id)


@router.post("/{item_id}/assign", response_model=ItemDetailRead, responses=ACTION_ERRORS)
async def assign_item(
    item_id: ItemId,
    body: ItemAssignRequest,
    session: SessionDep,
    principal: ActorPrincipal,
    now: NowDep,
) -> ItemDetailRead:
    await item_actions.assign(
        session,
        item_id=item_id,
        team=body.team,
        assignee=body.assignee,
        actor=principal.actor,
        now=now,
    )
    return await _detail(session, item_id)


@router.post("/{item_id}/notes", response_model=ItemDetailRead, responses=NOTE_ERRORS)
async def add_item_note(
    item_id: ItemId,
    body: NoteRequest,
    session: SessionDep,
    principal: NoterPrincipal,
    now: NowDep,
) -> ItemDetailRead:
    await item_actions.add_note(
        session, item_id=item_id, note=body.note, actor=principal.actor, now=now
    )
    return await _detail(session, item_id)
