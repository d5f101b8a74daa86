from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.factories import ups_number


@pytest.fixture
def run(empty_database_url, monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_DATABASE_URL", empty_database_url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


def test_keys_create_prints_a_new_key_once_and_list_never_shows_it(run):
    created = run("keys", "create", "--role", "agent", "--name", "Sam at support")

    assert created.exit_code == 0
    key = created.output.strip().splitlines()[-1]
    assert re.fullmatch(r"fsk_[A-Za-z0-9_-]{40,}", key)
    listed = run("keys", "list").output
    assert "Sam at support" in listed
    assert "agent" in listed
    assert key not in listed


def test_keys_revoke_marks_the_key_revoked(run):
    run("keys", "create", "--role", "ops")

    revoked = run("keys", "revoke", "1")

    assert revoked.exit_code == 0
    assert "revoked" in run("keys", "list").output


def test_keys_create_refuses_an_unknown_role(run):
    result = run("keys", "create", "--role", "king")

    assert result.exit_code == 2


def test_import_reports_bad_rows_with_line_numbers_and_stores_the_good(run, tmp_path):
    good, bad = ups_number(), "1Z999AA10000000000"
    path = tmp_path / "labels.csv"
    path.write_text(
        "order_number,tracking_number,carrier,label_created_at\n"
        f"CLI-1,{good},ups,2026-11-20T10:00:00Z\n"
        f"CLI-2,{bad},ups,2026-11-20T10:00:00Z\n"
    )

    result = run("import", str(path))

    assert result.exit_code == 1
    assert "2 rows: 1 stored, 0 unchanged, 1 rejected" in result.output
    assert "line 3: tracking_number: bad check digit" in result.output
    again = run("import", str(path))
    assert "2 rows: 0 stored, 1 unchanged, 1 rejected" in again.output


def test_invalid_configuration_stops_with_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_DATABASE_URL", "mysql://nope")

    result = CliRunner().invoke(cli, ["migrate"])

    assert result.exit_code == 2
    assert result.output.strip() == (
        "firstscan: invalid configuration: FIRSTSCAN_DATABASE_URL: "
        "must be an sqlite:// or postgresql:// URL"
    )


def test_demo_then_one_worker_pass_polls_the_sandbox_and_raises_the_seed_alert(
    run, empty_database_url
):
    import asyncio

    from sqlalchemy import select

    from app import db
    from app.alerts.models import Alert
    from app.tracking.models import LegEvent

    assert "FS-1001" in run("demo").output
    assert run("demo").output.strip() == "demo orders present"

    result = run("worker", "--once")

    assert result.exit_code == 0, result.output

    async def stored() -> tuple[set[tuple[str, str | None]], int]:
        engine = db.create_engine(empty_database_url)
        try:
            async with db.create_sessionmaker(engine)() as session:
                alerts = set((await session.execute(select(Alert.rule, Alert.carrier))).all())
                events = len((await session.execute(select(LegEvent.id))).all())
                return {tuple(a) for a in alerts}, events
        finally:
            await engine.dispose()

    alerts, events = asyncio.run(stored())
    assert ("handoff_gap", "usps") in alerts
    assert ("never_inducted", "ups") in alerts
    assert events > 0


def test_a_second_worker_on_the_same_sqlite_file_refuses_to_start(tmp_path):
    from app.scheduler import WorkerAlreadyRunning, single_sqlite_worker
    from app.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path}/one.db")

    with single_sqlite_worker(settings), pytest.raises(WorkerAlreadyRunning) as refused:  # noqa: SIM117
        with single_sqlite_worker(settings):
            pass

    assert "SQLite supports one worker process" in str(refused.value)
    with single_sqlite_worker(settings):  # released when the first worker stops
        pass


def test_report_calls_prints_calls_per_leg_by_carrier_and_state(run):
    run("demo")
    run("worker", "--once")

    report = run("report", "calls").output

    assert "calls/leg" in report
    assert "fedex" in report
    assert "new" in report
    assert "total carrier calls:" in report


