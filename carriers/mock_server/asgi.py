"""Just enough raw ASGI to serve JSON: carriers/ may not import starlette."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSONValue = Any  # JSON documents are built as plain dicts and lists


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def json(self) -> JSONValue:
        """Returns the body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """Returns an application/x-www-form-urlencoded body as a dict (last value wins)."""
        fields = parse_qs(self.body.decode("latin-1"), keep_blank_values=True)
        return {name: values[-1] for name, values in fields.items()}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


def json_response(
    status: int, document: JSONValue, headers: Mapping[str, str] | None = None
) -> Response:
    """Returns `document` serialised as the carriers send it: compact UTF-8 JSON."""
    body = json.dumps(document, separators=(",", ":")).encode()
    return Response(status, body, headers=headers or {})


async def read_request(scope: Scope, receive: Receive) -> Request:
    """Returns the whole HTTP request; bodies here are small, so it is read in one go."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return Request(
        method=scope["method"],
        path=scope["path"],
        query={name: values[-1] for name, values in query.items()},
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        body=b"".join(chunks),
    )


async def send_response(send: Send, response: Response) -> None:
    """Sends `response` as one HTTP response with a correct content length."""
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in response.headers.items()),
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledges lifespan startup and shutdown; the app holds no resources to open."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
