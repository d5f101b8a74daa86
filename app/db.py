"""The database kernel: tables' base, engines and sessions, the units of work, and the locking
helpers every writer uses.

Every writer takes its locks in one order, written down in docs/locking.md: advisory keys, then
orders by id, then legs by id, then alerts, then the rest. Rows are locked FOR NO KEY UPDATE
(`lock_rows`), never FOR UPDATE, so that a foreign-key check (FOR KEY SHARE) never waits. Where
a lock race is still possible, the unit of work runs again (`retry_on_conflict`; requests:
`app.replay`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import asyncpg
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Table,
    cast,
    event,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.selectable import GenerativeSelect
from sqlalchemy.types import TypeDecorator, TypeEngine

logger = logging.getLogger("app.db")
P = ParamSpec("P")
T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=GenerativeSelect)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Tables that grow without bound get 64-bit ids; SQLite only autoincrements a plain INTEGER key.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware: SQLite drops the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys, WAL and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


async def create_read_pool(url: str, *, size: int) -> asyncpg.Pool | None:
    """An asyncpg pool for the read paths people wait on (app.orderfile.rows), None on SQLite.
    It connects on first use (min_size 0), as the engine does, so the API starts without the
    database and recovers when it returns."""
    if url.startswith("sqlite"):
        return None
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.create_pool(dsn, min_size=0, max_size=size, reset=_keep_session)


async def _keep_session(_connection: asyncpg.Connection) -> None:
    # The read pool runs single SELECTs and never changes a session's state (no SET, LISTEN,
    # advisory lock or cursor), so the default reset query on release (RESET ALL, UNLISTEN *,
    # ...) would be a round trip per read that resets nothing. asyncpg still rolls back an open
    # transaction and drops listeners before calling this.
    return None


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Take transactions out of pysqlite's hands so SAVEPOINTs work and writers queue on the lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # SQLite allows one writer; taking the lock up front makes a second writer wait (busy_timeout)
    # instead of failing when its read turns into a write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """The unit of work for jobs and commands: commit on success, roll back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def lock_for_update(session: AsyncSession, keys: list[str]) -> None:
    """Serializes writers that touch the same logical keys (PostgreSQL advisory locks).

    SQLite needs nothing: its one writer already holds the database lock (BEGIN IMMEDIATE).
    Keys are taken in sorted order so two writers can never deadlock on them; they come before
    any row lock (docs/locking.md), so a unit of work with several sets of keys (an import's
    chunk) takes them all at once, first.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not keys:
        return
    # One statement for them all: a function scan of an array yields its elements in order, so
    # the keys are still taken one at a time in Python's sorted order (not the collation's).
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0))"
            " FROM unnest(CAST(:keys AS text[])) AS key"
        ),
        {"keys": array_literal(sorted(set(keys)))},
    )


async def insert_arrays(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, returning_ids: bool
) -> list[int]:
    """Inserts `rows` (all with the same keys) in one statement of one array a column
    (PostgreSQL only): its text is the same whatever the number of rows, so it is parsed once.
    With `returning_ids`, the new ids in the order of `rows` (ids are drawn in insertion order,
    which follows the arrays')."""
    if not rows:
        return []
    names = list(rows[0])
    arrays, selected, params = _unnested(session, table, rows)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(selected)}"
        f" FROM {arrays} ORDER BY u.ordinality"
    )
    if not returning_ids:
        await session.execute(text(sql), params)
        return []
    return sorted((await session.execute(text(f"{sql} RETURNING id"), params)).scalars())


