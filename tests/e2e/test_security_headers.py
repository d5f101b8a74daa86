from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from app.main import create_app
from app.security_headers import PAGE_POLICY, SECURITY_HEADERS

EXPECTED = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_the_page_policy_allows_no_script_and_no_framing():
    assert "script-src" not in PAGE_POLICY
    assert "default-src 'none'" in PAGE_POLICY
    assert "frame-ancestors 'none'" in PAGE_POLICY
    assert {k.lower(): v for k, v in SECURITY_HEADERS.items()} == EXPECTED


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/v1/orders/FS-1", 401),
        ("GET", "/v1/nowhere", 404),
        ("GET", "/v1/public/status/FS-1", 422),  # no postal code
        ("GET", "/track", 200),
        ("GET", "/track/FS-1", 200),
        ("POST", "/track", 404),
        ("GET", "/track/t/not-a-token", 404),
        ("GET", "/console/sign-in", 200),
        ("GET", "/console", 303),
        ("GET", "/static/firstscan.css", 200),
        ("GET", "/openapi.json", 200),
    ],
)
async def test_every_response_carries_the_security_headers(client, method, url, status):
    response = await client.request(method, url)

    assert response.status_code == status
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED


async def test_a_body_refused_before_the_app_carries_them_too(client):
    response = await client.post(
        "/v1/orders", content=b"{}", headers={"Content-Length": str(10 * 1024 * 1024)}
    )

    assert response.status_code == 413
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED


async def test_a_500_carries_them_too(settings, engine, sessionmaker, clock):
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=clock)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED


async def test_swagger_ui_gets_a_policy_of_its_own_with_its_inline_script_by_hash(client):
    response = await client.get("/docs")

    policy = response.headers["content-security-policy"]
    (inline,) = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"  # nothing from elsewhere
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"


async def test_swagger_uis_files_are_served_from_here(client):
    page = await client.get("/docs")
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    style = await client.get("/docs/assets/swagger-ui.css")

    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text
    assert script.status_code == style.status_code == 200
    assert len(script.content) > 100_000


async def test_there_is_one_documentation_page(client):
    assert (await client.get("/redoc")).status_code == 404


async def test_the_favicon_is_served_so_no_page_logs_a_404(client):
    icon = await client.get("/favicon.ico")
    page = await client.get("/track")

    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    assert (await client.get("/static/favicon.svg")).status_code == 200
