"""`firstscan`: the service's command line. Each command reads configuration once, here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, BinaryIO, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.errors import InvalidInput, NotFound
from app.logs import configure_logging
from app.settings import ConfigurationError, Settings, load_settings
from app.shipments import imports
from app.shipments import service as shipments_service

cli = typer.Typer(
    help="firstscan: catch the parcel the carrier never scanned, before the customer calls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")
rules_cli = typer.Typer(help="Run the reconciliation rules.", no_args_is_help=True)
cli.add_typer(rules_cli, name="rules")
report_cli = typer.Typer(help="Reports.", no_args_is_help=True)
cli.add_typer(report_cli, name="report")
quarantine_cli = typer.Typer(help="What the worker set aside.", no_args_is_help=True)
cli.add_typer(quarantine_cli, name="quarantine")

T = TypeVar("T")
# The report lists this many rejected rows and counts the rest, so memory stays bounded whatever
# the size of the file.
IMPORT_LISTED_REJECTIONS = 1_000


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"firstscan: {exc}", err=True)
        raise typer.Exit(2) from None


def _run_with_database(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = db.create_engine(settings.database_url, pool_size=2)
        try:
            return await work(db.create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(runner())


@cli.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Apply database migrations (creates the SQLite file if needed)."""
    settings = _settings()
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database migrated to {revision}")


@cli.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="API worker processes")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from app.serving import uvicorn_options

    settings = _settings()
    configure_logging(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


@cli.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or ndjson; default from the file name")
    ] = None,
) -> None:
    """Import labels from a CSV or NDJSON file; bad rows are reported with their line number."""
    settings = _settings()
    configure_logging(settings)  # a row that fails unexpectedly is logged with its traceback
    kind = (file_format or ("csv" if file.suffix.lower() == ".csv" else "ndjson")).lower()
    if kind not in ("csv", "ndjson"):
        typer.echo("firstscan: --format must be csv or ndjson", err=True)
        raise typer.Exit(2)
    if not file.is_file():  # a CSV is read twice, so a pipe will not do
        typer.echo(f"firstscan: {file}: not a regular file", err=True)
        raise typer.Exit(2)
    tally = imports.ImportTally(listed_limit=IMPORT_LISTED_REJECTIONS)
    with file.open("rb") as stream:
        try:
            rows = imports.parse_file(stream, "csv" if kind == "csv" else "ndjson")
        except InvalidInput as exc:
            typer.echo(f"firstscan: {file}: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        stopped = _import_stream(settings, file, stream, rows, tally)
    _print_import_report(tally, stopped)
    if tally.rejected_total or stopped:
        raise typer.Exit(1)


def _import_stream(
    settings: Settings,
    file: Path,
    stream: BinaryIO,
    rows: Iterator[imports.ParsedRow],
    tally: imports.ImportTally,
) -> str | None:
    """Stores `rows` with a progress bar over the file's bytes; returns why it stopped early."""

    from app.wiring import build_first_alert_deadline

    first_alert_deadline = build_first_alert_deadline(settings)

    def context() -> shipments_service.IngestContext:
        # The configured limits and windows, and each new leg's poll priority, as the API's.
        return shipments_service.IngestContext.from_settings(
            settings,
            actor=f"cli import {file.name}",
            now=db.utcnow(),
            first_alert_deadline=first_alert_deadline,
        )

    size = file.stat().st_size

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> str | None:
        with typer.progressbar(length=size, label=f"importing {file.name}") as progress:
            try:
                await imports.import_rows(
                    sessionmaker,
                    rows,
                    context=context,
                    tally=tally,
                    on_chunk=lambda _: progress.update(stream.tell() - progress.pos),
                )
            except Exception as exc:
                if not isinstance(exc, InvalidInput) and not imports.is_database_failure(exc):
                    raise
                return _why_import_stopped(exc)
        return None

    return _run_with_database(settings, work)


def _why_import_stopped(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return exc.detail
    # The driver's message can quote SQL parameters (a row's data): its first line says enough.
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).splitlines() or [""])[0]
    return f"the database failed ({type(cause).__name__}: {first_line})"


def _print_import_report(tally: imports.ImportTally, stopped: str | None) -> None:
    typer.echo(
        f"{tally.rows} rows: {tally.stored} stored, {tally.unchanged} unchanged, "
        f"{tally.rejected_total} rejected"
    )
    for error in tally.rejected:
        typer.echo(f"  line {error.line}: {error.field}: {error.reason}")
    if tally.rejected_total > len(tally.rejected):
        typer.echo(
            f"  ... and {tally.rejected_total - len(tally.rejected)} more rejected rows "
            f"(only the first {len(tally.rejected)} are listed)"
        )
    if stopped:
        typer.echo(
            f"firstscan: import stopped after line {tally.through_line}: {stopped}. The rows "
            "counted above are stored; run the same import again to store the rest (rows "
            "already stored come back unchanged).",
            err=True,
        )


@keys_cli.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="what the key may do", case_sensitive=False)],
    name: Annotated[str | None, typer.Option(help="who or what holds the key")] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    settings = _settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, str]:
        async with db.session_scope(sessionmaker) as session:
            key, raw = await auth_service.create_key(
                session, role=role, name=name or f"{role.value} key", actor="cli"
            )
            return key.id, raw

    key_id, raw = _run_with_database(settings, work)
    typer.echo(f"created {role.value} key #{key_id}; store it now, it is not shown again:")
    typer.echo(raw)