def test_rules_check_prints_findings_and_changes_nothing(run):
    run("demo")
    run("worker", "--once")

    text = run("rules", "check").output
    as_json = run("rules", "check", "--json").output

    assert "handoff_gap" in text
    assert "next step:" in text
    assert '"rule": "handoff_gap"' in as_json


def test_worker_once_waits_for_rate_slots_until_every_due_leg_is_polled(
    run, empty_database_url, tmp_path, monkeypatch
):
    import asyncio

    from sqlalchemy import select

    from app import db
    from app.shipments.models import Leg
    from carriers.sandbox import example_number

    rows = [
        f"RATE-{i},{example_number('dhl', 'normal', i)},dhl,2026-11-20T10:00:00Z" for i in range(8)
    ]
    path = tmp_path / "dhl.csv"
    path.write_text("order_number,tracking_number,carrier,label_created_at\n" + "\n".join(rows))
    assert run("import", str(path)).exit_code == 0
    monkeypatch.setenv("FIRSTSCAN_CARRIER_LIMITS", '{"dhl": {"per_second": 2}}')

    assert run("worker", "--once").exit_code == 0

    async def unpolled() -> int:
        engine = db.create_engine(empty_database_url)
        try:
            async with db.create_sessionmaker(engine)() as session:
                stmt = select(Leg.id).where(Leg.last_successful_poll_at.is_(None))
                return len((await session.execute(stmt)).all())
        finally:
            await engine.dispose()

    assert asyncio.run(unpolled()) == 0


def test_rules_plan_restores_the_plans_the_worker_keeps(run, empty_database_url):
    import asyncio

    from sqlalchemy import delete, select

    from app import db
    from app.alerts.models import PlannedAlert

    run("demo")
    run("worker", "--once")

    async def plans(*, drop: bool = False) -> set[tuple[str, str, object]]:
        engine = db.create_engine(empty_database_url)
        try:
            async with db.session_scope(db.create_sessionmaker(engine)) as session:
                stmt = select(PlannedAlert.subject_key, PlannedAlert.rule, PlannedAlert.due_at)
                found = {tuple(row) for row in (await session.execute(stmt)).all()}
                if drop:
                    await session.execute(delete(PlannedAlert))
                return found  # type: ignore[return-value]
        finally:
            await engine.dispose()

    kept = asyncio.run(plans(drop=True))
    assert kept, "the worker planned the demo orders' next deadlines"

    output = run("rules", "plan").output

    assert asyncio.run(plans()) == kept
    assert re.search(rf"planned {len(kept)} alerts for the next deadlines of \d+ orders", output)


def _promise_year_9999(database_url: str, order_number: str) -> None:
    import asyncio
    from datetime import date

    from sqlalchemy import update

    from app import db
    from app.shipments.models import Order

    async def change() -> None:
        engine = db.create_engine(database_url)
        try:
            async with db.session_scope(db.create_sessionmaker(engine)) as session:
                await session.execute(
                    update(Order)
                    .where(Order.order_number == order_number)
                    .values(promised_delivery_on=date(9999, 12, 31))
                )
        finally:
            await engine.dispose()

    asyncio.run(change())


def test_an_order_that_breaks_the_rules_is_listed_as_set_aside_and_the_rest_still_alert(
    run, empty_database_url
):
    run("demo")
    # Stored before the API refused such dates: the oldest order now breaks the `late` rule.
    _promise_year_9999(empty_database_url, "FS-1001")

    run("worker", "--once")

    listed = run("quarantine", "list").output
    assert "order" in listed
    assert "order FS-1001: OverflowError" in listed
    assert "1 set aside" in listed
    checked = run("rules", "check").output
    assert "never_inducted" in checked  # FS-1002 is still judged


