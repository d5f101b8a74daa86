from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from app.auth import service as auth_service
from app.auth.cache import KEY_CACHE_LIFETIME
from tests.factories import order_payload


async def test_a_request_without_a_key_is_401_with_a_bearer_challenge(client):
    response = await client.get("/v1/lookup/ANY")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["title"] == "Unauthenticated"


async def test_an_unknown_key_is_401(client):
    response = await client.get("/v1/lookup/ANY", headers={"Authorization": "Bearer fsk_nope"})

    assert response.status_code == 401


async def test_a_non_bearer_scheme_is_401(client, api_keys):
    response = await client.get(
        "/v1/lookup/ANY", headers={"Authorization": f"Basic {api_keys['admin']}"}
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        ("agent", "POST", "/v1/orders", 403),
        ("ops", "POST", "/v1/orders", 403),
        ("ingest", "GET", "/v1/lookup/ANY", 403),
        ("agent", "GET", "/v1/lookup/ANY", 404),
        ("ops", "GET", "/v1/lookup/ANY", 404),
        ("admin", "GET", "/v1/lookup/ANY", 404),
    ],
)
async def test_each_role_reaches_only_its_routes(client, auth, role, method, path, expected):
    kwargs = {"json": order_payload()} if method == "POST" else {}

    response = await client.request(method, path, headers=auth(role), **kwargs)

    assert response.status_code == expected, response.text


async def test_the_admin_role_may_also_ingest(client, auth):
    response = await client.post("/v1/orders", json=order_payload(), headers=auth("admin"))

    assert response.status_code == 201


async def test_a_forbidden_answer_says_which_roles_would_do(client, auth):
    response = await client.post("/v1/orders", json=order_payload(), headers=auth("agent"))

    assert "admin, ingest" in response.json()["detail"]


async def revoke(sessionmaker, raw_key: str, now) -> None:
    async with sessionmaker() as session:
        principal = await auth_service.authenticate(session, raw_key=raw_key, now=now)
        await auth_service.revoke_key(session, key_id=principal.key_id, actor="test", now=now)
        await session.commit()


async def test_a_revoked_key_not_seen_since_is_refused_at_once(
    client, auth, sessionmaker, api_keys, clock
):
    await revoke(sessionmaker, api_keys["agent"], clock.now)

    response = await client.get("/v1/lookup/X", headers=auth("agent"))

    assert response.status_code == 401


async def test_a_revoked_key_stops_working_within_the_key_caches_lifetime(
    client, auth, sessionmaker, api_keys, clock
):
    assert (await client.get("/v1/lookup/X", headers=auth("agent"))).status_code == 404
    await revoke(sessionmaker, api_keys["agent"], clock.now)

    clock.now += KEY_CACHE_LIFETIME - timedelta(microseconds=1)
    still_cached = await client.get("/v1/lookup/X", headers=auth("agent"))
    clock.now += timedelta(microseconds=1)
    refused = await client.get("/v1/lookup/X", headers=auth("agent"))

    assert still_cached.status_code == 404
    assert refused.status_code == 401


async def test_a_key_seen_within_the_lifetime_costs_no_query(client, auth, engine):
    assert (await client.get("/v1/lookup/X", headers=auth("agent"))).status_code == 404
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "api_keys" in statement:
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        assert (await client.get("/v1/lookup/X", headers=auth("agent"))).status_code == 404
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert statements == []


async def test_keys_are_stored_only_as_hashes(sessionmaker, api_keys):
    from sqlalchemy import select

    from app.auth.models import ApiKey

    async with sessionmaker() as session:
        stored = (await session.execute(select(ApiKey.key_hash, ApiKey.prefix))).all()
    raw_keys = set(api_keys.values())
    assert all(key_hash not in raw_keys for key_hash, _ in stored)
    assert {prefix for _, prefix in stored} == {raw[:12] for raw in raw_keys}


async def test_last_used_is_recorded_at_most_every_few_minutes(sessionmaker, api_keys, clock):
    async with sessionmaker() as session:
        first = await auth_service.authenticate(session, raw_key=api_keys["ops"], now=clock.now)
        later = clock.now + timedelta(minutes=1)
        await auth_service.authenticate(session, raw_key=api_keys["ops"], now=later)
        from app.auth import repository

        key = await repository.get_key(session, first.key_id)
        await session.refresh(key)
        assert key.last_used_at == clock.now


async def test_health_needs_no_key_and_readiness_checks_the_database(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


async def test_a_failed_commit_is_reported_not_answered_as_success(app, auth, sessionmaker):
    import httpx

    from tests.factories import order_payload

    class FailingCommit:
        def __init__(self) -> None:
            self.inner = sessionmaker()

        async def __aenter__(self):
            session = await self.inner.__aenter__()

            async def refuse() -> None:
                raise RuntimeError("the database went away at commit")

            session.commit = refuse
            return session

        async def __aexit__(self, *exc):
            return await self.inner.__aexit__(*exc)

    headers = auth("ingest")
    app.state.sessionmaker = FailingCommit

    # Starlette re-raises after sending its 500; the client must see that 500, not a 201.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/v1/orders", json=order_payload(), headers=headers)

    assert response.status_code == 500
    assert response.json()["title"] == "Internal server error"


async def test_a_wrong_role_is_told_what_the_route_is_for(client, auth):
    alerts = await client.get("/v1/alerts", headers=auth("ingest"))
    lookup = await client.get("/v1/lookup/ANY", headers=auth("ingest"))

    assert alerts.status_code == lookup.status_code == 403
    assert "cannot read alerts" in alerts.json()["detail"]
    assert "cannot read orders" in lookup.json()["detail"]
