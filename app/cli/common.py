"""What every command shares: the settings, read once (a mistake exits naming the variable),
and a database engine for the length of one piece of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from app import db
from app.settings import ConfigurationError, Settings, load_settings

T = TypeVar("T")


def read_settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"firstscan: {exc}", err=True)
        raise typer.Exit(2) from None


def run_with_database(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = db.create_engine(settings.database_url, pool_size=2)
        try:
            return await work(db.create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(runner())
