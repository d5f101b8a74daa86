"""A database that goes away mid-request answers 503 with Retry-After (a 503 page for pages),
logged once without secrets. The database is really unreachable here: an engine aimed at a
closed port or an unopenable file, a pool with no free connection, and a PostgreSQL backend
terminated while the request runs."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy.ext.asyncio import create_async_engine

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.database_outage import RETRY_AFTER_SECONDS
from app.main import create_app
from app.settings import Settings
from app.shipments.models import Order
from tests.conftest import throwaway_database
from tests.factories import order_payload
from tests.support.live_app import free_port

PASSWORD = "s3cret-pw"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def unreachable_url(backend: str, tmp_path: Path) -> str:
    if backend == "postgres":  # nothing listens on a port we just freed
        return f"postgresql+psycopg://firstscan:{PASSWORD}@127.0.0.1:{free_port()}/firstscan"
    return f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'firstscan.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
async def cut_off(request, tmp_path, caplog) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose database cannot be reached at all."""
    url = unreachable_url(request.param, tmp_path)
    engine = db.create_engine(url)
    app = create_app(Settings(database_url=url, secret_key="k"), engine=engine)
    transport = httpx.ASGITransport(app=app)  # raises whatever escapes the app
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        caplog.clear()
        yield client
    await engine.dispose()


def assert_logged_once_without_secrets(caplog, route: str) -> None:
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in records] == ["app.database_outage"]
    assert route in records[0].getMessage()
    assert PASSWORD not in caplog.text
    assert "SELECT" not in caplog.text


async def test_the_api_answers_503_with_retry_after(cut_off, caplog):
    response = await cut_off.get("/v1/orders/FS-1", headers={"Authorization": "Bearer fsk_x"})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["type"].endswith("/database-unavailable")
    assert_logged_once_without_secrets(caplog, "/v1/orders/{order_number}")


async def test_the_public_status_answers_503_too(cut_off, caplog):
    response = await cut_off.get("/v1/public/status/FS-1", params={"postal_code": "97211"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert_logged_once_without_secrets(caplog, "/v1/public/status/{order_number}")


async def test_the_customer_page_answers_a_503_page(cut_off, caplog):
    response = await cut_off.post("/track/FS-1", data={"postal_code": "97211"})

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "Please try again in a minute" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert_logged_once_without_secrets(caplog, "/track/{order_number}")


async def test_console_sign_in_answers_a_503_page(cut_off, caplog):
    form = await cut_off.get("/console/sign-in")  # needs no database
    token = CSRF.search(form.text).group(1)
    caplog.clear()

    response = await cut_off.post(
        "/console/sign-in", data={"api_key": "fsk_x", "csrf_token": token}
    )

    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert_logged_once_without_secrets(caplog, "/console/sign-in")


async def test_readiness_says_unavailable(cut_off):
    response = await cut_off.get("/readyz")

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


async def test_a_pool_with_no_free_connection_answers_503(database_url, caplog):
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    app = create_app(Settings(database_url=database_url, secret_key="k"), engine=engine)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            engine.connect(),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            caplog.clear()
            response = await client.get("/v1/public/status/FS-1", params={"postal_code": "1"})
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert_logged_once_without_secrets(caplog, "/v1/public/status/{order_number}")


@pytest.fixture
def postgres_url(tmp_path) -> AsyncIterator[str]:
    with throwaway_database("postgres", tmp_path) as url:
        migrate.upgrade(url)
        yield url


def terminate_backends_on(statement_start: str, url: str):
    """A before_cursor_execute hook that, the first time a statement starting with
    `statement_start` is about to run, terminates every backend of the database (as a
    PostgreSQL restart or an operator would) and waits until they are gone."""
    admin = db_admin_dsn(url)
    fired: list[str] = []

    def hook(conn, cursor, statement, *args):
        if fired or not statement.lstrip().startswith(statement_start):
            return
        fired.append(statement)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    return hook, fired


def db_admin_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.mark.postgres
async def test_a_backend_killed_mid_request_is_503_and_the_retry_succeeds(
    postgres_url, caplog, clock
):
    engine = db.create_engine(postgres_url)
    async with db.session_scope(db.create_sessionmaker(engine)) as session:
        _, key = await auth_service.create_key(session, role=Role.INGEST, name="t", actor="t")
    settings = Settings(database_url=postgres_url, secret_key="k")
    app = create_app(settings, engine=engine, clock=clock)
    hook, fired = terminate_backends_on("INSERT INTO orders", postgres_url)
    event.listen(engine.sync_engine, "before_cursor_execute", hook)
    body = order_payload(order_number="KILL-1")
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            caplog.clear()
            killed = await client.post("/v1/orders", json=body, headers=headers)
            records = [r for r in caplog.records if r.levelno >= logging.WARNING]
            async with db.session_scope(db.create_sessionmaker(engine)) as session:
                stored_after_kill = await session.scalar(select(func.count()).select_from(Order))
            retried = await client.post("/v1/orders", json=body, headers=headers)
    finally:
        await engine.dispose()

    assert fired, f"the hook never ran: the test killed nothing ({killed.text})"
    assert killed.status_code == 503, killed.text
    assert killed.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert [r.name for r in records] == ["app.database_outage"]
    assert stored_after_kill == 0
    assert retried.status_code == 201


@pytest.mark.postgres
async def test_a_backend_killed_during_a_page_is_a_503_page(postgres_url, caplog):
    engine = db.create_engine(postgres_url)
    app = create_app(Settings(database_url=postgres_url, secret_key="k"), engine=engine)
    hook, fired = terminate_backends_on("SELECT", postgres_url)
    event.listen(engine.sync_engine, "before_cursor_execute", hook)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            response = await client.post("/track/FS-1", data={"postal_code": "97211"})
            after = await client.post("/track/FS-1", data={"postal_code": "97211"})
    finally:
        await engine.dispose()

    assert fired
    assert response.status_code == 503
    assert "Please try again in a minute" in response.text
    assert after.status_code == 404  # the pool recovered: an ordinary unknown order


async def test_any_other_database_error_is_still_a_500(settings, engine, sessionmaker, clock):
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=clock)

    @app.get("/broken-sql")
    async def broken_sql() -> None:
        raise sqlalchemy_errors.ProgrammingError("SELECT nope", {}, psycopg.ProgrammingError("x"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/broken-sql")

    assert response.status_code == 500
    assert response.json()["title"] == "Internal server error"
