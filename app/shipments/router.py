from __future__ import annotations

import asyncio
import io
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
        rows=tally.rows, stored=tally.stored, unchanged=tally.unchanged, rejected=tally.rejected
    )
