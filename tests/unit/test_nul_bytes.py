from __future__ import annotations

import pytest

from app.nul_bytes import NulByteReplacement


async def run(scope_overrides: dict, chunks: list[bytes]) -> tuple[dict, bytes]:
    """Passes `chunks` through the middleware; returns the scope and body the app saw."""
    seen: dict = {}
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def app(scope, receive, send):
        seen["scope"] = scope
        body = b""
        while True:
            message = await receive()
            body += message["body"]
            if not message["more_body"]:
                break
        seen["body"] = body

    async def receive():
        return pending.pop(0)

    async def send(message):
        raise AssertionError("the test app sends nothing")

    scope = {"type": "http", "path": "/", "query_string": b"", "headers": [], **scope_overrides}
    await NulByteReplacement(app)(scope, receive, send)
    return seen["scope"], seen["body"]


async def test_the_path_and_query_carry_sub_where_they_carried_nul():
    scope, _ = await run(
        {"path": "/track/A\x00B", "raw_path": b"/track/A%00B", "query_string": b"q=%00&r=x"},
        [b""],
    )

    assert scope["path"] == "/track/A\x1aB"
    assert scope["raw_path"] == b"/track/A%1AB"
    assert scope["query_string"] == b"q=%1A&r=x"


@pytest.mark.parametrize(
    "chunks",
    [
        [b"a=%00&b=\x00"],
        [b"a=%", b"00&b=\x00"],
        [b"a=%0", b"0&b=\x00"],
        [b"a=%", b"0", b"0&b=", b"\x00", b""],
    ],
)
async def test_a_form_body_carries_sub_however_it_is_chunked(chunks):
    headers = [(b"content-type", b"application/x-www-form-urlencoded; charset=utf-8")]

    _, body = await run({"headers": headers}, chunks)

    assert body == b"a=%1A&b=\x1a"


async def test_a_percent_sign_that_is_no_nul_passes_unchanged():
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]

    _, body = await run({"headers": headers}, [b"a=100%", b"25&b=%0", b"A"])

    assert body == b"a=100%25&b=%0A"


async def test_a_multipart_body_has_raw_nul_replaced_and_percent_text_kept():
    headers = [(b"content-type", b"multipart/form-data; boundary=x")]

    _, body = await run({"headers": headers}, [b"--x\r\n\r\nA\x00B %00\r\n--x--"])

    assert body == b"--x\r\n\r\nA\x1aB %00\r\n--x--"


async def test_a_json_body_is_left_to_its_model():
    headers = [(b"content-type", b"application/json")]

    _, body = await run({"headers": headers}, [b'{"a": "%00\\u0000"}'])

    assert body == b'{"a": "%00\\u0000"}'
