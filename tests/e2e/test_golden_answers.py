"""The lookup's and the customer status endpoint's answers on the demo data, byte for byte
against files in tests/data/golden/: a change of either read path must not change what clients
get (issue 17). The demo is loaded and played by one worker pass at a fixed clock, on a fresh
database of each backend, so every value the data hold is the same on every run.

When an answer changes on purpose, regenerate the files and review the diff:
`FIRSTSCAN_UPDATE_GOLDEN=1 /work/notes/t tests/e2e/test_golden_answers.py`."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.demo import DEMO_ORDERS, build_demo_order, load_demo
from app.main import create_app
from app.orderfile.schemas import LookupRead
from app.scheduler import run_once
from app.settings import Settings
from app.shipments.models import Leg
from app.tracking.models import LegPartnerNumber
from app.wiring import build_worker_context
from tests.conftest import BACKENDS, throwaway_database

GOLDEN = Path(__file__).parent.parent / "data" / "golden"
UPDATE = os.environ.get("FIRSTSCAN_UPDATE_GOLDEN", "") not in ("", "0", "false")
# A Thursday afternoon in New York: the demo's alerts are open, some deadlines still ahead.
NOW = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
# Set by the database or the wall clock when a row is written, not by the fixed clock: the only
# values that differ from run to run (ids come from sequences, which a fresh database starts
# afresh, and every other time is the fixed clock's or the sandbox's).
WALL_CLOCK_FIELDS = {"created_at", "updated_at"}
# A number a carrier named for a leg (as a DHL eCommerce poll stores it), on FS-1004's DHL leg.
PARTNER_NUMBER = "H01PQA0010751022"
LOTS = "100000/minute"


def _demo_numbers() -> dict[str, str]:
    """Each demo order's first tracking number, and the seed story's hand-off number."""
    numbers = {}
    for demo in DEMO_ORDERS:
        shipment = build_demo_order(demo, now=NOW).shipments[0]
        numbers[demo.order_number] = shipment.tracking_number
        if shipment.last_mile is not None:
            numbers[f"{demo.order_number}/last_mile"] = shipment.last_mile.tracking_number
    return numbers


NUMBERS = _demo_numbers()
LOOKUPS = {
    "order_number": "FS-1001",
    "order_number_typed_loosely": "fs 1001",
    "first_mile_number": NUMBERS["FS-1001"],
    "handoff_number": NUMBERS["FS-1001/last_mile"],
    "never_inducted_order": "FS-1002",
    "moving_tracking_number": NUMBERS["FS-1003"],
    "delivered_order": "FS-1004",
    "exception_tracking_number": NUMBERS["FS-1005"],
    "stalled_order": "FS-1006",
    "partner_number": "h01pqa 0010-751022",
    "unknown_number": "ZZ-404",
}
STATUSES = {demo.order_number: (demo.order_number, demo.postal_code) for demo in DEMO_ORDERS}
STATUSES["FS-1001-zip-plus-four"] = ("fs-1001", "97211-0001")
STATUSES["wrong_postal_code"] = ("FS-1001", "10001")
STATUSES["unknown_order"] = ("FS-9999", "97211")


# "postgres" reads through the session (as on SQLite and in every other test); "served" is the
# app as `firstscan serve` builds it, reading through its own asyncpg pool (app.orderfile.rows).
READ_PATHS = [*BACKENDS, pytest.param("served", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=READ_PATHS)
async def demo_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    backend = "sqlite" if request.param == "sqlite" else "postgres"
    with throwaway_database(backend, tmp_path_factory.mktemp("golden")) as url:
        migrate.upgrade(url)
        engine = db.create_engine(url)
        sessionmaker = db.create_sessionmaker(engine)
        try:
            async with db.session_scope(sessionmaker) as session:
                await load_demo(session, now=NOW)
                _, key = await auth_service.create_key(
                    session, role=Role.AGENT, name="golden", actor="tests"
                )
            async with db.session_scope(sessionmaker) as session:
                await _store_partner_number(session)
            settings = Settings(
                database_url=url,
                public_rate_limit_per_address=LOTS,
                public_rate_limit_per_order=LOTS,
            )
            # One poll at a time per carrier: each carrier's events are stored, and numbered, in
            # the same order on every run.
            worker_settings = settings.model_copy(update={"poll_concurrency": 1})
            async with httpx.AsyncClient() as http:
                context = build_worker_context(
                    worker_settings, sessionmaker=sessionmaker, http=http, clock=lambda: NOW
                )
                await run_once(context)
            if request.param == "served":
                app = create_app(settings, clock=lambda: NOW)
            else:
                app = create_app(
                    settings, engine=engine, sessionmaker=sessionmaker, clock=lambda: NOW
                )
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
            ):
                if request.param == "served":
                    assert app.state.read_pool is not None
                yield client, key
        finally:
            await engine.dispose()


async def _store_partner_number(session: AsyncSession) -> None:
    leg_id = (
        await session.execute(select(Leg.id).where(Leg.tracking_number == NUMBERS["FS-1004"]))
    ).scalar_one()
    session.add(
        LegPartnerNumber(
            leg_id=leg_id,
            number=PARTNER_NUMBER,
            lookup_key=PARTNER_NUMBER,
            partner_name="Royal Mail",
            first_seen_at=NOW,
        )
    )


def normalized(body: Any) -> Any:
    """`body` with the wall-clock times replaced by a marker and ties in a timeline put in one
    order; everything else as it is."""
    if isinstance(body, dict):
        return {
            k: "<wall clock>"
            if k in WALL_CLOCK_FIELDS and v is not None
            else _timeline(v)
            if k == "timeline"
            else normalized(v)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [normalized(item) for item in body]
    return body


def _timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Two legs' events of the same instant come in the order they were stored (newest id
    # first), and the carriers' pipelines poll side by side, so that order differs between
    # runs. Only such ties are put in one order; the rest of the order is compared as it is.
    ties: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        ties.setdefault(event["occurred_at"], []).append(normalized(event))
    return [
        event
        for same_instant in ties.values()
        for event in sorted(same_instant, key=lambda e: (e["carrier"], e["tracking_number"]))
    ]


def check_golden(name: str, response: httpx.Response) -> None:
    """Compares status, content type and body (key order included) with the golden file."""
    document = {
        "status": response.status_code,
        "content_type": response.headers["content-type"],
        "body": normalized(response.json()),
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with FIRSTSCAN_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name}: the answer differs from {path}"


@pytest.mark.parametrize("case", list(LOOKUPS))
async def test_the_lookup_answers_as_the_golden_file(demo_client, case):
    client, key = demo_client

    response = await client.get(
        f"/v1/lookup/{LOOKUPS[case]}", headers={"Authorization": f"Bearer {key}"}
    )

    check_golden(f"lookup-{case}", response)
    if response.status_code == 200:  # the documented model, field for field and in its order
        body = response.json()
        assert list(body) == list(LookupRead.model_fields)
        assert LookupRead.model_validate(body).model_dump(mode="json") == body


@pytest.mark.parametrize("case", list(STATUSES))
async def test_the_public_status_answers_as_the_golden_file(demo_client, case):
    client, _ = demo_client
    order_number, postal_code = STATUSES[case]

    response = await client.get(
        f"/v1/public/status/{order_number}", params={"postal_code": postal_code}
    )

    check_golden(f"status-{case}", response)
