"""Bulk label import from CSV or NDJSON, streamed and stored in chunks.

A file is read one line at a time (never whole), each row is validated on its own, and the valid
rows go in chunks of CHUNK_ROWS to `store_chunk` (shipments.import_storage): one transaction per
chunk, stored set-wise on PostgreSQL, row by row on SQLite, each row whole or not at all.

What one row can come to:
- stored, or unchanged (replaying a stored row changes nothing);
- rejected with its line, field and reason: invalid input, a conflict, a line that is not JSON or
  nests too deeply, or any unexpected error while validating or storing it (logged with its
  traceback, never with the row's data).

What stops the whole import:
- a CSV that cannot be read (a missing or unknown column, an unclosed quote, a line over
  MAX_LINE_BYTES, text that is not UTF-8): found by reading it through before any row is stored;
- the database failing (unreachable, gone, out of resources): raised; the chunks committed before
  it stay stored, `ImportTally` says up to which line, and replaying the file stores the rest.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO, Literal

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db
from app.errors import FieldError, InvalidInput, field_path
from app.shipments import service
from app.shipments.import_storage import ChunkOutcome, ValidRow, unexpected_row_error

# Re-exported: the CLI asks which errors stop an import, and tests watch each chunk's store.
from app.shipments.import_storage import is_database_failure as is_database_failure
from app.shipments.import_storage import store_chunk as store_chunk
from app.shipments.schemas import ImportRowError, ImportRowWarning, OrderCreate

logger = logging.getLogger(__name__)

# Rows per transaction. Each row holds two or three advisory locks until its chunk commits, in a
# lock table PostgreSQL shares between all sessions (64 slots per connection by default, about
# 7,800 here): 500 rows take at most 1,500, a fifth of it, so a few imports and every other
# writer fit beside each other. Stored set-wise, a chunk is a few statements a wave whatever its
# size, so larger chunks buy little more; its savepoints are one, plus one per row left to the
# row-by-row path (PostgreSQL caches 64 subtransactions per transaction before every snapshot in
# the cluster must look them up on disk: a chunk falls back whole only when something unexpected
# raises).
CHUNK_ROWS = 500
# A chunk that meets a deadlock or serialization failure is rolled back and stored again.
CHUNK_ATTEMPTS = 3
# A label row is a few hundred bytes; the cap bounds what one line can hold in memory.
MAX_LINE_BYTES = 1024 * 1024
# Rows are flat objects (two levels with a `last_mile` object). Deeper lines are refused before
# json.loads, whose recursion a line of 100,000 brackets would otherwise exhaust.
MAX_NESTING = 4

FileFormat = Literal["csv", "ndjson"]
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
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    data: dict[str, Any]


ParsedRow = ImportRow | ImportRowError


def parse_file(stream: BinaryIO, file_format: FileFormat) -> Iterator[ParsedRow]:
    """The rows of a seekable CSV or NDJSON stream, read lazily. A CSV is read through once
    first, so one that cannot be read is InvalidInput before any row is stored."""
    if file_format == "ndjson":
        return parse_ndjson(stream)
    start = stream.tell()
    for _ in parse_csv(stream):
        pass
    stream.seek(start)
    return parse_csv(stream)


def read_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """Yields (line number, line) one at a time; a line over MAX_LINE_BYTES comes as None, its
    bytes read and dropped a piece at a time."""
    number = 0
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield number, line
            continue
        while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield number, None


def parse_csv(stream: BinaryIO) -> Iterator[ParsedRow]:
    """Yields one row per CSV record; `line` is the record's first line in the file."""
    reader = csv.reader(_csv_text(stream))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise InvalidInput([FieldError("header", f"unreadable CSV ({exc})")]) from None
    columns = [c.strip() for c in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            [FieldError("header", f"missing column(s): {', '.join(missing)}")],
            detail=f"The CSV header lacks required column(s): {', '.join(missing)}.",
        )
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise InvalidInput([FieldError("header", f"unknown column(s): {', '.join(unknown)}")])
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
        if len(record) > len(columns):
            yield ImportRowError(line=start, field="line", reason="has more fields than the header")
        elif any(record):
            yield ImportRow(start, {k: v for k, v in zip(columns, record, strict=False) if v})
        start = reader.line_num + 1


def _csv_text(stream: BinaryIO) -> Iterator[str]:
    for number, line in read_lines(stream):
        if line is None:
            raise InvalidInput([FieldError(f"line {number}", _too_long())])
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput([FieldError(f"line {number}", _not_utf8(exc))]) from None


def parse_ndjson(stream: BinaryIO) -> Iterator[ParsedRow]:
    """Yields one row per non-blank line; a line that is not a JSON object is that line's error
    and the lines after it are read as usual."""
    for number, line in read_lines(stream):
        row = _parse_json_line(number, line)
        if row is not None:
            yield row


