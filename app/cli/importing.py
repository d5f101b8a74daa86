"""`firstscan import`: a label file streamed into the database, each bad row reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db
from app.cli.common import read_settings, run_with_database
from app.errors import InvalidInput
from app.logs import configure_logging
from app.settings import Settings
from app.shipments import imports
from app.shipments import service as shipments_service

# The report lists this many rejected rows and counts the rest, so memory stays bounded whatever
# the size of the file.
IMPORT_LISTED_REJECTIONS = 1_000


def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or ndjson; default from the file name")
    ] = None,
) -> None:
    """Import labels from a CSV or NDJSON file; bad rows are reported with their line number."""
    settings = read_settings()
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

    return run_with_database(settings, work)


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
