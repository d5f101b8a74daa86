"""Schemathesis generates requests from our own OpenAPI document, valid and invalid, and sends
them to the real app over loopback: no input may produce a 5xx, and every 4xx is problem
details. Runs against a fresh SQLite database (and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.main import create_app
from app.settings import Settings
from tests.conftest import BACKENDS, throwaway_database
from tests.support.waiting import wait_until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _admin_key(url: str) -> str:
    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            _, raw = await auth_service.create_key(session, role=Role.ADMIN, name="fuzz", actor="t")
            return raw
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_database_url(request, tmp_path_factory) -> Iterator[str]:
    with throwaway_database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        yield url


@pytest.fixture(scope="module")
def live_api(fuzz_database_url) -> Iterator[tuple[str, str]]:
    url = fuzz_database_url
    migrate.upgrade(url)
    key = asyncio.run(_admin_key(url))
    port = _free_port()
    app = create_app(Settings(database_url=url, webhook_secret="fuzz-secret"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: bool(server.started), within=10, what="the API's start")
    yield f"http://127.0.0.1:{port}", key
    server.should_exit = True
    thread.join(timeout=10)


SCHEMA = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_request_makes_the_api_fail(label, live_api):
    base, key = live_api
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case):
        response = case.call(base_url=base, headers={"Authorization": f"Bearer {key}"})
        case.validate_response(response, checks=(not_a_server_error,))
        if 400 <= response.status_code < 500:
            content_type = response.headers["content-type"]
            if isinstance(content_type, list):
                content_type = content_type[0]
            assert content_type.startswith("application/problem+json"), content_type
            assert {"type", "title", "status", "detail"} <= response.json().keys()

    check()