async def update_arrays(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Updates rows by their `id` (each of `rows` has it and the same other keys) in one
    statement of one array a column (PostgreSQL only), where an executemany of thousands of
    rows costs a round trip each."""
    if not rows:
        return
    names = list(rows[0])
    arrays, selected, params = _unnested(session, table, rows)
    assignments = [
        f"{name} = {value}" for name, value in zip(names, selected, strict=True) if name != "id"
    ]
    id_value = selected[names.index("id")]
    await session.execute(
        text(
            f"UPDATE {table.name} SET {', '.join(assignments)} FROM {arrays}"
            f" WHERE {table.name}.id = {id_value}"
        ),
        params,
    )


def _unnested(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> tuple[str, list[str], dict[str, str]]:
    """`unnest(...) WITH ORDINALITY AS u(...)` of `rows`' columns, each column's value as
    selected from it, and the parameters (one array literal a column)."""
    dialect = session.get_bind().dialect
    params: dict[str, str] = {}
    casts, selected = [], []
    for i, name in enumerate(rows[0]):
        kind = table.c[name].type
        params[f"c{i}"] = array_literal([row[name] for row in rows])
        if isinstance(kind, JSON):  # each element arrives as JSON text
            casts.append(f"CAST(:c{i} AS TEXT[])")
            selected.append(f"CAST(u.c{i} AS JSON)")
        else:
            casts.append(f"CAST(:c{i} AS {kind.compile(dialect=dialect)}[])")
            selected.append(f"u.c{i}")
    arrays = f"unnest({', '.join(casts)}) WITH ORDINALITY AS u({', '.join(params)}, ordinality)"
    return arrays, selected, params


def array_param(values: Sequence[Any], kind: TypeEngine[Any]) -> ColumnElement[Any]:
    """`values` as one bound array of `kind` in an expression (PostgreSQL): one literal, which
    costs the same to bind whatever the count (integer kinds: ids, never None)."""
    text = integer_array_literal(values) if isinstance(kind, Integer) else array_literal(values)
    return cast(literal(text), ARRAY(kind))


def integer_array_literal(values: Sequence[int]) -> str:
    """`array_literal` of integers, without its per-element checks (ids by the ten thousand)."""
    return "{" + ",".join(map(str, values)) + "}"


def array_literal(values: Sequence[Any]) -> str:
    """`values` as the text of a PostgreSQL array (cast it to the element type in SQL): one
    string, which psycopg sends as it is, where it would dump a list element by element (a
    timestamp is the slowest). Dicts and lists become JSON; datetimes must be aware."""
    texts: dict[object, str] = {}  # a chunk repeats its instants and labels: each written once
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif isinstance(value, dict | list):
            parts.append(_quoted(json.dumps(value)))
        else:
            key = (type(value), value)
            if key not in texts:
                texts[key] = _quoted(_element_text(value))
            parts.append(texts[key])
    return "{" + ",".join(parts) + "}"


def _element_text(value: object) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("naive datetime given for a UTC column")
    isoformat = getattr(value, "isoformat", None)  # dates and datetimes
    return str(isoformat() if callable(isoformat) else value)


def _quoted(element: str) -> str:
    return '"' + element.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lock_rows(stmt: SelectT, *, of: Any = None, skip_locked: bool = False) -> SelectT:
    """`stmt` locking the rows it reads as every writer does: FOR NO KEY UPDATE, which still lets
    other transactions insert rows that refer to them (docs/locking.md). SQLite renders nothing:
    its one writer holds the whole database."""
    return stmt.with_for_update(key_share=True, of=of, skip_locked=skip_locked)


# serialization_failure and deadlock_detected: PostgreSQL rolled the transaction back only
# because of another one, so the same work can simply run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# SQLITE_BUSY and SQLITE_LOCKED (primary codes; the extended ones add higher bits).
_SQLITE_BUSY_CODES = frozenset({5, 6})
# Tries in all, for a job's unit of work and for a request (app.replay).
CONFLICT_ATTEMPTS = 3
CONFLICT_PAUSE_SECONDS = 0.05


def is_transient_conflict(error: BaseException) -> bool:
    """True when the transaction failed only because another got in the way (a deadlock, a
    serialization failure, SQLite busy): the same work may run again."""
    seen: BaseException | None = error
    for _ in range(5):  # the error itself and what it wraps
        if seen is None:
            return False
        if isinstance(seen, DBAPIError):
            original = seen.orig
            if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
                return True
            code = getattr(original, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF in _SQLITE_BUSY_CODES:
                return True
        seen = seen.__cause__
    return False


def conflict_pause(attempt: int) -> float:
    """Seconds to wait before try `attempt + 1`: full jitter over a doubling ceiling, so the
    transactions that collided do not collide again."""
    return random.uniform(0, CONFLICT_PAUSE_SECONDS * 2**attempt)


def retry_on_conflict(work: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Runs `work` again, up to CONFLICT_ATTEMPTS tries in all, when its transaction lost a lock
    race. `work` must own its transactions and do nothing outside them that cannot be repeated
    (a carrier call or a sent message stays outside: only the recording of it is retried)."""

    @functools.wraps(work)
    async def retrying(*args: P.args, **kwargs: P.kwargs) -> T:
        attempt = 1
        while True:
            try:
                return await work(*args, **kwargs)
            except Exception as error:
                if attempt >= CONFLICT_ATTEMPTS or not is_transient_conflict(error):
                    raise
                logger.warning(
                    "%s lost a lock race (try %d of %d), running it again: %s",
                    work.__qualname__,
                    attempt,
                    CONFLICT_ATTEMPTS,
                    str(error).splitlines()[0],
                )
            await asyncio.sleep(conflict_pause(attempt))
            attempt += 1

    return retrying


def insert_ignoring_duplicates(session: AsyncSession, table: Any, *, unique: list[str]) -> Any:
    """INSERT ... ON CONFLICT (unique) DO NOTHING for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=unique)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=unique)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which offers on_conflict_do_update on PostgreSQL and SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
