"""The SQLite chat store: group commit on the event loop, a busy database, failures, the log."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from shopdesk.conversations import ConversationService
from shopdesk.db.chats import SqliteChatStore, SqliteWriter, chat_store
from shopdesk.db.engine import create_engine, session_factory
from shopdesk.db.migrate import upgrade
from shopdesk.db.models import utcnow

from .conftest import ScriptedAgent


@pytest.fixture
async def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteChatStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    chats = chat_store(engine)
    assert isinstance(chats, SqliteChatStore)
    now = utcnow()
    await chats.open(None, {"id": "c1", "session_token": "t1", "created_at": now, "updated_at": now},
                     lambda conv: {})
    yield chats
    await chats.aclose()
    await engine.dispose()


def add(store: SqliteChatStore, conversation: str, client_id: str, text: str) -> asyncio.Future:
    return asyncio.ensure_future(store.add_shopper_message(
        conversation, client_id, text, answered=False, reopen=None, comment=False, now=utcnow()))


def rows(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT client_id, text FROM message ORDER BY id").fetchall()


async def test_writes_wait_for_another_writer_without_holding_up_the_loop(store, db_path) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another connection has the write lock
    first, second = add(store, "c1", "m1", "one"), add(store, "c1", "m2", "two")
    ticks = 0
    for _ in range(20):  # the loop goes on meanwhile
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 20 and not first.done() and not second.done()
    other.execute("COMMIT")
    other.close()
    assert [m.duplicate for m in await asyncio.gather(first, second)] == [False, False]
    third = await add(store, "c1", "m3", "three")  # and then on the loop again
    assert not third.duplicate
    assert rows(db_path) == [("m1", "one"), ("m2", "two"), ("m3", "three")]


async def test_a_write_waits_when_the_database_is_locked_before_the_store_first_connects(db_path) -> None:
    """The store's connection is opened on the first write; if another connection holds
    the database then, the write waits for it instead of failing the shopper."""
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")  # held until this connection closes
    other.execute("SELECT 1 FROM conversation").fetchall()
    other.execute("COMMIT")
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    chats = chat_store(engine)
    now = utcnow()
    try:
        opened = asyncio.ensure_future(chats.open(
            None, {"id": "c2", "session_token": "t2", "created_at": now, "updated_at": now}, lambda conv: {}))
        await asyncio.sleep(0.2)
        assert not opened.done()
        other.close()
        await asyncio.wait_for(opened, 10)
        assert not (await add(chats, "c2", "m1", "hej")).duplicate
        assert rows(db_path) == [("m1", "hej")]
    finally:
        other.close()
        await chats.aclose()
        await engine.dispose()


async def test_a_failing_write_fails_alone(store, db_path) -> None:
    # Written in one batch: the unknown conversation breaks a foreign key, the other is fine.
    bad, good = add(store, "no-such-conversation", "m1", "lost"), add(store, "c1", "m1", "kept")
    outcome = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(outcome[0], sqlite3.IntegrityError)
    assert not outcome[1].duplicate
    assert rows(db_path) == [("m1", "kept")]
    again = await add(store, "c1", "m1", "resent")
    assert (again.duplicate, again.text) == (True, "kept")


async def test_the_log_is_truncated_under_steady_writing(store, db_path, monkeypatch) -> None:
    monkeypatch.setattr(SqliteWriter, "CHECKPOINT_EVERY", 20)
    monkeypatch.setattr(SqliteWriter, "TRUNCATE_EVERY", 2)
    wal = db_path.with_name(db_path.name + "-wal")
    sizes = []
    for i in range(400):
        await add(store, "c1", f"m{i}", "x" * 500)
        sizes.append(wal.stat().st_size)
    while store.writer._checkpointing:
        await asyncio.sleep(0.01)
    assert min(sizes[100:]) < max(sizes) / 4  # started again from empty, more than once
    assert len(rows(db_path)) == 400


async def test_the_agent_sees_the_history_before_the_message_it_answers(db_path) -> None:
    """Found by the message's id, not its text: the same words twice are two messages."""
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    agent = ScriptedAgent()
    service = ConversationService(session_factory(engine), agent)
    try:
        session = await service.open(None, "en", None, None, None)
        first = await service.store_shopper_message(session, "m1", "same words")
        second = await service.store_shopper_message(session, "m2", "same words")
        [_ async for _ in service.answer(session, first)]
        [_ async for _ in service.answer(session, second)]
        assert [h.text for h in agent.turns[0].history] == []  # not the later one's
        assert [h.text for h in agent.turns[1].history] == ["same words"]
    finally:
        await service.aclose()
        await engine.dispose()


async def test_a_shopper_message_is_committed_before_the_loop_runs_anything_else(store, db_path) -> None:
    """Its ack waits on it, so it does not queue behind other work on the loop; other
    writes still wait for the loop's next turn and commit together."""
    loop = asyncio.get_running_loop()
    seen: list[list[tuple]] = []
    message = add(store, "c1", "m1", "hej")  # its first step is queued first
    loop.call_soon(lambda: seen.append(rows(db_path)))  # other work, queued after it
    await message
    assert seen == [[("m1", "hej")]]

    other = store.writer.run(lambda db: db.execute("UPDATE conversation SET locale = 'da' WHERE id = 'c1'"))
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT locale FROM conversation WHERE id = 'c1'").fetchone() == (None,)
    await other
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT locale FROM conversation WHERE id = 'c1'").fetchone() == ("da",)
