from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.alerts import repository, service
from app.alerts.models import Alert
from app.alerts.paging import decode_cursor, encode_cursor
from app.alerts.repository import UNRESOLVED_STATUSES, AlertFilters
from app.alerts.schemas import (
    AlertDetailRead,
    AlertPage,
    AlertRead,
    AlertStatus,
    AlertSummary,
    AssignRequest,
    AuditEntryRead,
    CountRead,
    NoteRequest,
    NotificationRead,
    ResolveRequest,
)
from app.audit import repository as audit_repository
from app.deps import (
    ActorPrincipal,
    AlertReaderPrincipal,
    NoterPrincipal,
    NowDep,
    SessionDep,
)
from app.openapi import problem_responses

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

LIST_ERRORS = problem_responses(401, 403, 422)
READ_ERRORS = problem_responses(401, 403, 404, 422, s404="no such alert")
ACTION_ERRORS = problem_responses(
    400, 401, 403, 404, 409, 413, 422, s404="no such alert", s409="not allowed in its state"
)
NOTE_ERRORS = problem_responses(400, 401, 403, 404, 413, 422, s404="no such alert")

# ASCII only (JSON Schema's \w is ASCII, Python's is not): rules, carriers and teams are slugs.
NAME = r"^[A-Za-z0-9_.-]+$"
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # alerts.id is a 32-bit integer column
MAX_AGE_HOURS = 24 * 365 * 10  # ages filter "opened at least/at most this long ago"


def build_alert_read(alert: Alert, order_number: str | None) -> AlertRead:
    return AlertRead(
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity,
        status=AlertStatus(alert.status),
        order_number=order_number,
        carrier=alert.carrier,
        tracking_number=alert.tracking_number,
        team=alert.team,
        opened_at=alert.opened_at,
        last_seen_at=alert.last_seen_at,
        explanation=alert.explanation,
        recommended_action=alert.recommended_action,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        outcome=alert.outcome,
        resolution_note=alert.resolution_note,
        auto_resolved=alert.auto_resolved,
        item_id=alert.item_id,
    )


