"""Keyset pages by (opened_at, id), shared by the alert and the work-item lists: the cursor a
page hands out, and the condition and order that continue from it."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select

from app.errors import FieldError, InvalidInput

PageT = TypeVar("PageT", bound=Select[*tuple[Any, ...]])  # any select, whatever it returns


def encode_cursor(opened_at: datetime, row_id: int) -> str:
    raw = f"{opened_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (opened_at, id) a cursor holds; a 422 naming `cursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        opened, row_id = raw.split("|")
        return datetime.fromisoformat(opened), int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput([FieldError("cursor", "is not a cursor this API returned")]) from None


def continue_page(
    stmt: PageT,
    opened_at: Any,
    row_id: Any,
    *,
    after: tuple[datetime, int] | None,
    newest_first: bool,
) -> PageT:
    """`stmt` ordered by (opened_at, id), oldest or newest first, from after the cursor's row."""
    if after is not None:
        opened, last_id = after
        if newest_first:
            stmt = stmt.where((opened_at < opened) | ((opened_at == opened) & (row_id < last_id)))
        else:
            stmt = stmt.where((opened_at > opened) | ((opened_at == opened) & (row_id > last_id)))
    order = (opened_at.desc(), row_id.desc()) if newest_first else (opened_at, row_id)
    return stmt.order_by(*order)
