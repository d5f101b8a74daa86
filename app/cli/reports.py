"""`firstscan rules`, `report` and `quarantine`: what the rules find, what the carriers are
asked, what the worker set aside."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db
from app.cli.common import read_settings, run_with_database
from app.settings import Settings

rules_cli = typer.Typer(help="Run the reconciliation rules.", no_args_is_help=True)
report_cli = typer.Typer(help="Reports.", no_args_is_help=True)
quarantine_cli = typer.Typer(help="What the worker set aside.", no_args_is_help=True)


@rules_cli.command("check")
def rules_check(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per finding")] = False,
) -> None:
    """Judge every active order now and print the findings; changes nothing."""
    from app.reconciliation.report import print_findings
    from app.reconciliation.service import check_all_active_orders
    from app.wiring import build_reconciliation_config

    settings = read_settings()
    config = build_reconciliation_config(settings)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[object]:
        async with db.session_scope(sessionmaker) as session:
            return list(await check_all_active_orders(session, now=db.utcnow(), config=config))

    verdicts = run_with_database(settings, work)
    print_findings(verdicts, as_json=as_json, echo=typer.echo)


@rules_cli.command("plan")
def rules_plan() -> None:
    """Plan what opens at each active order's next deadline (after upgrading to planned alerts;
    the worker keeps plans current by itself). Changes no alert."""
    from app.reconciliation.service import plan_waiting_orders
    from app.wiring import build_reconciliation_config

    settings = read_settings()
    config = build_reconciliation_config(settings)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
        return await plan_waiting_orders(sessionmaker, now=db.utcnow(), config=config)

    orders, plans = run_with_database(settings, work)
    typer.echo(f"planned {plans} alerts for the next deadlines of {orders} orders")


@report_cli.command("calls")
def report_calls(
    days: Annotated[int, typer.Option(help="how many days back", min=1)] = 7,
) -> None:
    """Carrier calls per leg per day, by carrier and leg state: what a carrier bills or rations;
    the pushes read and the polls push saved, and push subscriptions by carrier and state."""
    from app.tracking.report import load_call_report, print_call_report

    settings = read_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> object:
        async with db.session_scope(sessionmaker) as session:
            return await load_call_report(session, since=db.utcnow().date(), days=days)

    print_call_report(run_with_database(settings, work), echo=typer.echo)
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
    print_backlog(run_with_database(settings, work), now=now, echo=typer.echo)


@quarantine_cli.command("list")
def quarantine_list(
    limit: Annotated[int, typer.Option(help="how many to show", min=1)] = 200,
) -> None:
    """What the worker set aside because handling it raised, longest-failing first."""
    from app.reconciliation.system_alerts import list_set_aside

    settings = read_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[object]:
        async with sessionmaker() as session:
            return list(await list_set_aside(session, limit=limit))

    rows = run_with_database(settings, work)
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