@keys_cli.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves)."""
    from app.auth import repository as auth_repository

    settings = _settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
        async with db.session_scope(sessionmaker) as session:
            return [
                f"#{k.id}\t{k.role}\t{k.prefix}…\t{k.name}\t"
                + ("revoked" if k.revoked_at else "active")
                for k in await auth_repository.list_keys(session)
            ]

    for line in _run_with_database(settings, work):
        typer.echo(line)


@keys_cli.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the key's number")]) -> None:
    """Revoke an API key; requests and console sessions using it stop working at once."""
    settings = _settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
        async with db.session_scope(sessionmaker) as session:
            key = await auth_service.revoke_key(
                session, key_id=key_id, actor="cli", now=db.utcnow()
            )
            return key.name

    try:
        name = _run_with_database(settings, work)
    except NotFound as exc:
        typer.echo(f"firstscan: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked key #{key_id} ({name})")


@cli.command("worker")
def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="one pass of everything due, then exit")
    ] = False,
) -> None:
    """Poll carriers, judge orders and deliver alerts (its own process; scale out on PostgreSQL)."""
    from app.scheduler import WorkerAlreadyRunning, run_worker, single_sqlite_worker

    settings = _settings()
    configure_logging(settings)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        from app.metrics import WORKER

        start_http_server(settings.worker_metrics_port, registry=WORKER)
    try:
        with single_sqlite_worker(settings):
            asyncio.run(run_worker(settings, once=once))
    except WorkerAlreadyRunning as exc:
        typer.echo(f"firstscan worker: {exc}", err=True)
        raise typer.Exit(1) from None


@cli.command("demo")
def demo_command() -> None:
    """Load the demo orders (the seed story and a few ordinary parcels) if they are missing."""
    from app.demo import load_demo

    settings = _settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
        async with db.session_scope(sessionmaker) as session:
            return await load_demo(session, now=db.utcnow())

    created = _run_with_database(settings, work)
    typer.echo(f"demo orders created: {', '.join(created)}" if created else "demo orders present")


@cli.command("run")
def run_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """The demo in one command: migrate, load demo data, print a key, run the API and a worker."""
    from app.demo_run import run_demo

    settings = _settings()
    configure_logging(settings)
    run_demo(settings, host=host, port=port)


@rules_cli.command("check")
def rules_check(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per finding")] = False,
) -> None:
    """Judge every active order now and print the findings; changes nothing."""
    from app.reconciliation.report import print_findings
    from app.reconciliation.service import check_all_active_orders
    from app.wiring import build_reconciliation_config

    settings = _settings()
    config = build_reconciliation_config(settings)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[object]:
        async with db.session_scope(sessionmaker) as session:
            return list(await check_all_active_orders(session, now=db.utcnow(), config=config))

    verdicts = _run_with_database(settings, work)
    print_findings(verdicts, as_json=as_json, echo=typer.echo)


@rules_cli.command("plan")
def rules_plan() -> None:
    """Plan what opens at each active order's next deadline (after upgrading to planned alerts;
    the worker keeps plans current by itself). Changes no alert."""
    from app.reconciliation.service import plan_waiting_orders
    from app.wiring import build_reconciliation_config

    settings = _settings()
    config = build_reconciliation_config(settings)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
        return await plan_waiting_orders(sessionmaker, now=db.utcnow(), config=config)

    orders, plans = _run_with_database(settings, work)
    typer.echo(f"planned {plans} alerts for the next deadlines of {orders} orders")


@report_cli.command("calls")
def report_calls(
    days: Annotated[int, typer.Option(help="how many days back", min=1)] = 7,
) -> None:
    """Carrier calls per leg per day, by carrier and leg state: what a carrier bills or rations."""
    from app.tracking.report import load_call_report, print_call_report

    settings = _settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[object]:
        async with db.session_scope(sessionmaker) as session:
            return list(await load_call_report(session, since=db.utcnow().date(), days=days))

    print_call_report(_run_with_database(settings, work), echo=typer.echo)
    _print_backlog(settings)


def _print_backlog(settings: Settings) -> None:
    """What waits for a call now: a quota too small shows here before it costs an alert."""
    from app.tracking.backlog import load_backlog, print_backlog

    now = db.utcnow()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[object]:
        async with sessionmaker() as session:
            return list(await load_backlog(session, now=now))

    typer.echo("")
    typer.echo("waiting for a carrier call now:")
    print_backlog(_run_with_database(settings, work), now=now, echo=typer.echo)


@quarantine_cli.command("list")
def quarantine_list(
    limit: Annotated[int, typer.Option(help="how many to show", min=1)] = 200,
) -> None:
    """What the worker set aside because handling it raised, longest-failing first."""
    from app.reconciliation.system_alerts import list_set_aside

    settings = _settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[object]:
        async with sessionmaker() as session:
            return list(await list_set_aside(session, limit=limit))

    rows = _run_with_database(settings, work)
    for row in rows:
        typer.echo(_set_aside_line(row))
    typer.echo(f"{len(rows)} set aside" if rows else "nothing is set aside")


def _set_aside_line(row: object) -> str:
    from app.reconciliation.system_alerts import SetAsideMember

    assert isinstance(row, SetAsideMember)
    m = row.member
    return (
        f"{m.member_type:8} {m.member_id:<10} {m.job:9} failed {m.failures}x since "
        f"{m.first_failed_at:%Y-%m-%d %H:%M} UTC, next try {m.retry_at:%Y-%m-%d %H:%M} UTC\n"
        f"         {row.description}"
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
