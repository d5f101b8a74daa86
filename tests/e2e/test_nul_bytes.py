"""A NUL byte (or another control character) in a path, a query or a form answers like any
unknown value: PostgreSQL refuses NUL in text, and before app.nul_bytes each of these was a 500."""

from __future__ import annotations

import pytest

from app.main import create_app
from tests.e2e.console.conftest import sign_in
from tests.factories import create_handoff_story
from tests.support.live_app import RawConnection, get_request, serve_in_thread

CONTROLS = ["%00", "%01", "%08", "%7F"]  # not \x1c-\x1f: lookups treat those as spaces


@pytest.fixture
async def story(session, clock):
    return await create_handoff_story(session, now=clock.now)


@pytest.mark.parametrize("control", CONTROLS)
async def test_the_public_status_answers_the_same_whether_or_not_the_order_exists(
    client, story, control
):
    # A number with a control character in it can belong to no order: it is refused as a name
    # (422 naming the parameter), before any lookup, so the answer cannot tell whether an order
    # with a similar number exists (enumeration safety), and never a 500.
    existing = await client.get(f"/v1/public/status/FS-2{control}001?postal_code=97211")
    unknown = await client.get(f"/v1/public/status/FS-9{control}009?postal_code=97211")
    in_code = await client.get(f"/v1/public/status/FS-2001?postal_code=97{control}211")
    unknown_code = await client.get(f"/v1/public/status/FS-9009?postal_code=97{control}211")

    assert existing.status_code == unknown.status_code == 422
    assert in_code.status_code == unknown_code.status_code
    assert in_code.status_code in (404, 422)
    assert existing.json()["errors"] == unknown.json()["errors"]
    assert in_code.content == unknown_code.content


@pytest.mark.parametrize("control", CONTROLS)
async def test_the_track_pages_answer_we_could_not_find_that_order(client, story, control):
    character = bytes.fromhex(control[1:]).decode()
    posted = await client.post(
        "/track", data={"order_number": f"FS-2{character}001", "postal_code": "97211"}
    )
    in_path = await client.post(f"/track/FS-2{control}001", data={"postal_code": "97211"})
    in_code = await client.post("/track/FS-2001", data={"postal_code": f"97{character}211"})

    for response in (posted, in_path, in_code):
        assert response.status_code == 404
        assert "We could not find that order." in response.text


async def test_a_nul_split_across_form_chunks_is_still_caught(client, story):
    chunks = [b"postal_code=97211&order_number=FS-2%", b"0", b"0001"]

    async def body():
        for chunk in chunks:
            yield chunk

    response = await client.post(
        "/track", content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 404
    assert "We could not find that order." in response.text


async def test_a_multipart_form_with_a_nul_is_not_found_too(client, story):
    files = {"order_number": (None, b"FS-2\x00001"), "postal_code": (None, b"97211")}

    response = await client.post("/track", files=files)

    assert response.status_code == 404


@pytest.mark.parametrize("control", CONTROLS)
async def test_console_search_and_order_pages_say_not_found(client, api_keys, story, control):
    await sign_in(client, api_keys["agent"])

    search = await client.get(f"/console/search?q=FS-2{control}001")
    order = await client.get(f"/console/orders/FS-2{control}001")

    assert search.status_code == order.status_code == 404
    assert "No order or tracking number matches" in search.text
    assert "No order or tracking number matches" in order.text


@pytest.mark.parametrize("name", ["team", "carrier", "rule"])
async def test_a_console_board_filter_with_a_nul_matches_no_alert(client, api_keys, story, name):
    await sign_in(client, api_keys["agent"])
    unfiltered = await client.get("/console/alerts")

    response = await client.get(f"/console/alerts?{name}=%00")

    assert "1 unresolved parcel problem match" in unfiltered.text
    assert response.status_code == 200
    assert "0 unresolved parcel problems match" in response.text


async def test_console_sign_in_with_a_nul_in_the_key_is_refused_as_a_wrong_key(client, api_keys):
    response = await sign_in(client, api_keys["agent"][:8] + "\x00" + api_keys["agent"][9:])

    assert response.status_code == 401
    assert "That key is not valid" in response.text


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/lookup/FS-2%00001", "number"),
        ("/v1/orders/FS-2%00001", "order_number"),
        ("/v1/alerts?team=%00", "team"),
        ("/v1/alerts?carrier=%00", "carrier"),
        ("/v1/alerts?rule=%00", "rule"),
    ],
)
async def test_the_api_answers_422_naming_the_parameter(client, auth, story, url, field):
    response = await client.get(url, headers=auth("agent"))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


async def test_a_patch_on_an_order_named_with_a_nul_is_422(client, auth, story):
    response = await client.patch(
        "/v1/orders/FS-2%00001", json={"claimed_status": "shipped"}, headers=auth("ingest")
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "order_number"


def test_the_kept_alive_connection_survives_a_nul(settings):
    app = create_app(settings)
    with serve_in_thread(app) as port:
        connection = RawConnection(port)
        try:
            first = connection.exchange(get_request("/v1/public/status/AB%00CD?postal_code=1"))
            second = connection.exchange(get_request("/healthz"))
        finally:
            connection.close()

    assert first[0] in (404, 422)  # refused as a name, never a 500
    assert "close" not in (first[1].get("connection") or "")
    assert second[0] == 200
