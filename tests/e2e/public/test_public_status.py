from __future__ import annotations

import statistics
import time
import typing
from datetime import timedelta

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import event

from app.main import create_app
from app.public.links import TrackLinks
from app.public.schemas import PublicStatus
from tests.factories import create_handoff_story

LOTS = "10000/minute"
# Everything the service knows that a customer must never see, by field name.
INTERNAL_FIELDS = {
    "id",
    "leg_id",
    "alert_id",
    "order_id",
    "tracking_number",
    "customer_email",
    "email",
    "customer_postal_code",
    "postal_code",
    "explanation",
    "recommended_action",
    "evidence",
    "team",
    "severity",
    "rule",
    "acknowledged_by",
    "resolved_by",
    "resolution_note",
    "note",
    "actor",
    "carrier_code",
    "description",
    "payload",
    "raw",
    "last_poll_error",
    "claimed_status",
}


@pytest.fixture
async def make_client(settings, engine, sessionmaker, clock):
    clients: list[httpx.AsyncClient] = []

    def build(**overrides) -> httpx.AsyncClient:
        limits = {"public_rate_limit_per_address": LOTS, "public_rate_limit_per_order": LOTS}
        app = create_app(
            settings.model_copy(update={**limits, **overrides}),
            engine=engine,
            sessionmaker=sessionmaker,
            clock=clock,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        client.app = app  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def story(session, clock):
    return await create_handoff_story(session, now=clock.now)


def walk_fields(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for arg in [info.annotation, *typing.get_args(info.annotation)]:
            for inner in [arg, *typing.get_args(arg)]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    names |= walk_fields(inner)
    return names


def test_the_public_model_cannot_carry_an_internal_field():
    fields = walk_fields(PublicStatus)

    assert fields & INTERNAL_FIELDS == set()
    assert "headline" in fields  # the walk reached the nested shipment model
    assert PublicStatus.model_config["extra"] == "forbid"


async def test_the_right_postal_code_shows_the_honest_message(make_client, story):
    _, fedex_leg, usps_leg, _ = story
    client = make_client()

    response = await client.get("/v1/public/status/FS-2001", params={"postal_code": "97211"})

    assert response.status_code == 200
    status = PublicStatus.model_validate(response.json())
    assert status.notice == (
        "The carrier has not received your parcel yet. We are looking into it and will contact "
        "you by Friday 18 December."  # opened Wednesday 16: two business days later
    )
    assert status.shipments[0].state == "delayed"
    assert status.shipments[0].last_scan_place == "Memphis, TN"
    for secret in (fedex_leg.tracking_number, usps_leg.tracking_number, "jamie", "USPS has"):
        assert secret not in response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("typed", ["fs-2001", " FS 2001 ", "FS2001"])
async def test_the_order_number_may_be_typed_any_way(make_client, story, typed):
    response = await make_client().get(
        f"/v1/public/status/{typed}", params={"postal_code": "97211-0001"}
    )

    assert response.status_code == 200
    assert response.json()["order_number"] == "FS-2001"


async def test_wrong_order_and_wrong_postal_code_answer_the_same(make_client, story):
    client = make_client()

    wrong_code = await client.get("/v1/public/status/FS-2001", params={"postal_code": "10001"})
    wrong_order = await client.get("/v1/public/status/FS-2009", params={"postal_code": "97211"})

    assert wrong_code.status_code == wrong_order.status_code == 404
    assert wrong_code.content == wrong_order.content
    assert wrong_code.headers == wrong_order.headers


async def test_wrong_order_and_wrong_postal_code_do_the_same_database_work(
    make_client, story, engine
):
    client = make_client()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # the test's wrapper
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await client.get("/v1/public/status/FS-2001", params={"postal_code": "10001"})
        wrong_code = list(statements)
        statements.clear()
        await client.get("/v1/public/status/FS-2009", params={"postal_code": "97211"})
        wrong_order = list(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert wrong_code == wrong_order
    assert len(wrong_code) >= 1


async def test_wrong_order_and_wrong_postal_code_take_the_same_time_within_noise(
    make_client, story
):
    client = make_client()
    timings: dict[str, list[float]] = {"code": [], "order": []}
    requests = {
        "code": ("/v1/public/status/FS-2001", {"postal_code": "10001"}),
        "order": ("/v1/public/status/FS-2009", {"postal_code": "97211"}),
    }
    for _ in range(40):  # interleaved, so load on the machine hits both alike
        for kind, (url, params) in requests.items():
            started = time.perf_counter()
            await client.get(url, params=params)
            timings[kind].append(time.perf_counter() - started)

    code, order = statistics.median(timings["code"]), statistics.median(timings["order"])
    assert abs(code - order) < max(0.003, 0.3 * max(code, order)), (code, order)


async def test_past_the_order_limit_the_answer_is_429_with_retry_after(make_client, story):
    client = make_client(public_rate_limit_per_order="2/minute")
    for _ in range(2):
        await client.get("/v1/public/status/FS-2001", params={"postal_code": "10001"})

    refused = await client.get("/v1/public/status/FS-2001", params={"postal_code": "97211"})

    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["content-type"] == "application/problem+json"
    # An unknown order is limited just the same, so the limit reveals nothing either.
    for _ in range(2):
        await client.get("/v1/public/status/NOPE-1", params={"postal_code": "1"})
    unknown = await client.get("/v1/public/status/NOPE-1", params={"postal_code": "1"})
    assert unknown.status_code == 429


async def test_past_the_address_limit_the_answer_is_429_for_any_order(make_client, story):
    client = make_client(public_rate_limit_per_address="3/minute")
    for n in range(3):
        await client.get(f"/v1/public/status/X-{n}", params={"postal_code": "1"})

    refused = await client.get("/v1/public/status/FS-2001", params={"postal_code": "97211"})

    assert refused.status_code == 429
    assert "retry-after" in refused.headers


async def test_the_track_form_gives_the_generic_answer_then_the_honest_one(make_client, story):
    client = make_client()

    form = await client.get("/track/FS-2001")
    wrong = await client.post("/track/FS-2001", data={"postal_code": "10001"})
    unknown = await client.post("/track", data={"order_number": "FS-2009", "postal_code": "97211"})
    right = await client.post("/track/FS-2001", data={"postal_code": "97211"})

    assert form.status_code == 200
    assert 'name="postal_code"' in form.text
    assert wrong.status_code == unknown.status_code == 404
    assert "We could not find that order." in wrong.text
    assert "We could not find that order." in unknown.text
    assert right.status_code == 200
    assert "The carrier has not received your parcel yet." in right.text
    assert all("<script" not in page.text for page in (form, wrong, right))


async def test_an_empty_postal_code_is_the_generic_answer_not_an_error(make_client, story):
    response = await make_client().post("/track/FS-2001", data={"postal_code": ""})

    assert response.status_code == 404
    assert "We could not find that order." in response.text


async def test_the_signed_link_opens_the_same_page_until_it_expires(make_client, story, clock):
    client = make_client()
    links: TrackLinks = client.app.state.track_links  # type: ignore[attr-defined]
    token = links.sign("FS-2001")

    by_form = await client.post("/track/FS-2001", data={"postal_code": "97211"})
    by_link = await client.get(f"/track/t/{token}")
    clock.now += timedelta(days=31)
    expired = await client.get(f"/track/t/{token}")
    forged = await client.get(f"/track/t/{token[:-3]}abc")

    assert by_link.status_code == 200
    assert by_link.text == by_form.text
    assert expired.status_code == forged.status_code == 404
    assert "This link has expired or is not valid." in expired.text


async def test_too_many_form_attempts_show_a_page_with_retry_after(make_client, story):
    client = make_client(public_rate_limit_per_order="1/minute")
    await client.post("/track/FS-2001", data={"postal_code": "10001"})

    refused = await client.post("/track/FS-2001", data={"postal_code": "97211"})

    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many attempts." in refused.text


async def test_a_mistyped_order_number_can_be_corrected_on_the_not_found_page(make_client, story):
    client = make_client()

    typo = await client.post("/track", data={"order_number": "FS-2010", "postal_code": "97211"})

    assert typo.status_code == 404
    assert 'action="/track"' in typo.text
    assert 'name="order_number"' in typo.text
    assert 'value="FS-2010"' in typo.text  # filled in, to correct rather than retype
    fixed = await client.post("/track", data={"order_number": "FS-2001", "postal_code": "97211"})
    assert fixed.status_code == 200
