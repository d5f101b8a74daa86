"""The stack's own limit for bench.lookup: a bare FastAPI endpoint doing one primary-key query
through an asyncpg pool on a table of the benchmark world's size, nothing else.

    uvicorn bench.lookup_bare:app   (BARE_DATABASE_URL names the database)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException

TABLE = "bare_items"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["BARE_DATABASE_URL"], min_size=10, max_size=10
    )
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def read_item(item_id: int) -> dict[str, Any]:
    row = await app.state.pool.fetchrow(
        f"SELECT id, number, payload FROM {TABLE} WHERE id = $1", item_id
    )
    if row is None:
        raise HTTPException(404)
    return dict(row)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
