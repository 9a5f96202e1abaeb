"""Alembic, run from code: ``shopdesk db upgrade`` and the server's start-up use it."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from ..settings import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url)
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Runs its own event loop: call it from a thread."""
    command.upgrade(alembic_config(database_url), revision)
