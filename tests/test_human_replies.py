"""A person's reply is one transaction, on SQLite (the chat writer) and PostgreSQL alike.

The webhook's replay guard, the message and a close commit together: when the database
fails midway nothing is kept (so Zendesk's retry of the same delivery is taken, not
refused as a replay), and a replay stores nothing. Also: the migrations build exactly
the tables the models describe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from shopdesk.conversations import ConversationService
from shopdesk.db.engine import create_engine, session_factory
from shopdesk.db.human_replies import REPLAYED, STORED, UNKNOWN, HumanReply
from shopdesk.db.migrate import upgrade
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from .conftest import ScriptedAgent, fresh_postgres_database

REFUSE = {
    "sqlite": [("CREATE TRIGGER refuse BEFORE INSERT ON message WHEN NEW.role = 'human' "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")],
    "postgresql": [("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file'; END $$ LANGUAGE plpgsql"),
                   ("CREATE TRIGGER refuse BEFORE INSERT ON message FOR EACH ROW "
                    "WHEN (NEW.role = 'human') EXECUTE FUNCTION refuse()")],
}
ALLOW = {"sqlite": ["DROP TRIGGER refuse"], "postgresql": ["DROP TRIGGER refuse ON message"]}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/shop.db"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    async with fresh_postgres_database() as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def run(engine: AsyncEngine, *statements: str) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def scalar(engine: AsyncEngine, query: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(query))).scalar()


async def handed_over(service: ConversationService, engine: AsyncEngine) -> str:
    session = await service.open(None, "en", None, None, None)
    stored = await service.store_shopper_message(session, "m1", "person please")
    async for _ in service.answer(session, stored):
        pass
    await run(engine, f"UPDATE handoff SET ticket = '35436', requester_id = '1900000000002' "
                      f"WHERE conversation_id = '{session.conversation_id}'")
    return session.conversation_id


async def test_a_reply_that_fails_midway_leaves_nothing_and_the_retry_is_taken(engine: AsyncEngine) -> None:
    service = ConversationService(session_factory(engine), ScriptedAgent())
    conversation_id = await handed_over(service, engine)
    solved = HumanReply(author="Mette", text="We sent a new parcel today.", ticket="35436",
                        author_id="42", invocation="8350205582", close=True)
    await run(engine, *REFUSE[engine.dialect.name])
    with pytest.raises(Exception, match="disk is full|could not extend file"):
        await service.human_reply(solved)
    assert await scalar(engine, "SELECT count(*) FROM webhook_delivery") == 0
    assert await scalar(engine, "SELECT count(*) FROM message WHERE role = 'human'") == 0
    assert await scalar(engine, "SELECT status FROM conversation") == "handoff"

    await run(engine, *ALLOW[engine.dialect.name])
    stored = await service.human_reply(solved)  # Zendesk sends the same invocation again
    assert (stored.outcome, stored.conversation_id, stored.closed) == (STORED, conversation_id, True)
    assert await scalar(engine, "SELECT text FROM message WHERE role = 'human'") == "We sent a new parcel today."
    assert await scalar(engine, "SELECT status FROM conversation") == "closed"
    assert (await service.human_reply(solved)).outcome == REPLAYED
    assert await scalar(engine, "SELECT count(*) FROM message WHERE role = 'human'") == 1
    await service.aclose()


async def test_the_requesters_own_comment_and_an_unknown_ticket_store_nothing(engine: AsyncEngine) -> None:
    service = ConversationService(session_factory(engine), ScriptedAgent())
    await handed_over(service, engine)
    echo = await service.human_reply(HumanReply(author="Anna", text="my own message", ticket="35436",
                                                author_id="1900000000002", invocation="a"))
    unknown = await service.human_reply(HumanReply(author="Mette", text="hello", ticket="999",
                                                   invocation="b"))
    assert (echo.message_id, unknown.outcome) == (None, UNKNOWN)
    assert await scalar(engine, "SELECT count(*) FROM message WHERE role = 'human'") == 0
    await service.aclose()


async def test_the_migrations_build_what_the_models_describe(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        differences = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata))
    assert differences == []
