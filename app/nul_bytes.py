"""NUL bytes in what a request names (its path, its query, its form fields) stand in as SUB.

PostgreSQL refuses NUL in text outright, so a NUL that reached a query was a 500 whatever the
route meant to answer. Nothing stored can contain a NUL (every write refuses control
characters), so a value with one names nothing that exists. This middleware replaces each NUL
with SUB (U+001A, the ASCII character meant to stand in for an invalid one): every database
takes it, it matches nothing stored, and it still fails every pattern that refuses control
characters. Each route then gives its own answer for an unknown value (404, its "not found" page,
an empty list, a 422 naming the parameter), from one place, for routes not yet written too.

JSON bodies are left alone: their models refuse control characters field by field.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL = "\x00"
SUB = "\x1a"
_URLENCODED = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"


class NulByteReplacement:
    """Replaces NUL with SUB in the path, the query string and form bodies (same lengths)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # In place, like any ASGI middleware that rewrites the request: the middlewares outside
        # (the 500 handler's) then see the route the router matched.
        scope["path"] = scope["path"].replace(NUL, SUB)
        if "raw_path" in scope and scope["raw_path"] is not None:
            scope["raw_path"] = _replace_encoded(scope["raw_path"])
        scope["query_string"] = _replace_encoded(scope.get("query_string", b""))
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if content_type.startswith(_URLENCODED):
            receive = _replacing_receive(receive, encoded=True)
        elif content_type.startswith(_MULTIPART):
            receive = _replacing_receive(receive, encoded=False)
        await self.app(scope, receive, send)


def _replace_encoded(data: bytes) -> bytes:
    """Percent-encoded NUL (%00) and raw NUL both become SUB, in the same form."""
    return data.replace(b"%00", b"%1A").replace(b"\x00", b"\x1a")


def _replacing_receive(receive: Receive, *, encoded: bool) -> Receive:
    """`receive` with NUL replaced in each body chunk. A '%00' split across two chunks is caught
    by holding back a trailing '%' or '%0' until the next chunk arrives."""
    held = b""

    async def replacing() -> Message:
        nonlocal held
        message = await receive()
        if message["type"] != "http.request":
            return message
        data = held + message.get("body", b"")
        held = b""
        more = message.get("more_body", False)
        if not encoded:
            return {**message, "body": data.replace(b"\x00", b"\x1a")}
        if more and data.endswith((b"%", b"%0")):
            cut = data.rindex(b"%")
            data, held = data[:cut], data[cut:]
        return {**message, "body": _replace_encoded(data)}

    return replacing
