"""About 3,000 rows through `POST /v1/imports` and through `firstscan import`, on a database whose
commits are real and whose sessions have connections of their own (as in production), with bad
rows at the start, the middle and the end: the good rows are stored, each bad one is reported
with its line. On PostgreSQL one transaction for the whole file held ~6,600 advisory locks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.cli import cli
from app.main import create_app
from app.settings import Settings
from app.shipments.models import Leg, Order
from tests.conftest import BACKENDS, throwaway_database
from tests.factories import ups_number, usps_number

pytestmark = pytest.mark.slow

ROWS = 3_000
LABEL_AT = (db.utcnow() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
HEADER = "order_number,tracking_number,carrier,label_created_at,last_mile_carrier,"
HEADER += "last_mile_tracking_number\n"


@pytest.fixture(scope="module", params=BACKENDS)
def committed_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with throwaway_database(request.param, tmp_path_factory.mktemp("scale")) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
async def api(committed_database: str) -> AsyncIterator[httpx.AsyncClient]:
    engine = db.create_engine(committed_database, pool_size=3)
    sessionmaker = db.create_sessionmaker(engine)
    async with sessionmaker() as session:
        _, key = await auth_service.create_key(session, role=Role.INGEST, name="t", actor="t")
        await session.commit()
    settings = Settings(database_url=committed_database, max_body_bytes=5 * 1024 * 1024)
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {key}"},
        timeout=300,
    ) as client:
        yield client
    await engine.dispose()


async def count_orders(database_url: str, prefix: str) -> tuple[int, int]:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            like = Order.order_number.like(f"{prefix}%")
            orders = await connection.scalar(select(func.count()).where(like))
            legs = await connection.scalar(
                select(func.count(Leg.id)).join(Leg.shipment).join(Order).where(like)
            )
            return int(orders or 0), int(legs or 0)
    finally:
        await engine.dispose()


def label_rows(prefix: str) -> list[dict[str, str]]:
    """ROWS good rows; every tenth hands off to a USPS last mile."""
    rows = []
    for n in range(ROWS):
        row = {
            "order_number": f"{prefix}{n}",
            "tracking_number": ups_number(),
            "carrier": "ups",
            "label_created_at": LABEL_AT,
        }
        if n % 10 == 0:
            row |= {"last_mile_carrier": "usps", "last_mile_tracking_number": usps_number()}
        rows.append(row)
    return rows


def stored_rows(rows: list[dict[str, str]], *, rejected: list[int]) -> tuple[int, int]:
    """(orders, legs) the good rows make."""
    good = [row for n, row in enumerate(rows) if n not in rejected]
    return len(good), sum(2 if "last_mile_carrier" in row else 1 for row in good)


async def test_3000_csv_rows_through_the_api_store_the_good_and_report_each_bad_line(
    api, committed_database
):
    rows = label_rows("API-")
    rows[0]["label_created_at"] = "0001-01-01T00:00:00Z"  # line 2
    rows[ROWS // 2]["tracking_number"] = "1Z999AA10000000000"  # line 1502: bad check digit
    rows[-1]["tracking_number"] = ""  # line 3001: missing
    columns = HEADER.strip().split(",")
    body = HEADER + "".join(",".join(r.get(c, "") for c in columns) + "\n" for r in rows)

    response = await api.post("/v1/imports", content=body, headers={"Content-Type": "text/csv"})

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["stored"], report["unchanged"]) == (ROWS, ROWS - 3, 0)
    assert [e["line"] for e in report["rejected"]] == [2, ROWS // 2 + 2, ROWS + 1]
    assert "bad check digit" in report["rejected"][1]["reason"]
    assert report["rejected"][2] == {
        "line": ROWS + 1,
        "field": "tracking_number",
        "reason": "is required",
    }
    stored = stored_rows(rows, rejected=[0, ROWS // 2, ROWS - 1])
    assert await count_orders(committed_database, "API-") == stored


def test_3000_ndjson_rows_through_the_cli_store_the_good_and_report_each_bad_line(
    committed_database, tmp_path: Path, monkeypatch
):
    rows = label_rows("CLI-")
    rows[ROWS // 2]["label_created_at"] = "0001-01-01T00:00:00Z"  # line 1502
    rows[-1]["carrier"] = "pigeon"  # line 3001
    lines = ["[" * 100_000 + "]" * 100_000] + [json.dumps(r) for r in rows]
    path = tmp_path / "labels.ndjson"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("FIRSTSCAN_DATABASE_URL", committed_database)

    result = CliRunner().invoke(cli, ["import", str(path)], catch_exceptions=False)

    assert result.exit_code == 1, result.output
    assert f"{ROWS + 1} rows: {ROWS - 2} stored, 0 unchanged, 3 rejected" in result.output
    rejected = [
        line.split(":")[0].strip() for line in result.output.splitlines() if "  line" in line
    ]
    assert rejected == ["line 1", f"line {ROWS // 2 + 2}", f"line {ROWS + 1}"]
    assert "line 1: line: is nested too deeply" in result.output
    assert "unknown carrier 'pigeon'" in result.output
    stored = stored_rows(rows, rejected=[ROWS // 2, ROWS - 1])
    assert asyncio.run(count_orders(committed_database, "CLI-")) == stored
