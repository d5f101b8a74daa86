from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from app.deps import IngestPrincipal, NowDep, ReaderPrincipal, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput, UnsupportedMediaType
from app.shipments import imports, lookup, service
from app.shipments.schemas import (
    ImportReport,
    LookupRead,
    OrderCreate,
    OrderRead,
    OrderUpdate,
    ShipmentCreate,
)

router = APIRouter(prefix="/v1", tags=["orders"])

# No control characters: PostgreSQL refuses NUL in text, and none belongs in a number.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
OrderNumberPath = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key", **PROBLEM},
    403: {"description": "the key's role does not allow this", **PROBLEM},
    422: {"description": "invalid input; `errors` names each field and reason", **PROBLEM},
}


def _context(
    principal: IngestPrincipal, settings: SettingsDep, now: NowDep
) -> service.IngestContext:
    return service.IngestContext(
        actor=principal.actor, now=now, reuse_window=settings.tracking_number_reuse_window
    )


@router.post(
    "/orders",
    response_model=OrderRead,
    status_code=201,
    responses={
        200: {"description": "the order existed; the body is the same"},
        409: PROBLEM,
        **ERRORS,
    },
)
async def upsert_order(
    body: OrderCreate,
    response: Response,
    session: SessionDep,
    principal: IngestPrincipal,
    settings: SettingsDep,
    now: NowDep,
) -> OrderRead:
    outcome = await service.ingest_order(
        session, order_in=body, context=_context(principal, settings, now)
    )
    response.status_code = 201 if outcome.created else 200
    return await lookup.read_order(session, order_id=outcome.order_id)


@router.get("/orders/{order_number}", response_model=OrderRead, responses={404: PROBLEM, **ERRORS})
async def get_order(
    order_number: OrderNumberPath, session: SessionDep, _: ReaderPrincipal
) -> OrderRead:
    return await lookup.read_order_by_number(session, order_number=order_number)


@router.post(
    "/orders/{order_number}/shipments",
    response_model=OrderRead,
    status_code=201,
    responses={
        200: {"description": "the label was already on the order"},
        404: PROBLEM,
        409: PROBLEM,
        **ERRORS,
    },
)
async def add_shipment(
    order_number: OrderNumberPath,
    body: ShipmentCreate,
    response: Response,
    session: SessionDep,
    principal: IngestPrincipal,
    settings: SettingsDep,
    now: NowDep,
) -> OrderRead:
    outcome = await service.add_shipment(
        session,
        order_number=order_number,
        shipment_in=body,
        context=_context(principal, settings, now),
    )
    response.status_code = 201 if outcome.changed else 200
    return await lookup.read_order(session, order_id=outcome.order_id)


@router.patch(
    "/orders/{order_number}", response_model=OrderRead, responses={404: PROBLEM, **ERRORS}
)
async def update_order(
    order_number: OrderNumberPath,
    body: OrderUpdate,
    session: SessionDep,
    principal: IngestPrincipal,
    settings: SettingsDep,
    now: NowDep,
) -> OrderRead:
    order_id = await service.update_order(
        session,
        order_number=order_number,
        changes=body,
        context=_context(principal, settings, now),
    )
    return await lookup.read_order(session, order_id=order_id)


@router.get("/lookup/{number}", response_model=LookupRead, responses={404: PROBLEM, **ERRORS})
async def lookup_number(
    number: Annotated[str, Path(min_length=1, max_length=100, pattern=PRINTABLE)],
    session: SessionDep,
    _: ReaderPrincipal,
) -> LookupRead:
    return await lookup.lookup_number(session, number=number)


IMPORT_MEDIA_TYPES = {
    "text/csv": imports.parse_csv,
    "application/x-ndjson": imports.parse_ndjson,
    "application/ndjson": imports.parse_ndjson,
    "application/jsonl": imports.parse_ndjson,
}


@router.post(
    "/imports",
    response_model=ImportReport,
    responses={415: PROBLEM, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "string"}} for media in IMPORT_MEDIA_TYPES},
        }
    },
)
async def import_labels(
    request: Request,
    session: SessionDep,
    principal: IngestPrincipal,
    settings: SettingsDep,
    now: NowDep,
) -> ImportReport:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parse = IMPORT_MEDIA_TYPES.get(media_type)
    if parse is None:
        raise UnsupportedMediaType(
            f"Send CSV (text/csv) or NDJSON (application/x-ndjson), not '{media_type or 'none'}'."
        )
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput([FieldError("body", f"is not UTF-8 text (byte {exc.start})")]) from None
    report = await imports.import_rows(
        session, list(parse(text)), context=_context(principal, settings, now)
    )
    if report.rows == 0:
        raise InvalidInput([FieldError("body", "contains no rows")])
    if report.stored + report.unchanged == 0:
        raise InvalidInput(
            [FieldError(f"line {e.line}: {e.field}", e.reason) for e in report.rejected],
            detail=f"None of the {report.rows} rows could be stored.",
        )
    return report
