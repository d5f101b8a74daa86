"""The headers every response carries: API, pages, static files and errors alike.

The pages run no JavaScript, so the policy allows nothing but our own stylesheet and images, and
forms that post back to us. No site may frame a page (clickjacking on /track and the console),
no browser may guess a type other than the one we send, and no page sends a Referer, so a signed
/track/t/... link never reaches another site. A response that sets its own policy keeps it
(Swagger UI at /docs needs one of its own: app/api_docs.py).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "Content-Security-Policy"
PAGE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    CONTENT_SECURITY_POLICY: PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Adds each of SECURITY_HEADERS that a response does not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
