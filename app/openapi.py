"""The OpenAPI document's shared parts: the problem details every error is, the statuses each
operation documents, and the schemas that routes reading their own body must add themselves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from app.errors import PROBLEM_MEDIA_TYPE

SCHEMAS = "#/components/schemas/"


class FieldProblem(BaseModel):
    field: str = Field(description="the field, e.g. shipments[0].carrier")
    reason: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; some problems add members (e.g. conflicting_order_number)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="the path the problem occurred on")
    errors: list[FieldProblem] | None = Field(
        default=None, description="for invalid input: each field and why"
    )


STATUS_DESCRIPTIONS = {
    400: "malformed JSON",
    401: "missing or invalid API key",
    403: "the key's role does not allow this",
    404: "not found",
    409: "conflicts with what is stored",
    413: "request body over FIRSTSCAN_MAX_BODY_BYTES",
    415: "unsupported media type",
    422: "invalid input; `errors` names each field and reason",
    429: "too many requests; retry after Retry-After seconds",
    503: "not available now; retry later",
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting each status as problem details; a description can be
    given as e.g. `s404="no such alert"`."""
    return {
        status: {
            "description": descriptions.get(f"s{status}", STATUS_DESCRIPTIONS[status]),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": SCHEMAS + "ProblemDetails"}}},
        }
        for status in statuses
    }


def install_openapi(app: FastAPI, *, extra_models: Iterable[type[BaseModel]] = ()) -> None:
    """Builds the document once, adding ProblemDetails and the models that `openapi_extra`
    request bodies refer to (FastAPI only collects the models it validates itself)."""
    models: tuple[type[BaseModel], ...] = (ProblemDetails, *extra_models)

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _, extra = models_json_schema(
                [(model, "validation") for model in models], ref_template=SCHEMAS + "{model}"
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in extra.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            _document_unavailable(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _document_unavailable(document: dict[str, Any]) -> None:
    """Every /v1 operation can answer 503 with Retry-After: the database is unreachable for a
    moment, or a lock race lost three times in a row (app.database_outage, app.replay)."""
    unavailable = problem_responses(503, s503=UNAVAILABLE)[503]
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("503", unavailable)


UNAVAILABLE = (
    "the database is unreachable for a moment, or other changes kept getting in the way; "
    "nothing was stored; retry after Retry-After seconds"
)
