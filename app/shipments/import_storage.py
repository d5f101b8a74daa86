"""Storing one chunk of an import's validated rows in the caller's transaction.

On PostgreSQL a chunk is stored set-wise (`shipments.bulk_ingest`): its rows checked in Python
one by one, its locks taken in one statement, its lookups, reuse checks and inserts a few
statements a wave; a row the set-wise path does not store itself (a change to a stored order or
label, a conflict) goes through `service.ingest_order` in a savepoint of its own. Should the
set-wise path raise anything but the database failing, its savepoint is rolled back and the chunk
is stored row by row, as SQLite (the demo, one writer) always stores it: each row in a savepoint,
so a row that raises costs only itself.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput, ServiceError
from app.quarantine.isolation import is_outage
from app.shipments import bulk_ingest, service
from app.shipments.schemas import ImportRowError, ImportRowWarning, OrderCreate

# One logger for the whole import, whichever module of it speaks.
logger = logging.getLogger("app.shipments.imports")


@dataclass(frozen=True, slots=True)
class ValidRow:
    line: int
    order: OrderCreate


@dataclass(slots=True)
class ChunkOutcome:
    stored: int = 0
    unchanged: int = 0
    rejected: list[ImportRowError] = field(default_factory=list)
    warnings: list[ImportRowWarning] = field(default_factory=list)

    def count(self, line: int, ingested: service.IngestOutcome) -> None:
        if ingested.changed:
            self.stored += 1
        else:
            self.unchanged += 1
        self.warnings += [
            ImportRowWarning(line=line, field=w.field, reason=w.reason) for w in ingested.warnings
        ]


async def store_chunk(
    session: AsyncSession, rows: Sequence[ValidRow], *, context: service.IngestContext
) -> ChunkOutcome:
    """Stores each row whole or not at all and never commits. A row that fails is rejected
    alone; the database failing is raised."""
    if session.get_bind().dialect.name != "postgresql":
        return await store_chunk_row_by_row(session, rows, context=context)
    try:
        async with session.begin_nested():
            return await store_chunk_set_wise(session, rows, context=context)
    except Exception as exc:
        if is_database_failure(exc):
            raise
        # The row that raised is logged with its traceback when it raises again, alone.
        logger.warning(
            "import: storing lines %d-%d set-wise raised %s; storing them one by one",
            rows[0].line,
            rows[-1].line,
            type(exc).__name__,
        )
    session.expunge_all()
    return await store_chunk_row_by_row(session, rows, context=context)


async def store_chunk_set_wise(
    session: AsyncSession, rows: Sequence[ValidRow], *, context: service.IngestContext
) -> ChunkOutcome:
    outcome = ChunkOutcome()
    prepared: list[tuple[ValidRow, service.PreparedOrder]] = []
    for row in rows:
        try:
            prepared.append((row, service.prepare_order(row.order, context=context)))
        except ServiceError as exc:
            outcome.rejected.append(service_row_error(row.line, exc))
    orders = [order for _, order in prepared]
    await bulk_ingest.lock_orders(session, orders)
    for wave in bulk_ingest.plan_waves(orders):
        result = await bulk_ingest.store_wave(session, [orders[i] for i in wave], context=context)
        for position, ingested in result.done.items():
            outcome.count(prepared[wave[position]][0].line, ingested)
        for position in sorted(result.left):
            await store_chunk_row(session, prepared[wave[position]][0], outcome, context)
        if result.left:
            session.expunge_all()  # the next wave reads afresh what these rows wrote
    outcome.warnings.sort(key=lambda warning: warning.line)
    return outcome


async def store_chunk_row_by_row(
    session: AsyncSession, rows: Sequence[ValidRow], *, context: service.IngestContext
) -> ChunkOutcome:
    outcome = ChunkOutcome()
    # All the chunk's locks first, in the one order (docs/locking.md): taken row by row, in the
    # file's order, they would deadlock with a poller or another import locking in id order.
    try:
        async with session.begin_nested():  # failing, it leaves the transaction usable
            await service.lock_for_ingest(session, [row.order for row in rows], context=context)
    except Exception as exc:  # each row still takes its own locks as it is stored
        if is_database_failure(exc):
            raise
        logger.error("import: taking lines %d-%d's locks raised", rows[0].line, rows[-1].line)
    for row in rows:
        await store_chunk_row(session, row, outcome, context)
    return outcome


async def store_chunk_row(
    session: AsyncSession, row: ValidRow, outcome: ChunkOutcome, context: service.IngestContext
) -> None:
    """Stores one row in a savepoint of its own: whole, or rejected alone."""
    try:
        async with session.begin_nested():
            ingested = await service.ingest_order(session, order_in=row.order, context=context)
    except ServiceError as exc:
        outcome.rejected.append(service_row_error(row.line, exc))
    except Exception as exc:
        if is_database_failure(exc):
            raise
        outcome.rejected.append(unexpected_row_error(row.line, exc, doing="storing"))
    else:
        outcome.count(row.line, ingested)


def is_database_failure(exc: BaseException) -> bool:
    """The database failed (unreachable, gone, out of resources, a lock it could not grant), not
    the row: such an error stops an import instead of rejecting one row."""
    return is_outage(exc) or isinstance(exc, OSError)


def service_row_error(line: int, exc: ServiceError) -> ImportRowError:
    errors = exc.extra.get("errors") or [{"field": "row", "reason": exc.detail}]
    field = str(errors[0]["field"]).replace("shipments[0].last_mile.", "last_mile_")
    field = field.replace("shipments[0].", "")
    reason = str(errors[0]["reason"]) if isinstance(exc, InvalidInput) else exc.detail
    return ImportRowError(line=line, field=field, reason=reason)


def unexpected_row_error(line: int, exc: Exception, *, doing: str) -> ImportRowError:
    # The exception's message may quote the row (a value, SQL parameters): the log gets where it
    # failed and the error's type, never its text.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    kind = type(exc).__name__ + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    logger.error(
        "import: line %d: %s while %s the row; its message is withheld, it may quote the row\n%s",
        line,
        kind,
        doing,
        "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
    )
    reason = f"could not be {'validated' if doing == 'validating' else 'stored'}: {kind}, logged"
    return ImportRowError(line=line, field="row", reason=reason)
