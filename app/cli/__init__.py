"""`firstscan`: the service's command line. Each command reads configuration once, here."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db, migrate
from app.cli import importing, keys, reports
from app.cli.common import read_settings, run_with_database
from app.logs import configure_logging

cli = typer.Typer(
    help="firstscan: catch the parcel the carrier never scanned, before the customer calls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(keys.keys_cli, name="keys")
cli.add_typer(reports.rules_cli, name="rules")
cli.add_typer(reports.report_cli, name="report")
cli.add_typer(reports.quarantine_cli, name="quarantine")


@cli.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Apply database migrations (creates the SQLite file if needed)."""
    settings = read_settings()
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

    settings = read_settings()
    configure_logging(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


cli.command("import")(importing.import_command)


@cli.command("worker")
def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="one pass of everything due, then exit")
    ] = False,
) -> None:
    """Poll carriers, judge orders and deliver alerts (its own process; scale out on PostgreSQL)."""
    from app.scheduler import WorkerAlreadyRunning, run_worker, single_sqlite_worker

    settings = read_settings()
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

    settings = read_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
        async with db.session_scope(sessionmaker) as session:
            return await load_demo(session, now=db.utcnow())

    created = run_with_database(settings, work)
    typer.echo(f"demo orders created: {', '.join(created)}" if created else "demo orders present")


@cli.command("run")
def run_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """The demo in one command: migrate, load demo data, print a key, run the API and a worker."""
    from app.demo_run import run_demo

    settings = read_settings()
    configure_logging(settings)
    run_demo(settings, host=host, port=port)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