def test_import_that_loses_the_database_says_how_far_it_got_and_to_run_it_again(
    run, tmp_path, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from app.shipments import bulk_ingest, imports
    from app.shipments import service as shipments_service

    real_row, real_wave = shipments_service.ingest_order, bulk_ingest.store_wave
    stop_at = f"CLI-{imports.CHUNK_ROWS + 5}"

    def fail_on(numbers):
        if stop_at in numbers:
            gone = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
            gone.connection_invalidated = True
            raise gone

    async def ingest(session, *, order_in, context):  # row by row (SQLite)
        fail_on([order_in.order_number])
        return await real_row(session, order_in=order_in, context=context)

    async def store_wave(session, wave, *, context):  # set-wise (PostgreSQL)
        fail_on([p.order_in.order_number for p in wave])
        return await real_wave(session, wave, context=context)

    monkeypatch.setattr(shipments_service, "ingest_order", ingest)
    monkeypatch.setattr(bulk_ingest, "store_wave", store_wave)
    path = tmp_path / "labels.csv"
    rows = [
        f"CLI-{n},{ups_number()},ups,2026-11-20T10:00:00Z" for n in range(imports.CHUNK_ROWS + 30)
    ]
    path.write_text("order_number,tracking_number,carrier,label_created_at\n" + "\n".join(rows))

    result = run("import", str(path))

    assert result.exit_code == 1
    chunk = imports.CHUNK_ROWS
    assert f"{chunk} rows: {chunk} stored, 0 unchanged, 0 rejected" in result.output
    assert f"import stopped after line {chunk + 1}: the database failed" in result.output
    assert "run the same import again" in result.output


def test_import_lists_the_first_rejected_rows_and_counts_the_rest(run, tmp_path, monkeypatch):
    from app.cli import importing

    monkeypatch.setattr(importing, "IMPORT_LISTED_REJECTIONS", 2)
    path = tmp_path / "labels.csv"
    bad = [f"BAD-{n},1Z999AA10000000000,ups,2026-11-20T10:00:00Z" for n in range(4)]
    path.write_text("order_number,tracking_number,carrier,label_created_at\n" + "\n".join(bad))

    result = run("import", str(path))

    assert result.exit_code == 1
    assert "4 rows: 0 stored, 0 unchanged, 4 rejected" in result.output
    listed = [line for line in result.output.splitlines() if line.startswith("  line ")]
    assert [line.split(":")[0] for line in listed] == ["  line 2", "  line 3"]
    assert "... and 2 more rejected rows (only the first 2 are listed)" in result.output


def test_report_calls_shows_pushes_polls_saved_and_subscriptions_by_carrier(
    run, empty_database_url
):
    import asyncio
    from datetime import UTC, datetime

    from app import db
    from app.tracking.models import CarrierCallCount, CarrierSubscription

    now = datetime.now(UTC)

    async def store() -> None:
        engine = db.create_engine(empty_database_url)
        try:
            async with db.create_sessionmaker(engine)() as session, session.begin():
                session.add_all(
                    [
                        CarrierCallCount(
                            day=now.date(),
                            carrier="ups",
                            leg_status="in_transit",
                            calls=3,
                            leg_polls=3,
                            legs=2,
                            pushes=7,
                            polls_saved=11,
                        ),
                        CarrierCallCount(
                            day=now.date(),
                            carrier="ups",
                            leg_status="untracked",
                            calls=0,
                            leg_polls=0,
                            legs=0,
                            pushes=2,
                            polls_saved=0,
                        ),
                        CarrierCallCount(
                            day=now.date(),
                            carrier="usps",
                            leg_status="accepted",
                            calls=5,
                            leg_polls=5,
                            legs=5,
                        ),
                        CarrierSubscription(
                            carrier="fedex",
                            scope="account",
                            subject="510087020",
                            state="active",
                            attempts=0,
                            created_at=now,
                            updated_at=now,
                        ),
                    ]
                )
        finally:
            await engine.dispose()

    asyncio.run(store())

    report = run("report", "calls").output

    assert re.search(r"ups\s+calls\s+3\s+subscriptions\s+0\s+pushes\s+9\s+saved\s+11", report), (
        report
    )
    assert re.search(r"usps\s+calls\s+5\s+subscriptions\s+0\s+pushes\s+0\s+saved\s+0", report), (
        report
    )
    assert "polls saved: at each poll of a pushed leg" in report
    assert re.search(r"fedex\s+none 0\s+pending 0\s+active 1\s+failed 0\s+expired 0", report)
    assert "total carrier calls: 8" in report


def test_report_calls_says_when_nothing_is_subscribed(run):
    assert "push subscriptions: none (every leg is polled)" in run("report", "calls").output