def _parse_json_line(number: int, line: bytes | None) -> ParsedRow | None:
    if line is None:
        return ImportRowError(line=number, field="line", reason=_too_long())
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ImportRowError(line=number, field="line", reason=_not_utf8(exc))
    if not text.strip():
        return None
    if nests_deeper_than(text, MAX_NESTING):
        reason = f"is nested too deeply (rows are flat; more than {MAX_NESTING} levels)"
        return ImportRowError(line=number, field="line", reason=reason)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ImportRowError(line=number, field="line", reason=f"is not valid JSON ({exc.msg})")
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        return ImportRowError(line=number, field="line", reason=f"is not valid JSON ({exc})")
    if not isinstance(data, dict):
        return ImportRowError(line=number, field="line", reason="is not a JSON object")
    return ImportRow(number, data)


def nests_deeper_than(text: str, limit: int) -> bool:
    """Whether a JSON text's arrays and objects nest deeper than `limit`, found without parsing
    it (brackets inside strings do not count)."""
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def _too_long() -> str:
    return f"is longer than {MAX_LINE_BYTES:,} bytes"


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"is not UTF-8 text (byte {exc.start + 1} of the line)"


def build_order_from_row(data: dict[str, Any]) -> OrderCreate | FieldError:
    """A flat label row becomes an order with one shipment; the first problem is returned."""
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


def validate_row(row: ParsedRow) -> ValidRow | ImportRowError:
    """The row as an order ready to store, or the row's first problem."""
    if isinstance(row, ImportRowError):
        return row
    try:
        order = build_order_from_row(row.data)
    except Exception as exc:
        return unexpected_row_error(row.line, exc, doing="validating")
    if isinstance(order, FieldError):
        return ImportRowError(line=row.line, field=order.field, reason=order.reason)
    return ValidRow(row.line, order)


@dataclass(slots=True)
class ImportTally:
    """What an import has done, counting committed chunks only. It lists the first
    `listed_limit` rejected rows (None: all of them) and counts the rest."""

    listed_limit: int | None = None
    rows: int = 0
    stored: int = 0
    unchanged: int = 0
    rejected_total: int = 0
    rejected: list[ImportRowError] = field(default_factory=list)
    warnings: list[ImportRowWarning] = field(default_factory=list)
    through_line: int = 0  # every line up to here is stored, unchanged or rejected

    def add_chunk(self, chunk: Sequence[ValidRow | ImportRowError], outcome: ChunkOutcome) -> None:
        self.rows += len(chunk)
        self.stored += outcome.stored
        self.unchanged += outcome.unchanged
        errors = [r for r in chunk if isinstance(r, ImportRowError)] + outcome.rejected
        self.rejected_total += len(errors)
        room = len(errors) if self.listed_limit is None else self.listed_limit - len(self.rejected)
        self.rejected.extend(sorted(errors, key=lambda e: e.line)[: max(room, 0)])
        self.warnings += outcome.warnings
        self.through_line = chunk[-1].line


async def import_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Iterable[ParsedRow],
    *,
    context: Callable[[], service.IngestContext],
    tally: ImportTally,
    on_chunk: Callable[[ImportTally], None] | None = None,
) -> ImportTally:
    """Validates and stores `rows` chunk by chunk, committing each chunk in a transaction of its
    own. The database failing is raised, and `tally` then says how far the import got."""
    validated = (validate_row(row) for row in rows)

    def read_chunk() -> list[ValidRow | ImportRowError]:
        return list(islice(validated, CHUNK_ROWS))

    # The next chunk is read and validated in a thread while this one is stored, so Python's
    # work on it overlaps the database's; one chunk ahead at most, so memory stays bounded.
    ahead = asyncio.ensure_future(asyncio.to_thread(read_chunk))
    try:
        while chunk := await ahead:
            ahead = asyncio.ensure_future(asyncio.to_thread(read_chunk))
            valid = [row for row in chunk if isinstance(row, ValidRow)]
            stored = await _store_and_commit(sessionmaker, valid, context) if valid else None
            tally.add_chunk(chunk, stored or ChunkOutcome())
            if on_chunk is not None:
                on_chunk(tally)
    finally:
        # Stopped early: the thread is done with the stream before the caller closes it, and
        # what it raised is set aside (the error that stopped the import is the one raised).
        await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()
    return tally


async def _store_and_commit(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Sequence[ValidRow],
    context: Callable[[], service.IngestContext],
) -> ChunkOutcome:
    attempt = 1
    while True:
        try:
            async with db.session_scope(sessionmaker) as session:
                return await store_chunk(session, rows, context=context())
        except DBAPIError as exc:
            if attempt == CHUNK_ATTEMPTS or not db.is_transient_conflict(exc):
                raise
            logger.warning(
                "import: lines %d-%d rolled back (%s), storing them again",
                rows[0].line,
                rows[-1].line,
                type(exc.orig).__name__,
            )
            attempt += 1
