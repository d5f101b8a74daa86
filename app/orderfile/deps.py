from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request

from app import db
from app.deps import SessionDep
from app.orderfile.rows import OrderFileReader


def _read_pool(request: Request) -> Any | None:
    # The pool exists under `firstscan serve` on PostgreSQL; tests and SQLite read through a
    # session.
    return getattr(request.app.state, "read_pool", None)


async def get_order_file_reader(request: Request, session: SessionDep) -> OrderFileReader:
    return OrderFileReader(session=session, pool=_read_pool(request))


async def get_read_only_order_file_reader(request: Request) -> AsyncIterator[OrderFileReader]:
    """For a route that reads order files and nothing else: with the pool, no session is made
    at all (making and committing an unused one cost about 0.1 ms a request); without it, a
    session of the reader's own."""
    pool = _read_pool(request)
    if pool is not None:
        yield OrderFileReader(session=None, pool=pool)
        return
    async with db.session_scope(request.app.state.sessionmaker) as session:
        yield OrderFileReader(session=session, pool=None)


# For routes that also use the request's session (keys, writes): the reader shares it.
OrderFileReaderDep = Annotated[OrderFileReader, Depends(get_order_file_reader)]
ReadOnlyOrderFileReaderDep = Annotated[OrderFileReader, Depends(get_read_only_order_file_reader)]
