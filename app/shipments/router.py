from __future__ import annotations

import asyncio
import io
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import privacy
from app.deps import IngestPrincipal, NowDep, ReaderPrincipal, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput, UnsupportedMediaType
from app.input import PATH_NAME_PATTERN
from app.openapi import problem_responses
from app.orderfile import lookup
from app.orderfile.deps import OrderFileReaderDep
from app.orderfile.schemas import LookupRead
from app.shipments import imports, service
from app.shipments.schemas import (
    ImportReport,
    InputWarning,
    OrderCreate,
    OrderIngestRead,
    OrderRead,
    OrderUpdate,
    OrderUpdateReceipt,
    ShipmentCreate,
)
from app.wiring import build_first_alert_deadline

router = APIRouter(prefix="/v1", tags=["orders"])
JSON = "application/json"


# Any order number that was ever stored can be named, so the path takes any name (not only the
# alphabet new orders are held to) but no control, bidirectional or zero-width character.
OrderNumberPath = Annotated[str, Path(min_length=1, max_length=64, pattern=PATH_NAME_PATTERN)]
READ_ERRORS = problem_responses(401, 403, 404, 422, s404="no such order")
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, s404="no such order")
# Where the order a POST answers with can be read, for clients and for stateful fuzzing.
ORDER_LINKS = {
    "GetOrder": {
        "operationId": "get_order",
        "parameters": {"order_number": "$response.body#/order_number"},
    },
    "UpdateOrder": {
        "operationId": "update_order",
        "parameters": {"order_number": "$response.body#/order_number"},
    },
    "AddShipment": {
        "operationId": "add_shipment",
        "parameters": {"order_number": "$response.body#/order_number"},
    },
}


def _context(
    principal: IngestPrincipal, settings: SettingsDep, now: NowDep
) -> service.IngestContext:
    return service.IngestContext.from_settings(
        settings,
        actor=principal.actor,
        now=now,
        first_alert_deadline=build_first_alert_deadline(settings),
    )


async def _ingest_answer(session: SessionDep, outcome: service.IngestOutcome) -> OrderIngestRead:
    order = await lookup.read_order(session, order_id=outcome.order_id)
    warnings = [InputWarning(field=w.field, reason=w.reason) for w in outcome.warnings]
    # An ingest key writes; it does not read customers' contact details back, not even of an
    # order another system created under the same number.
    contact = {
        "customer_email": privacy.mask_email(order.customer_email),
        "customer_postal_code": privacy.mask_postal_code(order.customer_postal_code),
    }
    return OrderIngestRead(**{**order.model_dump(), **contact}, warnings=warnings)


@router.post(
    "/orders",
    response_model=OrderIngestRead,
    status_code=201,
    responses={
        201: {"description": "the order was created", "links": ORDER_LINKS},
        200: {
            "model": OrderIngestRead,
            "description": "the order existed; the body is the same",
            "links": ORDER_LINKS,
        },
        **problem_responses(400, 401, 403, 409, 413, 422),
    },
)
async def upsert_order(
    body: OrderCreate,
    response: Response,
    session: SessionDep,
    principal: IngestPrincipal,
    settings: SettingsDep,
    now: NowDep,
) -> OrderIngestRead:
    outcome = await service.ingest_order(
        session, order_in=body, context=_context(principal, settings, now)
    )
    response.status_code = 201 if outcome.created else 200
    return await _ingest_answer(session, outcome)


@router.get(
    "/orders/{order_number}",
    response_model=OrderRead,
    responses=READ_ERRORS,
)
async def get_order(
    order_number: OrderNumberPath, session: SessionDep, _: ReaderPrincipal
) -> OrderRead:
    return await lookup.read_order_by_number(session, order_number=order_number)


@router.post(
    "/orders/{order_number}/shipments",
    response_model=OrderIngestRead,
    status_code=201,
    responses={
        200: {"model": OrderIngestRead, "description": "the label was already on the order"},
        **WRITE_ERRORS,
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
) -> OrderIngestRead:
    outcome = await service.add_shipment(
        session,
        order_number=order_number,
        shipment_in=body,
        context=_context(principal, settings, now),
    )
    response.status_code = 201 if outcome.changed else 200
    return await _ingest_answer(session, outcome)


@router.patch(
    "/orders/{order_number}",
    response_model=OrderUpdateReceipt,
    responses={
        **problem_responses(400, 401, 403, 404, 413, 422, s404="no such order"),
    },
)
async def update_order(
    order_number: OrderNumberPath,
    body: OrderUpdate,
    session: SessionDep,
    principal: IngestPrincipal,
    settings: SettingsDep,
    now: NowDep,
) -> OrderUpdateReceipt:
    # An ingest key may write, not read: the answer says what changed, never the order itself.
    outcome = await service.update_order(
        session,
        order_number=order_number,
        changes=body,
        context=_context(principal, settings, now),
    )
    return OrderUpdateReceipt(
        order_number=outcome.order_number,
        changed=list(outcome.changed),
        warnings=[InputWarning(field=w.field, reason=w.reason) for w in outcome.warnings],
    )


@router.get(
    "/lookup/{number}",
    response_model=LookupRead,
    responses=problem_responses(401, 403, 404, 422, s404="no order or tracking number matches"),
)
async def lookup_number(
    number: Annotated[str, Path(min_length=1, max_length=100, pattern=PATH_NAME_PATTERN)],
    reader: OrderFileReaderDep,
    _: ReaderPrincipal,
) -> Response:
    # The answer is LookupRead's JSON already (app.orderfile.answer): not validated again.
    return Response(await lookup.lookup_number(reader, number=number), media_type=JSON)


IMPORT_MEDIA_TYPES: dict[str, imports.FileFormat] = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
}
IMPORT_DESCRIPTION = f"""Good rows are stored, each bad row is reported with its line and reason.
The body is read as a stream of rows and stored in chunks of {imports.CHUNK_ROWS} rows, each chunk
committed on its own. If the request fails midway (the database goes away, the connection drops),
the chunks committed before it stay stored: send the same body again, rows already stored come
back as `unchanged`."""


@router.post(
    "/imports",
    response_model=ImportReport,
    description=IMPORT_DESCRIPTION,
    responses=problem_responses(401, 403, 413, 415, 422),
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
    file_format = IMPORT_MEDIA_TYPES.get(media_type)
    if file_format is None:
        raise UnsupportedMediaType(
            f"Send CSV (text/csv) or NDJSON (application/x-ndjson), not '{media_type or 'none'}'."
        )
    body = io.BytesIO(await request.body())  # at most max_body_bytes (BodySizeLimit)
    # A CSV is read through before any row is stored: off the event loop, it is up to 5 MiB.
    rows = await asyncio.to_thread(imports.parse_file, body, file_format)
    # The import commits chunk by chunk on sessions of its own: the key check's transaction ends
    # here, so it holds no lock meanwhile (on SQLite, the one writer's).
    await session.commit()
    context = _context(principal, settings, now)
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    tally = await imports.import_rows(
        sessionmaker, rows, context=lambda: context, tally=imports.ImportTally()
    )
    if tally.rows == 0:
        raise InvalidInput([FieldError("body", "contains no rows")])
    if tally.stored + tally.unchanged == 0:
        raise InvalidInput(
            [FieldError(f"line {e.line}: {e.field}", e.reason) for e in tally.rejected],
            detail=f"None of the {tally.rows} rows could be stored.",
        )
    return ImportReport(
        rows=tally.rows,
        stored=tally.stored,
        unchanged=tally.unchanged,
        rejected=tally.rejected,
        warnings=tally.warnings,
    )
