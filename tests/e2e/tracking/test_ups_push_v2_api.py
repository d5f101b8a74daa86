"""UPS Track Alert v2 over the API: firstscan's token endpoint grants client credentials as RFC
6749 section 4.4 says (and refuses as section 5.2 words it), the receiver stores a push that
carries a valid bearer token and refuses a forged, expired or missing one, storing nothing, and
v1's credential header still works beside it."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from app.tracking.ups_push_auth import TOKEN_LIFETIME
from tests.e2e.tracking.test_carrier_push_api import PICKED_UP, UPS_CREDENTIAL, ups_event
from tests.support.push_inbox import stored_pushes

CLIENT_ID = "firstscan-ups-webhook"
CLIENT_SECRET = "0123456789abcdef0123456789abcdef-ups"
TOKEN_PATH = "/v1/push/ups/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def settings(database_url):
    return Settings(
        database_url=database_url,
        ups_push_credential=UPS_CREDENTIAL,
        ups_push_client_id=CLIENT_ID,
        ups_push_client_secret=CLIENT_SECRET,
    )


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {**FORM, "Authorization": f"Basic {encoded}"}


async def get_token(client) -> str:
    response = await client.post(
        TOKEN_PATH, content="grant_type=client_credentials", headers=basic()
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def push_v2(client, token: str, *, api_key: str | None = CLIENT_ID):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if api_key is not None:
        headers["x-api-key"] = api_key
    return await client.post("/v1/push/ups", content=ups_event(**PICKED_UP), headers=headers)


async def test_the_token_endpoint_grants_a_short_lived_bearer_token_not_to_be_stored(client):
    response = await client.post(
        TOKEN_PATH, content="grant_type=client_credentials", headers=basic()
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == TOKEN_LIFETIME.total_seconds()
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_the_token_endpoint_refuses_a_bad_secret_with_invalid_client(client, caplog):
    response = await client.post(
        TOKEN_PATH, content="grant_type=client_credentials", headers=basic(secret="guess")
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert set(response.json()) == {"error", "error_description"}
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"
    assert CLIENT_SECRET not in caplog.text


async def test_the_token_endpoint_refuses_another_grant(client):
    response = await client.post(TOKEN_PATH, content="grant_type=password", headers=basic())

    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


async def test_a_push_with_a_valid_token_is_stored_without_it(client, session):
    token = await get_token(client)

    response = await push_v2(client, token)

    assert response.status_code == 200, response.text
    [push] = await stored_pushes(session)
    stored = [str(getattr(push, column.key)) for column in push.__table__.columns]
    assert not any(token in value for value in stored)


@pytest.mark.parametrize("forge", ["forged-mac", "tampered", "expired", "api-key", "none"])
async def test_a_push_with_a_forged_expired_or_missing_token_is_401_and_stores_nothing(
    client, session, clock, forge
):
    token = await get_token(client)
    api_key = CLIENT_ID
    if forge == "tampered":
        expires, nonce, mac = token.split(".")
        token = f"{int(expires) + 60}.{nonce}.{mac}"
    elif forge == "forged-mac":
        token = token.replace(token.split(".")[2], "A" * 43)
    elif forge == "expired":
        clock.now += TOKEN_LIFETIME + timedelta(seconds=1)
    elif forge == "api-key":
        api_key = "someone-else"

    if forge == "none":
        response = await client.post(
            "/v1/push/ups",
            content=ups_event(**PICKED_UP),
            headers={"Content-Type": "application/json"},
        )
    else:
        response = await push_v2(client, token, api_key=api_key)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await stored_pushes(session) == []


async def test_v1_credential_pushes_are_still_accepted_beside_v2(client, session):
    headers = {"Content-Type": "application/json", "credential": UPS_CREDENTIAL}

    response = await client.post("/v1/push/ups", content=ups_event(**PICKED_UP), headers=headers)

    assert response.status_code == 200, response.text
    assert len(await stored_pushes(session)) == 1


async def test_without_the_client_the_token_endpoint_is_503(
    database_url, engine, sessionmaker, clock
):
    app = create_app(
        Settings(database_url=database_url, ups_push_credential=UPS_CREDENTIAL),
        engine=engine,
        sessionmaker=sessionmaker,
        clock=clock,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as v1_only:
        response = await v1_only.post(
            TOKEN_PATH, content="grant_type=client_credentials", headers=basic()
        )

    assert response.status_code == 503


async def test_the_token_endpoint_is_rate_limited_per_address_like_the_public_lookups(
    database_url, engine, sessionmaker, clock
):
    settings = Settings(
        database_url=database_url,
        ups_push_client_id=CLIENT_ID,
        ups_push_client_secret=CLIENT_SECRET,
        public_rate_limit_per_address="2/minute",
    )
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        statuses = [
            (await client.post(TOKEN_PATH, content="grant_type=x", headers=basic("a", "b")))
            for _ in range(3)
        ]

    assert [r.status_code for r in statuses] == [401, 401, 429]
    assert "Retry-After" in statuses[2].headers
