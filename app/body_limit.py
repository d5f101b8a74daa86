from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import HTTP_SLUGS, HTTP_TITLES, PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

TOO_LARGE = 413


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit. An HTTPException, because
    FastAPI turns any other error met while reading a body into a 400, and re-raises this one
    for the app's handler to answer 413 (the connection then closes: the rest goes unread)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(TOO_LARGE, detail=too_large_detail(max_bytes))
        self.headers = {"Connection": "close"}


def too_large_detail(max_bytes: int) -> str:
    return f"The request body exceeds the limit of {max_bytes} bytes."


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, before the app reads them whole.

    A declared Content-Length is checked up front; a chunked body is counted as it streams in.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:  # read outside the app's exception handlers
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": PROBLEM_TYPE_BASE + HTTP_SLUGS[TOO_LARGE],
                "title": HTTP_TITLES[TOO_LARGE],
                "status": TOO_LARGE,
                "detail": too_large_detail(self.max_bytes),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": TOO_LARGE,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
