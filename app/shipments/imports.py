"""Bulk label import from CSV or NDJSON: each row stored whole or not at all, and reported."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import FieldError, InvalidInput, ServiceError, field_path
from app.shipments import service
from app.shipments.schemas import ImportReport, ImportRowError, ImportRowWarning, OrderCreate

REQUIRED_COLUMNS = ("order_number", "tracking_number", "label_created_at")
OPTIONAL_COLUMNS = (
    "carrier",
    "service",
    "last_mile_carrier",
    "last_mile_tracking_number",
    "customer_email",
    "customer_postal_code",
    "promised_delivery_date",
    "claimed_status",
)
ORDER_FIELDS = (
    "order_number",
    "customer_email",
    "customer_postal_code",
    "promised_delivery_date",
    "claimed_status",
)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    data: dict[str, Any]


def parse_csv(text: str) -> Iterator[ImportRow]:
    """Yields one row per CSV record; `line` is the record's first line in the file."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            [FieldError("header", f"missing column(s): {', '.join(missing)}")],
            detail=f"The CSV header lacks required column(s): {', '.join(missing)}.",
        )
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise InvalidInput([FieldError("header", f"unknown column(s): {', '.join(unknown)}")])
    reader.fieldnames = columns
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The file cannot be read past a broken record; report where it broke.
            raise InvalidInput(
                [FieldError(f"line {start}", f"unreadable CSV ({exc})")],
                detail=f"The CSV cannot be read from line {start} on: {exc}.",
            ) from None
        if None in record:
            yield ImportRow(start, {"__error__": "has more fields than the header"})
        elif any(v for v in record.values()):
            yield ImportRow(start, {k: v for k, v in record.items() if v not in ("", None)})
        start = reader.line_num + 1


def parse_ndjson(text: str) -> Iterator[ImportRow]:
    """Yields one row per non-blank line; a line that is not a JSON object is a row error."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ImportRow(number, {"__error__": f"is not valid JSON ({exc.msg})"})
            continue
        if not isinstance(data, dict):
            yield ImportRow(number, {"__error__": "is not a JSON object"})
            continue
        yield ImportRow(number, data)


def build_order_from_row(data: dict[str, Any]) -> OrderCreate | FieldError:
    """A flat label row becomes an order with one shipment; the first problem is returned."""
    if "__error__" in data:
        return FieldError("line", str(data["__error__"]))
    flat = dict(data)
    shipment: dict[str, Any] = {
        k: flat.pop(k)
        for k in ("tracking_number", "carrier", "label_created_at", "service")
        if k in flat
    }
    last_mile = flat.pop("last_mile", None)
    lm_carrier = flat.pop("last_mile_carrier", None)
    lm_number = flat.pop("last_mile_tracking_number", None)
    if lm_carrier is not None or lm_number is not None:
        last_mile = {"carrier": lm_carrier, "tracking_number": lm_number}
    if last_mile is not None:
        shipment["last_mile"] = last_mile
    extra = [k for k in flat if k not in ORDER_FIELDS]
    if extra:
        return FieldError(extra[0], "is not a known field")
    try:
        return OrderCreate.model_validate({**flat, "shipments": [shipment]})
    except ValidationError as exc:
        error = exc.errors()[0]
        path = field_path(error["loc"]).replace("shipments[0].last_mile.", "last_mile_")
        path = path.replace("shipments[0].", "")
        reason = "is required" if error["type"] == "missing" else error["msg"]
        return FieldError(path, reason.removeprefix("Value error, "))


async def import_rows(
    session: AsyncSession, rows: Iterable[ImportRow], *, context: service.IngestContext
) -> ImportReport:
    """Stores every valid row, each in its own savepoint, and reports every rejected one."""
    report = ImportReport(rows=0, stored=0, unchanged=0, rejected=[])
    built = [(row, build_order_from_row(row.data)) for row in rows]
    # All the rows' locks first, in the one order (docs/locking.md): taken row by row, in the
    # file's order, they would deadlock with a poller or another import locking in id order.
    wanted = [order_in for _, order_in in built if not isinstance(order_in, FieldError)]
    await service.lock_for_ingest(session, wanted, context=context)
    for row, order_in in built:
        report.rows += 1
        if isinstance(order_in, FieldError):
            report.rejected.append(_row_error(row.line, order_in))
            continue
        try:
            async with session.begin_nested():
                outcome = await service.ingest_order(session, order_in=order_in, context=context)
        except ServiceError as exc:
            report.rejected.append(_service_row_error(row.line, exc))
            continue
        if outcome.changed:
            report.stored += 1
        else:
            report.unchanged += 1
        report.warnings.extend(
            ImportRowWarning(line=row.line, field=w.field, reason=w.reason)
            for w in outcome.warnings
        )
    return report


def _row_error(line: int, error: FieldError) -> ImportRowError:
    return ImportRowError(line=line, field=error.field, reason=error.reason)


def _service_row_error(line: int, exc: ServiceError) -> ImportRowError:
    errors = exc.extra.get("errors") or [{"field": "row", "reason": exc.detail}]
    field = str(errors[0]["field"]).replace("shipments[0].last_mile.", "last_mile_")
    field = field.replace("shipments[0].", "")
    reason = str(errors[0]["reason"]) if isinstance(exc, InvalidInput) else exc.detail
    return ImportRowError(line=line, field=field, reason=reason)
