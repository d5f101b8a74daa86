"""Problem documents never echo the request's path (once the `instance` member)."""

from __future__ import annotations

import httpx
import pytest

from app.main import create_app

PROBE = "zz-%3Cscript%3Ealert(1)%3C%2Fscript%3E"


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", f"/v1/{PROBE}", 404),  # no such route
        ("GET", f"/{PROBE}", 404),
        ("DELETE", "/v1/orders/FS-1", 405),
        ("GET", f"/v1/alerts?order={PROBE}", 422),  # a parameter's validation
    ],
)
async def test_a_problem_document_does_not_echo_the_path(client, auth, method, url, status):
    response = await client.request(method, url, headers=auth("agent"))

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert "instance" not in response.json()
    assert "script" not in response.text


async def test_a_500_is_logged_with_the_route_template_not_the_path(
    settings, engine, sessionmaker, clock, caplog
):
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=clock)

    @app.get("/boom/{secret}")
    async def boom(secret: str) -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom/signed-token-123")

    assert response.status_code == 500
    assert "unhandled error on GET /boom/{secret}" in caplog.text
    assert "signed-token-123" not in caplog.text
