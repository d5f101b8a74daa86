"""Throwaway PostgreSQL databases for the benchmarks: created, migrated, cloned, dropped.

FIRSTSCAN_BENCH_DATABASE_URL names the server (default: postgresql://postgres@127.0.0.1:5432);
its database part is ignored, the benchmarks name their own databases.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from app import migrate as app_migrate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"


def server_url() -> str:
    return os.environ.get("FIRSTSCAN_BENCH_DATABASE_URL", DEFAULT_SERVER)


def database_url(name: str, *, driver: str = "postgresql") -> str:
    """The server URL pointing at database `name` (driver "postgresql+psycopg" for SQLAlchemy)."""
    url = make_url(server_url()).set(drivername=driver, database=name)
    return url.render_as_string(hide_password=False)


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def exists(name: str) -> bool:
    with admin_connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def drop(name: str) -> None:
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create(name: str, *, template: str | None = None) -> None:
    """Creates `name` afresh, empty or as a file-level copy of `template`."""
    drop(name)
    with admin_connection() as conn:
        source = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{source}')


def migrate(name: str) -> None:
    """Runs the project's migrations (alembic upgrade head) on database `name`."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = database_url(name, driver="postgresql+psycopg")
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def run_on_fresh_database(
    work: Callable[[str], Awaitable[None]], *, name: str, sqlite: bool = False
) -> None:
    """Runs `work(url)` on a freshly migrated database: a throwaway SQLite file, or PostgreSQL
    database `name` on the benchmark server, dropped afterwards."""
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / f'{name}.db'}"
            app_migrate.upgrade(url)
            asyncio.run(work(url))
        return
    create(name)
    try:
        migrate(name)
        asyncio.run(work(database_url(name, driver="postgresql+psycopg")))
    finally:
        drop(name)
