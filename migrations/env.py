"""Alembic environment: async engines (aiosqlite, asyncpg, psycopg) and SQLModel metadata."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from shopdesk.db import models  # noqa: F401  (registers the tables)
from shopdesk.db.engine import create_engine

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    return str(config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url"))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Two server processes starting together must not both create the schema.
            await connection.execute(text("SELECT pg_advisory_lock(73110042)"))
            await connection.commit()
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
