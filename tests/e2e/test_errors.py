"""Problem documents never echo the request's path (once the `instance` member)."""

from __future__ import annotations

import pytest

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
