"""Bodies over FIRSTSCAN_MAX_BODY_BYTES are 413 problem documents, whether the client declared
their length or streamed them chunked: over a real loopback connection to uvicorn."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from app.main import create_app
from tests.support.live_app import RawConnection, post_chunked, serve_in_thread

FIVE_MIB = 5 * 1024 * 1024
MIB = b"x" * (1024 * 1024)
# A form of 512 KiB fields: one field over 1 MiB is refused sooner, by the form parser (400).
FORM_FIELDS = b"a=" + b"x" * (512 * 1024 - 3) + b"&"


@pytest.fixture
def live_port(settings):
    app = create_app(
        settings.model_copy(
            update={
                "max_body_bytes": FIVE_MIB,
                "push_max_body_bytes": FIVE_MIB,
                "webhook_secret": SecretStr("s"),
            }
        )
    )
    with serve_in_thread(app) as port:
        yield port


def assert_too_large(status, headers, body):
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"].endswith("/body-too-large")
    assert problem["detail"] == f"The request body exceeds the limit of {FIVE_MIB} bytes."
    assert "instance" not in problem


@pytest.mark.parametrize(
    ("target", "content_type", "chunk"),
    [
        ("/v1/orders", "application/json", MIB),  # a body model
        ("/v1/webhooks/ups", "application/json", MIB),  # the raw body, read by the route
        ("/track", "application/x-www-form-urlencoded", FORM_FIELDS),  # a form
    ],
)
def test_a_chunked_body_over_the_limit_is_413(live_port, target, content_type, chunk):
    chunks = 6 * len(MIB) // len(chunk)
    response = post_chunked(
        live_port, target, chunk=chunk, chunks=chunks, headers={"Content-Type": content_type}
    )

    assert_too_large(*response)


def test_a_declared_length_over_the_limit_is_the_same_413(live_port):
    connection = RawConnection(live_port)
    try:
        response = connection.exchange(
            b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {FIVE_MIB + 1}\r\n\r\n".encode()
        )
    finally:
        connection.close()

    assert_too_large(*response)


def test_a_chunked_body_under_the_limit_is_read_whole(live_port):
    status, _, body = post_chunked(
        live_port,
        "/v1/orders",
        chunk=b" " * 1024,
        chunks=4,
        headers={"Content-Type": "application/json"},
    )

    assert status == 400  # all whitespace: read to the end, then found not to be JSON
    assert json.loads(body)["title"] == "Malformed JSON"
