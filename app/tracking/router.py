from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from pydantic import ValidationError

from app.deps import NowDep, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput, ServiceError, Unauthenticated, field_path
from app.openapi import SCHEMAS, problem_responses
from app.tracking import service
from app.tracking.cadence import CADENCE
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
