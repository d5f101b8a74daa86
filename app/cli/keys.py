"""`firstscan keys`: API keys, created, listed and revoked."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db
from app.auth import service as auth_service
from app.auth.roles import Role
from app.cli.common import read_settings, run_with_database
from app.errors import NotFound

keys_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@keys_cli.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="what the key may do", case_sensitive=False)],
    name: Annotated[str | None, typer.Option(help="who or what holds the key")] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    settings = read_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, str]:
        async with db.session_scope(sessionmaker) as session:
            key, raw = await auth_service.create_key(
                session, role=role, name=name or f"{role.value} key", actor="cli"
            )
            return key.id, raw

    key_id, raw = run_with_database(settings, work)
    typer.echo(f"created {role.value} key #{key_id}; store it now, it is not shown again:")
    typer.echo(raw)


@keys_cli.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves)."""
    from app.auth import repository as auth_repository

    settings = read_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
        async with db.session_scope(sessionmaker) as session:
            return [
                f"#{k.id}\t{k.role}\t{k.prefix}…\t{k.name}\t"
                + ("revoked" if k.revoked_at else "active")
                for k in await auth_repository.list_keys(session)
            ]

    for line in run_with_database(settings, work):
        typer.echo(line)


@keys_cli.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the key's number")]) -> None:
    """Revoke an API key; requests and console sessions using it stop working at once."""
    settings = read_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
        async with db.session_scope(sessionmaker) as session:
            key = await auth_service.revoke_key(
                session, key_id=key_id, actor="cli", now=db.utcnow()
            )
            return key.name

    try:
        name = run_with_database(settings, work)
    except NotFound as exc:
        typer.echo(f"firstscan: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked key #{key_id} ({name})")