@router.get("", response_model=AlertPage, responses=LIST_ERRORS)
async def list_alerts(
    session: SessionDep,
    _: AlertReaderPrincipal,
    now: NowDep,
    status: Annotated[
        list[AlertStatus] | None, Query(description="default: open and acknowledged")
    ] = None,
    rule: Annotated[str | None, Query(max_length=32, pattern=NAME)] = None,
    carrier: Annotated[str | None, Query(max_length=32, pattern=NAME)] = None,
    team: Annotated[str | None, Query(max_length=64, pattern=NAME)] = None,
    min_age_hours: Annotated[float | None, Query(ge=0, le=MAX_AGE_HOURS)] = None,
    max_age_hours: Annotated[float | None, Query(ge=0, le=MAX_AGE_HOURS)] = None,
    order: Annotated[str, Query(pattern="^(oldest|newest)$")] = "oldest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertPage:
    filters = AlertFilters(
        statuses=tuple(s.value for s in status) if status else UNRESOLVED_STATUSES,
        rule=rule,
        carrier=carrier,
        team=team,
        opened_before=now - timedelta(hours=min_age_hours) if min_age_hours is not None else None,
        opened_after=now - timedelta(hours=max_age_hours) if max_age_hours is not None else None,
    )
    rows, total = await repository.list_alerts(
        session,
        filters=filters,
        limit=limit + 1,
        after=decode_cursor(cursor) if cursor else None,
        newest_first=order == "newest",
    )
    page = rows[:limit]
    return AlertPage(
        items=[build_alert_read(alert, number) for alert, number in page],
        total=total,
        next_cursor=(
            encode_cursor(page[-1][0].opened_at, page[-1][0].id) if len(rows) > limit else None
        ),
    )


@router.get("/summary", response_model=AlertSummary, responses=LIST_ERRORS)
async def summarize_alerts(
    session: SessionDep,
    _: AlertReaderPrincipal,
    status: Annotated[
        list[AlertStatus] | None, Query(description="default: open and acknowledged")
    ] = None,
) -> AlertSummary:
    statuses = tuple(s.value for s in status) if status else UNRESOLVED_STATUSES

    async def counts(*columns: str) -> list[tuple[tuple[str | None, ...], int]]:
        return await repository.count_alerts_by(session, statuses=statuses, columns=columns)

    by_pair = await counts("rule", "carrier")
    return AlertSummary(
        status=[AlertStatus(s) for s in statuses],
        total=sum(n for _, n in by_pair),
        by_rule=[CountRead(key=k[0] or "-", count=n) for k, n in await counts("rule")],
        by_carrier=[CountRead(key=k[0] or "-", count=n) for k, n in await counts("carrier")],
        by_team=[CountRead(key=k[0] or "-", count=n) for k, n in await counts("team")],
        by_rule_and_carrier=[{"rule": k[0], "carrier": k[1], "count": n} for k, n in by_pair],
    )


async def _detail(session: SessionDep, alert: Alert) -> AlertDetailRead:
    order_number = await repository.find_order_number(session, alert.order_id)
    history = await audit_repository.list_for_entity(session, "alert", str(alert.id))
    notifications = await repository.list_notifications(session, alert.id)
    return AlertDetailRead(
        **build_alert_read(alert, order_number).model_dump(),
        evidence=alert.evidence,
        history=[
            AuditEntryRead(
                occurred_at=e.occurred_at, actor=e.actor, action=e.action, detail=e.detail
            )
            for e in history
        ],
        notifications=[
            NotificationRead(
                channel=n.channel,
                destination=n.destination,
                event=n.event,
                status=n.status,
                attempts=n.attempts,
                delivered_at=n.delivered_at,
                last_error=n.last_error,
            )
            for n in notifications
        ],
    )


@router.get("/{alert_id}", response_model=AlertDetailRead, responses=READ_ERRORS)
async def get_alert(
    alert_id: AlertId, session: SessionDep, _: AlertReaderPrincipal
) -> AlertDetailRead:
    return await _detail(session, await repository.get_alert(session, alert_id))


@router.post(
    "/{alert_id}/acknowledge",
    response_model=AlertDetailRead,
    responses=problem_responses(401, 403, 404, 409, 422, s404="no such alert"),
)
async def acknowledge_alert(
    alert_id: AlertId, session: SessionDep, principal: ActorPrincipal, now: NowDep
) -> AlertDetailRead:
    alert = await service.acknowledge(session, alert_id=alert_id, actor=principal.actor, now=now)
    return await _detail(session, alert)


@router.post("/{alert_id}/resolve", response_model=AlertDetailRead, responses=ACTION_ERRORS)
async def resolve_alert(
    alert_id: AlertId,
    body: ResolveRequest,
    session: SessionDep,
    principal: ActorPrincipal,
    now: NowDep,
) -> AlertDetailRead:
    alert = await service.resolve(
        session,
        alert_id=alert_id,
        outcome=body.outcome,
        note=body.note,
        actor=principal.actor,
        now=now,
    )
    return await _detail(session, alert)


@router.post("/{alert_id}/assign", response_model=AlertDetailRead, responses=ACTION_ERRORS)
async def assign_alert(
    alert_id: AlertId,
    body: AssignRequest,
    session: SessionDep,
    principal: ActorPrincipal,
    now: NowDep,
) -> AlertDetailRead:
    alert = await service.assign(
        session, alert_id=alert_id, team=body.team, actor=principal.actor, now=now
    )
    return await _detail(session, alert)


@router.post("/{alert_id}/notes", response_model=AlertDetailRead, responses=NOTE_ERRORS)
async def add_alert_note(
    alert_id: AlertId,
    body: NoteRequest,
    session: SessionDep,
    principal: NoterPrincipal,
    now: NowDep,
) -> AlertDetailRead:
    alert = await service.add_note(
        session, alert_id=alert_id, note=body.note, actor=principal.actor, now=now
    )
    return await _detail(session, alert)
