"""JSON answers shaped the way the carriers send them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JSONValue = Any  # JSON documents are built as plain dicts and lists


def json_response(
    status: int, document: JSONValue, headers: Mapping[str, str] | None = None
) -> Response:
    """Returns `document` serialised as the carriers send it: compact JSON."""
    body = json.dumps(document, separators=(",", ":"))
    return Response(body, status, headers=headers, media_type="application/json")


async def not_found(request: Request, exc: Exception) -> Response:
    """Answers a path no carrier serves, as a problem document."""
    return json_response(404, {"title": "Not Found", "status": 404})


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """Answers a known path asked with the wrong method, as a problem document."""
    return json_response(405, {"title": "Method Not Allowed", "status": 405})
