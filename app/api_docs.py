"""Swagger UI at /docs, under a Content-Security-Policy of its own.

The pages' policy forbids every script, and Swagger UI is one. This one allows exactly what the
page loads: its script and stylesheet from where they are served, its one inline script by
hash, its favicon and the icons it inlines as data: URLs, and requests back to us (the OpenAPI
document, "Try it out"). Its files are served from here (the fastapi-offline package ships them),
so /docs works without the internet and every source is 'self'.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.security_headers import CONTENT_SECURITY_POLICY

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(str(resources.files("fastapi_offline") / "static"))
SWAGGER_JS_URL = f"{ASSETS_PATH}/swagger-ui-bundle.js"
SWAGGER_CSS_URL = f"{ASSETS_PATH}/swagger-ui.css"
SWAGGER_FAVICON_URL = "/favicon.ico"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_api_docs(app: FastAPI) -> None:
    """Serves /docs (create the app with docs_url=None, so FastAPI's own route is not there)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=request.scope.get("root_path", "") + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=SWAGGER_JS_URL,
            swagger_css_url=SWAGGER_CSS_URL,
            swagger_favicon_url=SWAGGER_FAVICON_URL,
        )
        page.headers[CONTENT_SECURITY_POLICY] = build_docs_policy(bytes(page.body).decode())
        return page


def build_docs_policy(html: str) -> str:
    """The policy for this Swagger UI page: its inline scripts are allowed by their hashes."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src", _source(SWAGGER_JS_URL), *hashes]),
            f"style-src {_source(SWAGGER_CSS_URL)}",
            f"img-src {_source(SWAGGER_FAVICON_URL)} data:",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def _source(url: str) -> str:
    """A CSP source for `url`: its origin, or 'self' for a path on this server."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"
