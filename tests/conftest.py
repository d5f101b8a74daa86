"""Shared fixtures. Every database test runs on SQLite and, when FIRSTSCAN_TEST_DATABASE_URL is
set, again on a throwaway PostgreSQL database migrated with Alembic. Each test runs inside an
outer transaction that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.main import create_app
from app.settings import Settings, normalize_database_url

POSTGRES_ENV = "FIRSTSCAN_TEST_DATABASE_URL"
REQUIRE_POSTGRES_ENV = "FIRSTSCAN_REQUIRE_POSTGRES"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "") not in ("", "0", "false")


_postgres_passed: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_passed.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(f"PostgreSQL tests passed: {len(_postgres_passed)}")
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "postgres" in r.keywords]
    if skipped and not os.environ.get(POSTGRES_ENV):
        terminalreporter.write_line(
            f"{len(skipped)} PostgreSQL tests skipped: set {POSTGRES_ENV} to run them, e.g. "
            f"{POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test make test"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With FIRSTSCAN_REQUIRE_POSTGRES set, a run in which no PostgreSQL test passed fails."""
    if postgres_required() and not _postgres_passed and session.testscollected:
        print(  # noqa: T201 - the one line CI must show
            "\nFAILED: FIRSTSCAN_REQUIRE_POSTGRES is set but no PostgreSQL test passed"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _create_postgres_database(base_url: str) -> tuple[str, str]:
    url = make_url(normalize_database_url(base_url))
    name = f"firstscan_test_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin_dsn


def _drop_postgres_database(admin_dsn: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database of `backend`, dropped afterwards. Without a PostgreSQL server the
    PostgreSQL variant skips, unless FIRSTSCAN_REQUIRE_POSTGRES demands it (then it fails)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if postgres_required():
            pytest.fail(f"{REQUIRE_POSTGRES_ENV} is set but {POSTGRES_ENV} is not")
        pytest.skip(f"set {POSTGRES_ENV} to run the PostgreSQL tests")
    try:
        url, admin_dsn = _create_postgres_database(base)
    except psycopg.OperationalError as exc:
        if postgres_required():
            pytest.fail(f"cannot reach PostgreSQL at {POSTGRES_ENV}: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield url
    finally:
        _drop_postgres_database(admin_dsn, url)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database of each backend, shared by the session."""
    with throwaway_database(request.param, tmp_path_factory.mktemp("db")) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, unmigrated database of each backend, for tests that commit for real."""
    with throwaway_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def committing_sessionmaker(
    empty_database_url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on their own connections of a fresh, migrated database whose commits are real:
    for code that runs several transactions at once (workers, dispatchers)."""
    migrate.upgrade(empty_database_url)
    engine = db.create_engine(empty_database_url, pool_size=10)
    yield db.create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions bound to one connection whose outer transaction is rolled back after the test;
    a session's commit only releases a savepoint."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        await outer.rollback()


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 17, 15, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_body_bytes=1024 * 1024)


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, sessionmaker, clock: FixedClock):  # type: ignore[no-untyped-def]
    return create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=clock)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def api_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """A raw key for each role."""
    keys: dict[str, str] = {}
    async with sessionmaker() as session:
        for role in Role:
            _, raw = await auth_service.create_key(
                session, role=role, name=f"test-{role.value}", actor="tests"
            )
            keys[role.value] = raw
        await session.commit()
    return keys


@pytest.fixture
def auth(api_keys: dict[str, str]):  # type: ignore[no-untyped-def]
    """auth('ingest') -> headers carrying that role's key."""

    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_keys[role]}"}

    return headers
