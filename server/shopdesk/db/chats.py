"""The chat hot path's storage: open a conversation, store a shopper message, store a turn.

Two implementations behind one interface:

* :class:`SqliteChatStore` (a SQLite file): one dedicated connection in a writer thread.
  Work is queued from the event loop; whatever is queued while the thread is busy goes
  into the next batch, run in one transaction (group commit). A caller's await returns
  once its batch is committed, so an ack still follows the commit of its message.
* :class:`CoreChatStore` (PostgreSQL, or SQLite in memory): SQLAlchemy Core on a
  connection, one transaction per call, ``RETURNING`` for new row ids.

Both write the same rows the ORM models describe. A person's reply (inbox form or
Zendesk webhook) is written here too (``human_replies``), so that on SQLite it joins the
group commit instead of queueing for the file's write lock; the rest of the application
(inbox pages, outbox) keeps using ORM sessions on the same database.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import structlog
from sqlalchemy import JSON, DateTime, insert, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from . import human_replies
from .human_replies import HumanReply, StoredReply
from .models import AgentTurn, AuditEntry, Conversation, Handoff, Message, OutboxComment

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class ConversationRow:
    id: str
    session_token: str
    status: str
    locale: str | None
    customer_email: str | None
    customer_name: str | None
    page_product: str | None
    state: dict[str, Any]


@dataclass(slots=True)
class MessageRow:
    id: int
    client_id: str | None
    role: str
    text: str
    answered: bool
    created_at: datetime


@dataclass(slots=True)
class NewShopperMessage:
    id: int
    text: str
    answered: bool
    duplicate: bool


@dataclass(slots=True)
class TurnRows:
    """What one answered (or handed-over) shopper message writes."""

    conversation_id: str
    message_id: int          # the shopper message answered
    reply: dict[str, Any]    # message row of the reply
    conversation: dict[str, Any]  # conversation columns to update
    turn: dict[str, Any]     # agent_turn row
    audit: list[dict[str, Any]]
    handoff: dict[str, Any] | None


class ChatStore:
    async def open(self, token: str | None, new: dict[str, Any], changes: Callable[[ConversationRow], dict[str, Any]]
                   ) -> tuple[ConversationRow, list[MessageRow]]:
        """The conversation of ``token`` (updated with ``changes(row)``) and its messages,
        or a new conversation inserted from ``new`` and no messages."""
        raise NotImplementedError

    async def add_shopper_message(self, conversation_id: str, client_id: str, text: str, *, answered: bool,
                                  reopen: dict[str, Any] | None, comment: bool, now: datetime) -> NewShopperMessage:
        """Insert once per (conversation, client id); ``reopen``: conversation columns to set
        first (a closed conversation opened again); ``comment``: queue it for the ticket."""
        raise NotImplementedError

    async def add_turn(self, rows: TurnRows) -> int:
        """Store the reply, mark the shopper message answered, update the conversation, and
        add the turn, audit and hand-over rows: one transaction. Returns the reply's row id."""
        raise NotImplementedError

    async def human_reply(self, reply: HumanReply) -> StoredReply:
        """A person's reply (and/or close), in one transaction: see ``human_replies``."""
        raise NotImplementedError

    async def seen(self, conversation_id: str, message_id: int | None, now: datetime) -> int:
        """Mark a person's message (all of the conversation's, for None) as seen by the shopper."""
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def chat_store(engine: AsyncEngine) -> ChatStore:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        return SqliteChatStore(url.database)
    return CoreChatStore(engine)


def conversation_defaults(new: dict[str, Any]) -> dict[str, Any]:
    return {"status": "bot", "state": {}, **new}


# ---------------------------------------------------------------- SQLAlchemy Core

