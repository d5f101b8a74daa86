from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def find_migrations_root() -> Path:
    """The folder holding alembic.ini and migrations/: the source tree, or the working directory
    (the container image installs the package and keeps the migrations beside it)."""
    for root in (PROJECT_ROOT, Path.cwd()):
        if (root / "alembic.ini").is_file() and (root / "migrations" / "env.py").is_file():
            return root
    raise FileNotFoundError("alembic.ini and migrations/ not found; run from the project folder")


def alembic_config(database_url: str) -> Config:
    """An Alembic config for this project that targets `database_url`, wherever we run from."""
    root = find_migrations_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
