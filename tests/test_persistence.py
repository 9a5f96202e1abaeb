"""The conversation service against real databases: SQLite and PostgreSQL.

Each test gets a fresh database migrated by alembic (PostgreSQL: a database of its own,
created next to ``test`` and dropped afterwards) and checks what is stored, row by row.
Without PostgreSQL the ``postgres`` cases fail, unless SHOPDESK_SKIP_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from shopdesk.conversations import AgentFailure, ChatSession, ConversationService, StoredMessage
from shopdesk.db.engine import create_engine, session_factory
from shopdesk.db.migrate import alembic_config, upgrade
from shopdesk.db.models import (
    AgentTurn,
    AuditEntry,
    Conversation,
    Handoff,
    Message,
    OutboxComment,
    Rating,
)
from shopdesk.engine import (
    AuditRecord,
    Customer,
    HandoffEvent,
    ReplyDelta,
    ReplyDone,
    StatusEvent,
    Turn,
)
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import ScriptedAgent, fresh_postgres_database

TABLES = {"conversation", "message", "rating", "audit_entry", "agent_turn", "handoff", "outbox_comment",
          "alembic_version"}


class LookupAgent(ScriptedAgent):
    """The scripted agent, plus an order look-up (tools, audit) for texts about an order."""

    async def respond(self, turn: Turn) -> AsyncIterator[object]:
        if turn.text.startswith("order"):
            turn.scenario, turn.confidence, turn.language = "order_status", 0.93, "en"
            turn.tools.append("get_order")
            turn.order_number = "1003"
            turn.audit.append(AuditRecord("order_lookup", "1003", "ok", {"email_matched": True}))
        async for event in super().respond(turn):
            yield event


# ---------------------------------------------------------------- databases



@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/shop.db"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    await asyncio.to_thread(upgrade, empty_database_url)
    return empty_database_url


@dataclass
class Shop:
    service: ConversationService
    agent: LookupAgent
    engine: AsyncEngine

    async def rows(self, model: Any, **where: Any) -> list[Any]:
        statement = select(model)
        for column, value in where.items():
            statement = statement.where(getattr(model, column) == value)
        async with session_factory(self.engine)() as db:
            return list((await db.execute(statement.order_by(model.id))).scalars().all())

    async def conversation(self, session: ChatSession) -> Conversation:
        (conv,) = await self.rows(Conversation, id=session.conversation_id)
        return conv

    async def answer(self, session: ChatSession, message: StoredMessage) -> list[object]:
        return [event async for event in self.service.answer(session, message)]


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    engine = create_engine(database_url)
    agent = LookupAgent()
    yield Shop(ConversationService(session_factory(engine), agent), agent, engine)
    await engine.dispose()


async def new_chat(shop: Shop, customer: Customer | None = None) -> ChatSession:
    return await shop.service.open(None, "en", "https://havtorn.example/products/p102", "p102", customer)


# ---------------------------------------------------------------- open and resume

async def test_open_stores_a_new_conversation_and_resume_finds_it(shop: Shop) -> None:
    session = await new_chat(shop, Customer("anna@example.dk", "Anna"))
    assert session.status == "bot" and session.history_frames == [] and session.unanswered == []
    conv = await shop.conversation(session)
    assert (conv.session_token, conv.status, conv.locale) == (session.session_token, "bot", "en")
    assert (conv.customer_email, conv.customer_name) == ("anna@example.dk", "Anna")
    assert (conv.page_product, conv.state) == ("p102", {})

    resumed = await shop.service.open(session.session_token, "da", None, "p104", None)
    assert resumed.conversation_id == session.conversation_id
    assert resumed.customer == Customer("anna@example.dk", "Anna")  # the verified login stays
    conv = await shop.conversation(session)
    assert (conv.locale, conv.page_product) == ("da", "p104")
    assert len(await shop.rows(Conversation)) == 1


async def test_an_unknown_token_opens_a_new_conversation(shop: Shop) -> None:
    session = await new_chat(shop)
    other = await shop.service.open("no-such-token", None, None, None, None)
    assert other.conversation_id != session.conversation_id
    assert other.session_token not in ("no-such-token", session.session_token)
    assert len(await shop.rows(Conversation)) == 2


# ---------------------------------------------------------------- shopper messages

async def test_a_message_is_stored_once_per_client_id(shop: Shop) -> None:
    session = await new_chat(shop)
    first = await shop.service.store_shopper_message(session, "m1", "Is shipping free?")
    assert (first.client_id, first.text, first.duplicate, first.answered) == ("m1", "Is shipping free?", False, False)

    again = await shop.service.store_shopper_message(session, "m1", "Is shipping free?? (resent)")
    assert again == StoredMessage(first.id, "m1", "Is shipping free?", True, False)  # the stored one

    (row,) = await shop.rows(Message, conversation_id=session.conversation_id)
    assert (row.id, row.client_id, row.role, row.text, row.answered) == (
        first.id, "m1", "shopper", "Is shipping free?", False)

    # Client ids are unique within a conversation, not across them.
    other = await new_chat(shop)
    elsewhere = await shop.service.store_shopper_message(other, "m1", "Hello")
    assert not elsewhere.duplicate and elsewhere.id != first.id
    assert len(await shop.rows(Message)) == 2


async def test_a_stored_but_unanswered_message_waits_for_the_resume(shop: Shop) -> None:
    session = await new_chat(shop)
    stored = await shop.service.store_shopper_message(session, "m1", "order 1003?")
    resumed = await shop.service.open(session.session_token, None, None, None, None)
    assert resumed.unanswered == [StoredMessage(stored.id, "m1", "order 1003?", True, False)]
    assert [(h["id"], h["role"]) for h in resumed.history_frames] == [("m1", "shopper")]

    events = await shop.answer(resumed, resumed.unanswered[0])
    assert isinstance(events[-1], ReplyDone)
    again = await shop.service.open(session.session_token, None, None, None, None)
    assert again.unanswered == []


# ---------------------------------------------------------------- answers

async def test_an_answer_stores_reply_state_turn_and_audit(shop: Shop) -> None:
    session = await new_chat(shop)
    stored = await shop.service.store_shopper_message(session, "m1", "order 1003, where is it?")
    events = await shop.answer(session, stored)
    assert [type(e) for e in events] == [ReplyDelta, ReplyDelta, ReplyDone]
    assert events[-1] == ReplyDone("You said: order 1003, where is it?", ["Again"])

    shopper, reply = await shop.rows(Message, conversation_id=session.conversation_id)
    assert (shopper.client_id, shopper.answered) == ("m1", True)
    assert (reply.role, reply.text, reply.client_id) == ("agent", "You said: order 1003, where is it?", None)

    conv = await shop.conversation(session)
    assert (conv.status, conv.state, conv.scenario) == ("bot", {"count": 1}, "order_status")
    assert conv.first_response_at is not None

    (turn,) = await shop.rows(AgentTurn, conversation_id=session.conversation_id)
    assert (turn.message_id, turn.agent, turn.scenario, turn.language) == (stored.id, "scripted", "order_status", "en")
    assert (turn.tools, turn.outcome) == (["get_order"], "answered")
    assert turn.confidence == pytest.approx(0.93) and turn.cpu_ms is not None and turn.cpu_ms >= 0

    (audit,) = await shop.rows(AuditEntry, conversation_id=session.conversation_id)
    assert (audit.actor, audit.action, audit.order_number, audit.outcome, audit.detail) == (
        "agent:scripted", "order_lookup", "1003", "ok", {"email_matched": True})

    # A later connection picks up where this one left off.
    resumed = await shop.service.open(session.session_token, None, None, None, None)
    assert [(h["role"], h["text"]) for h in resumed.history_frames] == [
        ("shopper", "order 1003, where is it?"), ("agent", "You said: order 1003, where is it?")]
    assert resumed.history_frames[0]["id"] == "m1"
    assert resumed.state == {"count": 1} and resumed.unanswered == [] and resumed.answered_any
    second = await shop.service.store_shopper_message(resumed, "m2", "thanks")
    await shop.answer(resumed, second)
    assert (await shop.conversation(session)).state == {"count": 2}
    assert [h.text for h in shop.agent.turns[-1].history] == [
        "order 1003, where is it?", "You said: order 1003, where is it?"]


async def test_a_handoff_stores_status_reason_and_a_handoff_row(shop: Shop) -> None:
    session = await new_chat(shop)
    stored = await shop.service.store_shopper_message(session, "m1", "person please")
    events = await shop.answer(session, stored)
    assert events == [HandoffEvent("customer_request", "A colleague takes over.")]
    assert session.status == "handoff"

    conv = await shop.conversation(session)
    assert (conv.status, conv.handoff_reason) == ("handoff", "customer_request")
    (handoff,) = await shop.rows(Handoff, conversation_id=session.conversation_id)
    assert (handoff.reason, handoff.ticket, handoff.delivered_at, handoff.attempts) == ("customer_request", None, None, 0)
    assert handoff.summary.startswith("Scenario:")
    (turn,) = await shop.rows(AgentTurn, conversation_id=session.conversation_id)
    assert turn.outcome == "handoff"
    messages = await shop.rows(Message, conversation_id=session.conversation_id)
    # The hand-over text is the agent speaking, live and on reload alike.
    assert [(m.role, m.answered, m.text) for m in messages] == [
        ("shopper", True, "person please"), ("agent", True, "A colleague takes over.")]

    # After the hand-over a message is stored for the person (and queued for the ticket),
    # not left for the agent.
    later = await shop.service.store_shopper_message(session, "m2", "hello?")
    assert later.answered and not later.duplicate
    (comment,) = await shop.rows(OutboxComment, conversation_id=session.conversation_id)
    assert (comment.message_id, comment.text, comment.delivered_at) == (later.id, "hello?", None)
    resumed = await shop.service.open(session.session_token, None, None, None, None)
    assert resumed.status == "handoff" and resumed.unanswered == []
    assert [h["role"] for h in resumed.history_frames] == ["shopper", "agent", "shopper"]
    assert len(shop.agent.turns) == 1 and stored.id < later.id


async def test_a_closed_conversation_is_reopened_for_the_agent_by_a_new_message(shop: Shop) -> None:
    session = await new_chat(shop)
    await shop.answer(session, await shop.service.store_shopper_message(session, "m1", "person please"))
    assert await shop.service.close(session.conversation_id)
    resumed = await shop.service.open(session.session_token, None, None, None, None)
    assert resumed.status == "closed"
    stored = await shop.service.store_shopper_message(resumed, "m2", "one more question")
    assert not stored.answered
    conv = await shop.conversation(session)
    assert (conv.status, conv.state) == ("bot", {})
    assert isinstance((await shop.answer(resumed, stored))[-1], ReplyDone)


async def test_an_agent_failure_is_handed_over_and_stored(shop: Shop) -> None:
    session = await new_chat(shop)
    stored = await shop.service.store_shopper_message(session, "m1", "boom")
    events = await shop.answer(session, stored)
    assert events[0] == AgentFailure("RuntimeError")
    assert isinstance(events[-1], HandoffEvent) and events[-1].reason == "low_confidence"
    conv = await shop.conversation(session)
    assert (conv.status, conv.handoff_reason) == ("handoff", "low_confidence")
    (handoff,) = await shop.rows(Handoff, conversation_id=session.conversation_id)
    assert handoff.reason == "low_confidence"


async def test_a_status_event_is_passed_on_and_not_stored(shop: Shop) -> None:
    session = await new_chat(shop)
    stored = await shop.service.store_shopper_message(session, "m1", "slow answer please")
    events = await shop.answer(session, stored)
    assert events[0] == StatusEvent("thinking...")
    assert [m.role for m in await shop.rows(Message)] == ["shopper", "agent"]


async def test_history_ids_stay_the_same_on_resume_and_never_collide(shop: Shop) -> None:
    session = await new_chat(shop)
    await shop.answer(session, await shop.service.store_shopper_message(session, "m1", "hi"))
    live = [h["id"] for h in session.history_frames]
    await shop.service.store_shopper_message(session, "m2", "hello again")  # as widgets number them
    resumed = await shop.service.open(session.session_token, None, None, None, None)
    ids = [h["id"] for h in resumed.history_frames]
    assert ids[:2] == live
    assert len(set(ids)) == len(ids)


# ---------------------------------------------------------------- ratings

async def test_ratings_are_stored_and_the_last_one_counts(shop: Shop) -> None:
    session = await new_chat(shop)
    await shop.service.rate(session, 5, "Quick and friendly")
    await shop.service.rate(session, 2, None)
    ratings = await shop.rows(Rating, conversation_id=session.conversation_id)
    assert [(r.score, r.comment) for r in ratings] == [(5, "Quick and friendly"), (2, None)]
    assert ratings[-1].created_at is not None


# ---------------------------------------------------------------- the command

async def test_shopdesk_db_upgrade_brings_an_empty_database_to_head(empty_database_url: str) -> None:
    env = {**os.environ, "SHOPDESK_DATABASE_URL": empty_database_url}
    for _ in range(2):  # and a second run finds nothing to do
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "shopdesk", "db", "upgrade"], env=env,
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "database at head" in done.stdout

    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    finally:
        await engine.dispose()
    assert TABLES <= tables
    assert list(versions) == [head]
