from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from app import metrics
from app.alerts.destination_state import list_destinations
from app.alerts.destination_state import state_of as destination_state_of
from app.alerts.destinations import is_paused
from app.database_outage import RETRY_AFTER_SECONDS
from app.deps import NowDep, SessionDep, SettingsDep
from app.errors import Unauthenticated
from app.quarantine import repository as quarantine_repository
from app.quarantine.models import MEMBER_TYPES
from app.tracking import claims, inbox, subscriptions
from app.tracking.backlog import load_backlog
from app.tracking.carrier_state import list_carrier_states
from app.tracking.report import load_push_totals

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: str
    database: str


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up; says nothing about its dependencies."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "the database does not answer"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers."""
    try:
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus text format: the API's own counters and shared state read from the database.
    Worker counters are served by each worker on its own port (app/metrics.py)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        if authorization != expected:
            raise Unauthenticated("Send the metrics token as a bearer token.")
    for state in await list_carrier_states(session):
        open_ = 1 if state.breaker_state == "open" else 0
        metrics.SHARED_BREAKER_OPEN.labels(state.carrier).set(open_)
        metrics.SHARED_QUOTA_USED.labels(state.carrier, "hour").set(state.hour_used)
        metrics.SHARED_QUOTA_USED.labels(state.carrier, "day").set(state.day_used)
    oldest = await claims.oldest_due_at(session, now=now)
    metrics.SHARED_DUE_LAG.set((now - oldest).total_seconds() if oldest else 0)
    for row in await load_backlog(session, now=now):
        metrics.SHARED_DUE_LEGS.labels(row.carrier).set(row.due_legs)
        metrics.SHARED_DUE_OLDEST_WAIT.labels(row.carrier).set(row.oldest_wait(now).total_seconds())
        metrics.SHARED_OVERDUE_LEGS.labels(row.carrier).set(row.overdue_legs)
    for destination in await list_destinations(session):
        labels = (destination.channel, destination.destination)
        paused = is_paused(destination_state_of(destination), now=now)
        metrics.SHARED_DESTINATION_PAUSED.labels(*labels).set(1 if paused else 0)
        metrics.SHARED_DESTINATION_FAILURES.labels(*labels).set(destination.breaker_failures)
        breaker_open = destination.breaker_state != "closed"
        metrics.SHARED_DESTINATION_BREAKER_OPEN.labels(*labels).set(1 if breaker_open else 0)
    set_aside = await quarantine_repository.count_by_type(session)
    for member_type in MEMBER_TYPES:
        metrics.SHARED_SET_ASIDE.labels(member_type).set(set_aside.get(member_type, 0))
    await _read_push_gauges(session)
    return Response(generate_latest(metrics.API), media_type=CONTENT_TYPE_LATEST)


async def _read_push_gauges(session: SessionDep) -> None:
    pushes = await inbox.count_by_status(session)
    for status in (inbox.PENDING, inbox.PROCESSED, inbox.FAILED):
        metrics.SHARED_PUSH_INBOX.labels(status).set(pushes.get(status, 0))
    counts = await subscriptions.count_by_state(session)
    for carrier in sorted({carrier for carrier, _ in counts}):
        for state in subscriptions.STATES:
            metrics.SHARED_SUBSCRIPTIONS.labels(carrier, state).set(counts.get((carrier, state), 0))
    totals_by_carrier = await load_push_totals(session)
    # Cleared first: a carrier whose rows are gone must not keep its last value.
    metrics.SHARED_PUSHES_READ.clear()
    metrics.SHARED_POLLS_SAVED.clear()
    metrics.SHARED_SUBSCRIPTION_CALLS.clear()
    for carrier, totals in totals_by_carrier.items():
        metrics.SHARED_PUSHES_READ.labels(carrier).set(totals.pushes)
        metrics.SHARED_POLLS_SAVED.labels(carrier).set(totals.polls_saved)
        metrics.SHARED_SUBSCRIPTION_CALLS.labels(carrier).set(totals.subscription_calls)
