from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.deps import SessionDep
from app.orderfile.rows import OrderFileReader


async def get_order_file_reader(request: Request, session: SessionDep) -> OrderFileReader:
    # The pool exists under `firstscan serve` on PostgreSQL; tests and SQLite read through the
    # request's session.
    return OrderFileReader(session=session, pool=getattr(request.app.state, "read_pool", None))


OrderFileReaderDep = Annotated[OrderFileReader, Depends(get_order_file_reader)]
