from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app import metrics
from app.deps import NowDep, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput, ServiceError, Unauthenticated, field_path
from app.openapi import SCHEMAS, problem_responses
from app.quarantine import repository as quarantine_repository
from app.quarantine.models import MEMBER_TYPES
from app.tracking import claims, service
from app.tracking.backlog import load_backlog
from app.tracking.cadence import CADENCE
from app.tracking.carrier_state import list_carrier_states
from app.tracking.judging import JudgingPolicy
from app.tracking.webhooks import PushedTracking, PushReceipt, check_delivery
from carriers.registry import CARRIER_CODES

router = APIRouter(tags=["carriers"])
# The push body is read raw (its signature covers the bytes), so the document names its model.
OPENAPI_MODELS = (PushedTracking,)


class WebhooksNotConfigured(ServiceError):
    status = 503
    slug = "webhooks-not-configured"
    title = "Webhooks not configured"


@router.post(
    "/v1/webhooks/{carrier}",
    response_model=PushReceipt,
    responses=problem_responses(
        401,
        409,
        413,
        422,
        503,
        s401="bad or missing signature, or a stale timestamp",
        s409="this delivery id was seen before",
        s503="FIRSTSCAN_WEBHOOK_SECRET is not set",
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": SCHEMAS + "PushedTracking"}}},
        }
    },
)
async def receive_carrier_push(
    carrier: Annotated[str, Path(pattern="^[a-z_]+$", max_length=32)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    signature: Annotated[str | None, Header(alias="X-Firstscan-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-Firstscan-Timestamp")] = None,
    delivery: Annotated[str | None, Header(alias="X-Firstscan-Delivery", max_length=128)] = None,
) -> PushReceipt:
    if settings.webhook_secret is None:
        raise WebhooksNotConfigured("Set FIRSTSCAN_WEBHOOK_SECRET to accept carrier pushes.")
    if carrier not in CARRIER_CODES:
        raise InvalidInput([FieldError("carrier", f"unknown carrier '{carrier}'")])
    body = await request.body()
    refusal = check_delivery(
        settings.webhook_secret.get_secret_value(),
        signature=signature,
        timestamp=timestamp,
        delivery_id=delivery,
        carrier=carrier,
        body=body,
        now=now,
        max_age=timedelta(seconds=settings.webhook_max_age_seconds),
    )
    if refusal or delivery is None:  # no delivery id is one of the refusals
        raise Unauthenticated(f"Webhook refused: {refusal}.")
    try:
        push = PushedTracking.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(
            [FieldError(field_path(e["loc"]) or "body", e["msg"]) for e in exc.errors()]
        ) from None
    return await service.accept_push(
        session,
        carrier=carrier,
        delivery_id=delivery,
        push=push,
        now=now,
        policy=JudgingPolicy(cadence=CADENCE),
    )


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
    set_aside = await quarantine_repository.count_by_type(session)
    for member_type in MEMBER_TYPES:
        metrics.SHARED_SET_ASIDE.labels(member_type).set(set_aside.get(member_type, 0))
    return Response(generate_latest(metrics.API), media_type=CONTENT_TYPE_LATEST)
