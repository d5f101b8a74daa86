"""The OpenAPI document is valid and complete: every schema it refers to is defined, and each
error an operation can answer is documented as problem details."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from app.main import create_app
from app.settings import Settings

DOCUMENT = create_app(Settings()).openapi()
OPERATIONS = {
    f"{method.upper()} {path}": operation
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
}
KEYED = {label for label, op in OPERATIONS.items() if op.get("security")}
WITH_JSON_BODY = {
    label
    for label, op in OPERATIONS.items()
    if "application/json" in op.get("requestBody", {}).get("content", {})
}


def references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(references(value) for value in node))
    return set()


def test_the_document_is_valid_openapi():
    validate(DOCUMENT)


def test_every_schema_the_document_refers_to_is_defined():
    defined = {f"#/components/schemas/{name}" for name in DOCUMENT["components"]["schemas"]}

    assert references(DOCUMENT) - defined == set()
    assert {"TrackingStatus", "PushedEvent", "PushedLocation", "ProblemDetails"} <= set(
        DOCUMENT["components"]["schemas"]
    )


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_error_an_operation_documents_is_problem_details(label):
    for status, response in OPERATIONS[label]["responses"].items():
        if status.startswith("4"):
            assert response["content"] == {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                }
            }, status


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_each_operation_documents_the_errors_it_can_answer(label):
    operation = OPERATIONS[label]
    documented = set(operation["responses"])
    expected = set()
    if label in KEYED:
        expected |= {"401", "403"}
    if operation.get("parameters") or operation.get("requestBody"):
        expected.add("422")
    if "{" in label and label in KEYED:
        expected.add("404")
    if label in WITH_JSON_BODY:
        expected |= {"413"} | ({"400"} if label in KEYED else set())
    if label.startswith("GET /v1/public/"):
        expected |= {"404", "429"}

    assert expected <= documented


def test_every_v1_operation_documents_its_503_as_problem_details():
    from app.main import create_app
    from app.settings import Settings

    document = create_app(Settings()).openapi()

    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in methods.items()
    ]
    assert operations
    for path, method, operation in operations:
        answer = operation["responses"]["503"]
        assert "application/problem+json" in answer["content"], (path, method)
