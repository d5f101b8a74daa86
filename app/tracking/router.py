"""Carrier pushes: the signed normalized push (POST /v1/webhooks/{carrier}) and each carrier's
own (POST /v1/push/{ups,usps,fedex}). Every route checks the push's authentication, stores the
body in the inbox and answers at once; the worker records the events (app/tracking/pushes.py).
A push whose authentication fails is 401 and stores nothing. UPS Track Alert v2 gets its bearer
token from POST /v1/push/ups/token (app/tracking/ups_push_auth.py)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr, ValidationError

from app import metrics
from app.body_limit import too_large_detail
from app.deps import NowDep, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput, ServiceError, Unauthenticated, field_path
from app.openapi import SCHEMAS, problem_responses
from app.tracking import inbox, service, ups_push_auth
from app.tracking.service import PushAccepted
from app.tracking.webhooks import PushedTracking, check_delivery
from carriers.fedex import push as fedex_push
from carriers.registry import CARRIER_CODES
from carriers.ups import push as ups_push
from carriers.usps import push as usps_push

logger = logging.getLogger("app.tracking.router")
router = APIRouter(tags=["carriers"])
UPS_PUSH_NOT_CONFIGURED = (
    "Set FIRSTSCAN_UPS_PUSH_CLIENT_ID and FIRSTSCAN_UPS_PUSH_CLIENT_SECRET (Track Alert v2) or "
    "FIRSTSCAN_UPS_PUSH_CREDENTIAL (v1) to accept these pushes."
)
# A client-credentials request is a short form; RFC 6749 section 5.1 says "no-store".
TOKEN_REQUEST_MAX_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The push body is read raw (its signature covers the bytes), so the document names its model.
OPENAPI_MODELS = (PushedTracking,)
_RAW_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class WebhooksNotConfigured(ServiceError):
    status = 503
    slug = "webhooks-not-configured"
    title = "Webhooks not configured"


class PushTooLarge(ServiceError):
    status = 413
    slug = "body-too-large"
    title = "Request body too large"


async def read_push_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw body, refused (413) as soon as it passes `max_bytes`: never read whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PushTooLarge(too_large_detail(max_bytes))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PushTooLarge(too_large_detail(max_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(carrier: str, detail: str) -> Unauthenticated:
    metrics.PUSHES_RECEIVED.labels(carrier, "refused").inc()
    return Unauthenticated(detail)


def _secret(value: SecretStr | None, setting: str) -> str:
    if value is None:
        raise WebhooksNotConfigured(f"Set {setting} to accept these pushes.")
    return value.get_secret_value()


def _json_text(body: bytes) -> str:
    """The body as text, if it is a JSON object (422 naming `body` otherwise)."""
    try:
        text = body.decode("utf-8")
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested beyond reading
        raise InvalidInput([FieldError("body", "not UTF-8 JSON")]) from None
    if not isinstance(parsed, dict):
        raise InvalidInput([FieldError("body", "must be a JSON object")])
    return text


async def _store_native(
    session: SessionDep, *, carrier: str, push_format: str, body: bytes, now: NowDep
) -> PushAccepted:
    # A carrier's own push carries no delivery id we could trust to be unique, so the same
    # bytes are the same push: a carrier's retry is stored once.
    return await service.store_carrier_push(
        session,
        carrier=carrier,
        push_format=push_format,
        body=_json_text(body),
        key=inbox.dedupe_key(body),
        now=now,
    )


@router.post(
    "/v1/webhooks/{carrier}",
    response_model=PushAccepted,
    responses=problem_responses(
        401,
        409,
        413,
        422,
        503,
        s401="bad or missing signature, or a stale timestamp",
        s409="this delivery id was seen before",
        s413="body over FIRSTSCAN_PUSH_MAX_BODY_BYTES",
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
) -> PushAccepted:
    secret = _secret(settings.webhook_secret, "FIRSTSCAN_WEBHOOK_SECRET")
    if carrier not in CARRIER_CODES:
        raise InvalidInput([FieldError("carrier", f"unknown carrier '{carrier}'")])
    body = await read_push_body(request, max_bytes=settings.push_max_body_bytes)
    refusal = check_delivery(
        secret,
        signature=signature,
        timestamp=timestamp,
        delivery_id=delivery,
        carrier=carrier,
        body=body,
        now=now,
        max_age=timedelta(seconds=settings.webhook_max_age_seconds),
    )
    if refusal or delivery is None:  # no delivery id is one of the refusals
        raise _refused(carrier, f"Webhook refused: {refusal}.")
    try:  # checked here, so that a push the worker could not read is refused now, naming why
        PushedTracking.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(
            [FieldError(field_path(e["loc"]) or "body", e["msg"]) for e in exc.errors()]
        ) from None
    return await service.accept_push(
        session, carrier=carrier, delivery_id=delivery, body=body.decode(), now=now
    )


@router.post(
    "/v1/push/ups",
    response_model=PushAccepted,
    responses=problem_responses(
        401,
        413,
        422,
        503,
        s401="missing or bad bearer token (v2), or missing or wrong `credential` header (v1)",
        s413="body over FIRSTSCAN_PUSH_MAX_BODY_BYTES",
        s503="no FIRSTSCAN_UPS_PUSH_CLIENT_ID/_CLIENT_SECRET nor FIRSTSCAN_UPS_PUSH_CREDENTIAL",
    ),
    openapi_extra=_RAW_JSON_BODY,
)
async def receive_ups_track_alert(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    credential: Annotated[str | None, Header(alias=ups_push.CREDENTIAL_HEADER)] = None,
    authorization: Annotated[str | None, Header()] = None,
    api_key: Annotated[str | None, Header(alias=ups_push.API_KEY_HEADER)] = None,
) -> PushAccepted:
    auth = ups_push_auth.configured_auth(settings)
    if auth is None:
        raise WebhooksNotConfigured(UPS_PUSH_NOT_CONFIGURED)
    body = await read_push_body(request, max_bytes=settings.push_max_body_bytes)
    refusal = ups_push_auth.refuse_ups_push(
        auth, authorization=authorization, api_key=api_key, credential=credential, now=now
    )
    if refusal is not None:
        raise _refused("ups", f"UPS push refused: {refusal}.")
    return await _store_native(
        session, carrier="ups", push_format=inbox.UPS_TRACK_ALERT, body=body, now=now
    )


# UPS's own machines call it, as an OAuth 2.0 token endpoint (RFC 6749 section 4.4): its errors
# are section 5.2's JSON, not the problem details every operation in the API document answers.
@router.post("/v1/push/ups/token", include_in_schema=False)
async def issue_ups_push_token(
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    authorization: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    client = ups_push_auth.configured_client(settings)
    if client is None:
        raise WebhooksNotConfigured(
            "Set FIRSTSCAN_UPS_PUSH_CLIENT_ID and FIRSTSCAN_UPS_PUSH_CLIENT_SECRET."
        )
    request.app.state.push_token_throttle.check(address=_peer(request), order_key=None)
    body = await read_push_body(request, max_bytes=TOKEN_REQUEST_MAX_BYTES)
    answer = ups_push_auth.answer_token_request(
        client, authorization=authorization, content_type=content_type, body=body, now=now
    )
    if isinstance(answer, ups_push_auth.TokenRefusal):
        logger.warning("UPS push token refused: %s (%s)", answer.error, answer.description)
        headers = dict(NO_STORE)
        if answer.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="firstscan"'
        error = {"error": answer.error, "error_description": answer.description}
        return JSONResponse(error, status_code=answer.status, headers=headers)
    token = {"access_token": answer.access_token, "token_type": "Bearer"}
    return JSONResponse({**token, "expires_in": answer.expires_in}, headers=dict(NO_STORE))


def _peer(request: Request) -> str:
    # The peer, or behind a proxy named in FIRSTSCAN_FORWARDED_ALLOW_IPS the address it
    # forwarded (app/serving.py), as the public lookups count it.
    return request.client.host if request.client else "unknown"


@router.post(
    "/v1/push/usps",
    response_model=PushAccepted,
    responses=problem_responses(
        401,
        413,
        422,
        503,
        s401="missing or wrong X-HMAC signature",
        s413="body over FIRSTSCAN_PUSH_MAX_BODY_BYTES",
        s503="FIRSTSCAN_USPS_PUSH_SECRET is not set",
    ),
    openapi_extra=_RAW_JSON_BODY,
)
async def receive_usps_notification(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    signature: Annotated[str | None, Header(alias=usps_push.SIGNATURE_HEADER)] = None,
    old_signature: Annotated[str | None, Header(alias=usps_push.OLD_SIGNATURE_HEADER)] = None,
) -> PushAccepted:
    secret = _secret(settings.usps_push_secret, "FIRSTSCAN_USPS_PUSH_SECRET")
    body = await read_push_body(request, max_bytes=settings.push_max_body_bytes)
    if not usps_push.signature_matches(secret, body, signature or old_signature):
        raise _refused("usps", "USPS push refused: missing or wrong X-HMAC signature.")
    return await _store_native(
        session, carrier="usps", push_format=inbox.USPS_SUBSCRIPTION, body=body, now=now
    )


@router.post(
    "/v1/push/fedex",
    response_model=PushAccepted,
    responses=problem_responses(
        401,
        413,
        422,
        503,
        s401="missing or wrong fdx-signature",
        s413="body over FIRSTSCAN_PUSH_MAX_BODY_BYTES",
        s503="FIRSTSCAN_FEDEX_PUSH_SECURITY_TOKEN is not set",
    ),
    openapi_extra=_RAW_JSON_BODY,
)
async def receive_fedex_aiv_push(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    signature: Annotated[str | None, Header(alias=fedex_push.SIGNATURE_HEADER)] = None,
) -> PushAccepted:
    token = _secret(settings.fedex_push_security_token, "FIRSTSCAN_FEDEX_PUSH_SECURITY_TOKEN")
    body = await read_push_body(request, max_bytes=settings.push_max_body_bytes)
    if not fedex_push.signature_matches(token, body, signature):
        raise _refused("fedex", "FedEx push refused: missing or wrong fdx-signature.")
    return await _store_native(
        session, carrier="fedex", push_format=inbox.FEDEX_AIV, body=body, now=now
    )
