"""Errors the service reports to callers, always as RFC 9457 problem details.

A problem document has no `instance`: it would echo the request's path, which is whatever the
caller typed (and, for /track/t/..., a signed link).

ServiceError            carries its HTTP status, a title and a detail
├── InvalidInput        422; `errors` lists each offending field with its reason
├── NotFound            404
├── Conflict            409; may name the conflicting resource
├── Unauthenticated     401
├── Forbidden           403
└── RateLimited         429; carries Retry-After
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.security_headers import SECURITY_HEADERS

logger = logging.getLogger("app.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://firstscan.dev/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class ServiceError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class InvalidInput(ServiceError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, errors: Sequence[FieldError], *, detail: str | None = None) -> None:
        first = errors[0]
        super().__init__(
            detail or f"{first.field}: {first.reason}",
            extra={"errors": [e.as_dict() for e in errors]},
        )
        self.errors = list(errors)


class NotFound(ServiceError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthenticated(ServiceError):
    status = 401
    slug = "unauthenticated"
    title = "Unauthenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class RateLimited(ServiceError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_seconds))})


HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
HTTP_SLUGS = {413: "body-too-large"}


def route_template(request: Request) -> str:
    """The matched route's template ('/track/t/{token}'), never the path itself: paths carry
    signed links and whatever an attacker typed, and neither belongs in a log or a response."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "(no route)"))


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


def field_path(loc: Sequence[int | str]) -> str:
    """('body', 'shipments', 0, 'carrier') -> 'shipments[0].carrier'."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    malformed = [e for e in errors if e.get("type") == "json_invalid"]
    if malformed:
        ctx = malformed[0].get("ctx") or {}
        return problem_response(
            status=400,
            slug="malformed-json",
            title="Malformed JSON",
            detail=f"The request body is not valid JSON: {ctx.get('error', 'parse error')}.",
            extra={"errors": [{"field": "body", "reason": "not valid JSON"}]},
        )
    fields = [FieldError(field_path(e["loc"]), _reason(e)).as_dict() for e in errors]
    return problem_response(
        status=422,
        slug=InvalidInput.slug,
        title=InvalidInput.title,
        detail=f"{fields[0]['field']}: {fields[0]['reason']}",
        extra={"errors": fields},
    )


def _reason(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "missing":
        return "is required"
    if error.get("type") == "extra_forbidden":
        return "is not a known field"
    return message.removeprefix("Value error, ")


def install_error_handlers(app: FastAPI) -> None:
    """Every 4xx and 5xx leaves as problem details; nothing internal leaks from a 500."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return problem_response(
            status=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            extra=exc.extra,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            status=exc.status_code,
            slug=HTTP_SLUGS.get(exc.status_code, f"http-{exc.status_code}"),
            title=HTTP_TITLES.get(exc.status_code, "HTTP error"),
            detail=str(exc.detail),
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, route_template(request))
        return problem_response(
            status=500,
            slug=ServiceError.slug,
            title=ServiceError.title,
            detail="An unexpected error occurred; it has been logged.",
            # Sent from outside every middleware, so SecurityHeaders never sees this response.
            headers=SECURITY_HEADERS,
        )


class UnsupportedMediaType(ServiceError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