def _insert_ignore(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(Message)
    return sqlite_dialect.insert(Message)


class CoreChatStore(ChatStore):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._conv = Conversation.__table__  # type: ignore[attr-defined]
        self._msg = Message.__table__  # type: ignore[attr-defined]

    async def open(self, token: str | None, new: dict[str, Any], changes: Callable[[ConversationRow], dict[str, Any]]
                   ) -> tuple[ConversationRow, list[MessageRow]]:
        c, m = self._conv.c, self._msg.c
        async with self._engine.begin() as conn:
            row = None
            if token:
                row = (await conn.execute(
                    select(c.id, c.session_token, c.status, c.locale, c.customer_email, c.customer_name,
                           c.page_product, c.state).where(c.session_token == token))).first()
            if row is None:
                values = conversation_defaults(new)
                await conn.execute(insert(self._conv).values(**values))
                return _conversation_row(values), []
            conv = ConversationRow(*row)
            await conn.execute(update(self._conv).where(c.id == conv.id).values(**changes(conv)))
            messages = [MessageRow(*r) for r in await conn.execute(
                select(m.id, m.client_id, m.role, m.text, m.answered, m.created_at)
                .where(m.conversation_id == conv.id).order_by(m.id))]
        return conv, messages

    async def add_shopper_message(self, conversation_id: str, client_id: str, text: str, *, answered: bool,
                                  reopen: dict[str, Any] | None, comment: bool, now: datetime) -> NewShopperMessage:
        c, m = self._conv.c, self._msg.c
        async with self._engine.begin() as conn:
            if reopen is not None:
                await conn.execute(update(self._conv).where(c.id == conversation_id).values(**reopen))
            stmt = _insert_ignore(self._dialect).values(
                conversation_id=conversation_id, client_id=client_id, role="shopper", text=text,
                answered=answered, created_at=now,
            ).on_conflict_do_nothing(index_elements=["conversation_id", "client_id"]).returning(m.id)
            new_id = (await conn.execute(stmt)).scalar()
            if new_id is None:
                existing = (await conn.execute(select(m.id, m.text, m.answered).where(
                    m.conversation_id == conversation_id, m.client_id == client_id))).one()
                return NewShopperMessage(existing.id, existing.text, bool(existing.answered), True)
            if comment:
                await conn.execute(insert(OutboxComment).values(
                    conversation_id=conversation_id, message_id=new_id, text=text, created_at=now))
        return NewShopperMessage(new_id, text, answered, False)

    async def add_turn(self, rows: TurnRows) -> int:
        c, m = self._conv.c, self._msg.c
        async with self._engine.begin() as conn:
            reply_id = (await conn.execute(insert(self._msg).values(**rows.reply).returning(m.id))).scalar_one()
            await conn.execute(update(self._msg).where(m.id == rows.message_id).values(answered=True))
            await conn.execute(update(self._conv).where(c.id == rows.conversation_id).values(**rows.conversation))
            await conn.execute(insert(AgentTurn).values(**rows.turn))
            if rows.audit:
                await conn.execute(insert(AuditEntry), rows.audit)
            if rows.handoff is not None:
                await conn.execute(insert(Handoff).values(**rows.handoff))
        return int(reply_id)

    async def human_reply(self, reply: HumanReply) -> StoredReply:
        async with self._engine.begin() as conn:
            return await human_replies.core_reply(conn, reply)

    async def seen(self, conversation_id: str, message_id: int | None, now: datetime) -> int:
        async with self._engine.begin() as conn:
            return await human_replies.core_seen(conn, conversation_id, message_id, now)


def _conversation_row(values: dict[str, Any]) -> ConversationRow:
    return ConversationRow(values["id"], values["session_token"], values["status"], values.get("locale"),
                           values.get("customer_email"), values.get("customer_name"),
                           values.get("page_product"), dict(values["state"]))


# ---------------------------------------------------------------- SQLite: group commit

_SQLITE = sqlite_dialect.dialect()
# The very conversions SQLAlchemy applies, so rows read back through the ORM are alike.
_datetime_in = DateTime(timezone=True).dialect_impl(_SQLITE).bind_processor(_SQLITE)
_datetime_out = DateTime(timezone=True).dialect_impl(_SQLITE).result_processor(_SQLITE, None)
_json_in = JSON().dialect_impl(_SQLITE).bind_processor(_SQLITE)
JSON_COLUMNS = frozenset({"state", "tools", "detail"})


def _bind(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return _json_in(value)
    if isinstance(value, datetime):
        return _datetime_in(value)
    if isinstance(value, bool):
        return int(value)
    return value


class _Sql:
    """INSERT and UPDATE texts by table and column names, made once each."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str, tuple[str, ...]], str] = {}

    def insert(self, table: str, columns: tuple[str, ...]) -> str:
        key = ("i", table, columns)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = (f"INSERT INTO {table} ({', '.join(columns)}) "
                                       f"VALUES ({', '.join('?' * len(columns))})")
        return text

    def update(self, table: str, columns: tuple[str, ...]) -> str:
        key = ("u", table, columns)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = f"UPDATE {table} SET {', '.join(c + ' = ?' for c in columns)} WHERE id = ?"
        return text


@cache
def _defaults(table: str) -> tuple[tuple[str, Any], ...]:
    """The model's column defaults (what a Core insert fills in when a value is left out)."""
    return tuple((c.name, c.default) for c in SQLModel.metadata.tables[table].columns
                 if c.default is not None and (c.default.is_scalar or c.default.is_callable))


def _insert(db: sqlite3.Connection, sql: _Sql, table: str, row: dict[str, Any]) -> int:
    for name, default in _defaults(table):
        if name not in row:
            row = {**row, name: default.arg(None) if default.is_callable else default.arg}
    columns = tuple(row)
    cursor = db.execute(sql.insert(table, columns), [_bind(k, v) for k, v in row.items()])
    return int(cursor.lastrowid or 0)


def _update(db: sqlite3.Connection, sql: _Sql, table: str, key: Any, values: dict[str, Any]) -> None:
    db.execute(sql.update(table, tuple(values)), [*(_bind(k, v) for k, v in values.items()), key])


def _connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # needs the lock for a moment: may find it busy
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    except BaseException:
        db.close()
        raise
    return db


def _is_busy(exc: BaseException) -> bool:
    """Another connection holds the write lock (SQLITE_BUSY / SQLITE_LOCKED)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


Job = Callable[[sqlite3.Connection], Any]
Batch = list[tuple[Job, "asyncio.Future[Any]"]]


def _attempt(db: sqlite3.Connection, batch: Batch) -> list[tuple[bool, Any]]:
    """All jobs in one transaction, or (on any error) none of them."""
    db.execute("BEGIN IMMEDIATE")
    try:
        results = [(True, job(db)) for job, _ in batch]
        db.execute("COMMIT")
        return results
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _write_waiting(path: str, batch: Batch) -> list[tuple[bool, Any]]:
    """In a thread: wait for the lock as long as it takes (up to 30 s)."""
    db = _connect(path, 30000)
    try:
        try:
            return _attempt(db, batch)
        except Exception as exc:  # noqa: BLE001 - handed to the callers
            if len(batch) == 1:
                return [(False, exc)]
        results: list[tuple[bool, Any]] = []
        for item in batch:  # one failed: the others must not fail with it
            try:
                results.extend(_attempt(db, [item]))
            except Exception as exc:  # noqa: BLE001
                results.append((False, exc))
        return results
    finally:
        db.close()


class SqliteWriter:
    """Chat writes on the event loop's own thread, committed together (group commit).

    What is queued during one turn of the event loop is written in one transaction at the
    start of the next, and every caller resumes once it is committed. With WAL and
    ``synchronous=NORMAL`` a commit appends to the log without waiting for the disk, so
    the loop is not held up by I/O worth mentioning. The loop never waits for a lock
    either: when another connection is writing (``BEGIN IMMEDIATE`` finds the database
    busy), the batch is written from a thread that waits for it, and later batches queue
    behind it.

    Checkpoints (which copy the log into the database file and sync it) run in a thread:
    PASSIVE ones while writing goes on, which copy nearly all of the log; and every few,
    with writes held back for the moment it takes (some ms), a TRUNCATE one for the rest,
    so that the log starts again from empty instead of growing under steady load.
    """

    CHECKPOINT_EVERY = 256  # writes (of some 5 pages each) between checkpoints
    TRUNCATE_EVERY = 4  # checkpoints; the log stays below some 25 MB
    CHECKPOINT_WAIT_MS = 250  # the last step gives up (and is tried later) if kept waiting this long

    def __init__(self, path: str) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._pending: Batch = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._held = False  # a thread writes a batch, or checkpoints: the rest waits for it
        self._written = 0
        self._rounds = 0
        self._checkpointing = False

    def run(self, job: Job, *, now: bool = False) -> asyncio.Future[Any]:
        """Queue a write; the future is done once it is committed.

        ``now``: someone waits on this write (a shopper, for the ack of their message),
        so it and what is queued with it commit right away instead of at the loop's next
        turn, behind whatever else is queued there.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another loop (a test's): nothing of the old one waits
            self._loop, self._pending, self._scheduled, self._held = loop, [], False, False
            self._checkpointing = False
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((job, future))
        if now and not self._held:
            self._flush()
        elif not self._scheduled and not self._held:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = _connect(self._path, 0)  # never wait for a lock on the loop
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run in a thread
        return self._db

    def _flush(self) -> None:
        self._scheduled = False
        if self._held:
            return
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            db = self._connection()
        except Exception as exc:  # noqa: BLE001 - handed to the callers
            if _is_busy(exc):  # another connection holds the lock: wait for it off the loop
                self._write_in_thread(batch)
            else:
                self._resolve(batch, [(False, exc)] * len(batch))
            return
        try:
            results = _attempt(db, batch)
        except Exception as exc:  # noqa: BLE001 - handed to the callers
            if _is_busy(exc):
                self._write_in_thread(batch)
                return
            if len(batch) == 1:
                results = [(False, exc)]
            else:  # one failed: the others must not fail with it
                results = []
                for i, item in enumerate(batch):
                    try:
                        results.extend(_attempt(db, [item]))
                    except Exception as one:  # noqa: BLE001
                        if _is_busy(one):
                            self._resolve(batch[:i], results)
                            self._write_in_thread(batch[i:])
                            return
                        results.append((False, one))
        self._resolve(batch, results)
        self._written += len(batch)
        if self._written >= self.CHECKPOINT_EVERY and not self._checkpointing:
            self._written = 0
            self._checkpoint()

    def _hold(self, work: Callable[[], Any], then: Callable[[asyncio.Future[Any]], None]) -> None:
        """Writes wait while ``work`` runs in a thread; ``then`` gets its outcome."""
        self._held = True
        loop = asyncio.get_running_loop()

        def done(task: asyncio.Future[Any]) -> None:
            if loop is not self._loop:
                return
            self._held = False
            then(task)
            if self._pending and not self._scheduled and not self._held:
                self._scheduled = True
                loop.call_soon(self._flush)

        loop.run_in_executor(None, work).add_done_callback(done)

    def _write_in_thread(self, batch: Batch) -> None:
        def written(task: asyncio.Future[list[tuple[bool, Any]]]) -> None:
            exc = task.exception()
            self._resolve(batch, [(False, exc)] * len(batch) if exc else task.result())

        self._hold(lambda: _write_waiting(self._path, batch), written)

    @staticmethod
    def _resolve(batch: Batch, results: list[tuple[bool, Any]]) -> None:
        for (_, future), (ok, value) in zip(batch, results, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _checkpoint(self) -> None:
        self._checkpointing = True
        loop = asyncio.get_running_loop()

        def passive() -> None:
            self._checkpoint_step("PASSIVE", 30000)

        def copied(task: asyncio.Future[None]) -> None:
            if loop is not self._loop:
                return
            self._rounds += 1
            if task.exception() is not None or self._rounds % self.TRUNCATE_EVERY:
                self._checkpointed(task)
                return
            self._hold(lambda: self._checkpoint_step("TRUNCATE", self.CHECKPOINT_WAIT_MS), self._checkpointed)

        loop.run_in_executor(None, passive).add_done_callback(copied)

    def _checkpoint_step(self, mode: str, wait_ms: int) -> None:
        db = _connect(self._path, wait_ms)
        try:
            db.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        finally:
            db.close()

    def _checkpointed(self, task: asyncio.Future[Any]) -> None:
        self._checkpointing = False
        if not task.cancelled() and task.exception() is not None:
            log.warning("sqlite.checkpoint_failed", error=repr(task.exception()))

    async def aclose(self) -> None:
        while self._pending or self._scheduled or self._held or self._checkpointing:
            await asyncio.sleep(0.01)
        if self._db is not None:
            self._db.close()
            self._db = None


class SqliteChatStore(ChatStore):
    def __init__(self, path: str) -> None:
        self.writer = SqliteWriter(path)
        self._sql = _Sql()

    async def open(self, token: str | None, new: dict[str, Any], changes: Callable[[ConversationRow], dict[str, Any]]
                   ) -> tuple[ConversationRow, list[MessageRow]]:
        sql = self._sql

        def job(db: sqlite3.Connection) -> tuple[ConversationRow, list[MessageRow]]:
            row = None
            if token:
                row = db.execute(
                    "SELECT id, session_token, status, locale, customer_email, customer_name, page_product, state"
                    " FROM conversation WHERE session_token = ?", (token,)).fetchone()
            if row is None:
                values = conversation_defaults(new)
                _insert(db, sql, "conversation", values)
                return _conversation_row(values), []
            conv = ConversationRow(*row[:7], json.loads(row[7]) if row[7] is not None else {})
            _update(db, sql, "conversation", conv.id, changes(conv))
            messages = [
                MessageRow(r[0], r[1], r[2], r[3], bool(r[4]), _datetime_out(r[5]))
                for r in db.execute("SELECT id, client_id, role, text, answered, created_at FROM message"
                                    " WHERE conversation_id = ? ORDER BY id", (conv.id,))
            ]
            return conv, messages

        return await self.writer.run(job)  # type: ignore[no-any-return]

    async def add_shopper_message(self, conversation_id: str, client_id: str, text: str, *, answered: bool,
                                  reopen: dict[str, Any] | None, comment: bool, now: datetime) -> NewShopperMessage:
        sql, at = self._sql, _datetime_in(now)

        def job(db: sqlite3.Connection) -> NewShopperMessage:
            if reopen is not None:
                _update(db, sql, "conversation", conversation_id, reopen)
            cursor = db.execute(
                "INSERT INTO message (conversation_id, client_id, role, text, answered, created_at)"
                " VALUES (?, ?, 'shopper', ?, ?, ?) ON CONFLICT (conversation_id, client_id) DO NOTHING",
                (conversation_id, client_id, text, int(answered), at))
            if cursor.rowcount != 1:
                existing = db.execute("SELECT id, text, answered FROM message"
                                      " WHERE conversation_id = ? AND client_id = ?",
                                      (conversation_id, client_id)).fetchone()
                return NewShopperMessage(existing[0], existing[1], bool(existing[2]), True)
            new_id = int(cursor.lastrowid or 0)
            if comment:
                db.execute("INSERT INTO outbox_comment (conversation_id, message_id, text, attempts, created_at)"
                           " VALUES (?, ?, ?, 0, ?)", (conversation_id, new_id, text, at))
            return NewShopperMessage(new_id, text, answered, False)

        return await self.writer.run(job, now=True)  # type: ignore[no-any-return]

    async def add_turn(self, rows: TurnRows) -> int:
        sql = self._sql

        def job(db: sqlite3.Connection) -> int:
            reply_id = _insert(db, sql, "message", rows.reply)
            db.execute("UPDATE message SET answered = 1 WHERE id = ?", (rows.message_id,))
            _update(db, sql, "conversation", rows.conversation_id, rows.conversation)
            _insert(db, sql, "agent_turn", rows.turn)
            for audit in rows.audit:
                _insert(db, sql, "audit_entry", audit)
            if rows.handoff is not None:
                _insert(db, sql, "handoff", rows.handoff)
            return reply_id

        return await self.writer.run(job)  # type: ignore[no-any-return]

    async def human_reply(self, reply: HumanReply) -> StoredReply:
        return await self.writer.run(human_replies.sqlite_job(reply))  # type: ignore[no-any-return]

    async def seen(self, conversation_id: str, message_id: int | None, now: datetime) -> int:
        return await self.writer.run(  # type: ignore[no-any-return]
            human_replies.sqlite_seen_job(conversation_id, message_id, now))

    async def aclose(self) -> None:
        await self.writer.aclose()
