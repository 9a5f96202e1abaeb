"""A person's reply stored in one transaction, with everything that comes with it.

A reply comes from the inbox form or a Zendesk webhook. With it go the webhook's replay
guard, the message, the conversation's times, an email queued in case the shopper does
not see it, and a close (a solved ticket). All of it commits together or not at all: a
failure leaves nothing half stored (Zendesk sends the webhook again, and it is not
refused as a replay), and a replay stores nothing.

One statement list, written twice: as SQL for the SQLite writer (group commit on the
event loop, see ``chats.SqliteWriter``) and as SQLAlchemy Core for PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import DateTime, bindparam, func, insert, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from .models import Conversation, Handoff, Message, OutboxEmail, WebhookDelivery, utcnow

STORED, IGNORED, UNKNOWN, REPLAYED = "stored", "ignored", "unknown_ticket", "replayed"


@dataclass(slots=True)
class HumanReply:
    """What a person did: wrote ``text`` (empty: nothing to store) and/or closed."""

    author: str = ""
    text: str = ""
    conversation_id: str | None = None  # the inbox knows the conversation...
    ticket: str | None = None           # ...a webhook names the ticket (or the external id)
    external_id: str | None = None
    author_id: str | None = None        # a comment of the ticket's requester is the shopper's own
    invocation: str | None = None       # a webhook's invocation id: refused when seen before
    close: bool = False
    email_after: datetime | None = None  # queue the email fallback, due then
    now: datetime = field(default_factory=utcnow)

    def is_reply(self, requester_id: str | None) -> bool:
        return bool(self.text) and not (requester_id and self.author_id == requester_id)


@dataclass(frozen=True, slots=True)
class StoredReply:
    outcome: str  # stored | ignored | unknown_ticket | replayed
    conversation_id: str | None = None
    message_id: int | None = None
    closed: bool = False


# ---------------------------------------------------------------- SQLite (the writer's jobs)

_SQLITE = sqlite_dialect.dialect()
_datetime_in = DateTime(timezone=True).dialect_impl(_SQLITE).bind_processor(_SQLITE)


def sqlite_job(reply: HumanReply) -> Callable[[sqlite3.Connection], StoredReply]:
    at = _datetime_in(reply.now)
    due = _datetime_in(reply.email_after) if reply.email_after is not None else None

    def job(db: sqlite3.Connection) -> StoredReply:
        if reply.invocation is not None and db.execute(
                "INSERT INTO webhook_delivery (invocation_id, received_at) VALUES (?, ?)"
                " ON CONFLICT (invocation_id) DO NOTHING", (reply.invocation, at)).rowcount != 1:
            return StoredReply(REPLAYED)
        conversation_id, requester_id = _sqlite_target(db, reply)
        if conversation_id is None:
            return StoredReply(UNKNOWN)
        message_id = None
        if reply.is_reply(requester_id):
            message_id = int(db.execute(
                "INSERT INTO message (conversation_id, role, author, text, answered, created_at)"
                " VALUES (?, 'human', ?, ?, 1, ?)", (conversation_id, reply.author, reply.text, at)
            ).lastrowid or 0)
            db.execute("UPDATE conversation SET updated_at = ?,"
                       " first_response_at = COALESCE(first_response_at, ?) WHERE id = ?",
                       (at, at, conversation_id))
            if due is not None:
                db.execute("INSERT INTO outbox_email (conversation_id, message_id, attempts,"
                           " next_attempt_at, created_at) VALUES (?, ?, 0, ?, ?)",
                           (conversation_id, message_id, due, at))
        closed = reply.close and db.execute(
            "UPDATE conversation SET status = 'closed', updated_at = ? WHERE id = ? AND status != 'closed'",
            (at, conversation_id)).rowcount == 1
        return StoredReply(STORED if message_id else IGNORED, conversation_id, message_id, closed)

    return job


def _sqlite_target(db: sqlite3.Connection, reply: HumanReply) -> tuple[str | None, str | None]:
    """The conversation (and the ticket's requester) the reply belongs to."""
    if reply.conversation_id is not None:
        found = db.execute("SELECT id FROM conversation WHERE id = ?", (reply.conversation_id,)).fetchone()
        return (found[0] if found else None), None
    row = db.execute("SELECT conversation_id, requester_id FROM handoff WHERE ticket = ?"
                     " ORDER BY id DESC LIMIT 1", (reply.ticket or "",)).fetchone()
    if row is not None:
        return row[0], row[1]
    if reply.external_id:
        found = db.execute("SELECT id FROM conversation WHERE id = ?", (reply.external_id,)).fetchone()
        return (found[0] if found else None), None
    return None, None


def sqlite_seen_job(conversation_id: str, message_id: int | None, now: datetime
                    ) -> Callable[[sqlite3.Connection], int]:
    at = _datetime_in(now)

    def job(db: sqlite3.Connection) -> int:
        sql = ("UPDATE message SET seen_at = ? WHERE conversation_id = ? AND role = 'human'"
               " AND seen_at IS NULL")
        params: tuple[Any, ...] = (at, conversation_id)
        if message_id is not None:
            sql, params = sql + " AND id = ?", (*params, message_id)
        return int(db.execute(sql, params).rowcount)

    return job


# ---------------------------------------------------------------- SQLAlchemy Core

class _Core:
    """The statements, built once with bind parameters: building and cache-keying them
    anew on every webhook cost more CPU than the database did."""

    def __init__(self, dialect: str) -> None:
        conv, msg = Conversation.__table__, Message.__table__  # type: ignore[attr-defined]
        handoff, c = Handoff.__table__, conv.c  # type: ignore[attr-defined]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as insert_ignore
        else:
            insert_ignore = sqlite_dialect.insert
        self.guard = insert_ignore(WebhookDelivery.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["invocation_id"])
        self.by_id = select(c.id).where(c.id == bindparam("cid"))
        self.by_ticket = (select(handoff.c.conversation_id, handoff.c.requester_id)
                          .where(handoff.c.ticket == bindparam("ticket"))
                          .order_by(handoff.c.id.desc()).limit(1))
        self.message = insert(msg).returning(msg.c.id)
        self.touch = update(conv).where(c.id == bindparam("cid")).values(
            updated_at=bindparam("at"), first_response_at=func.coalesce(c.first_response_at, bindparam("at")))
        self.email = insert(OutboxEmail.__table__)  # type: ignore[attr-defined]
        self.close = update(conv).where(c.id == bindparam("cid"), c.status != "closed").values(
            status="closed", updated_at=bindparam("at"))
        m = msg.c
        self.seen = update(msg).where(m.conversation_id == bindparam("cid"), m.role == "human",
                                      m.seen_at.is_(None)).values(seen_at=bindparam("at"))
        self.seen_one = self.seen.where(m.id == bindparam("mid"))


@cache
def _core(dialect: str) -> _Core:
    return _Core(dialect)


async def core_reply(conn: AsyncConnection, reply: HumanReply) -> StoredReply:
    """The same statements on ``conn``; the caller owns the transaction."""
    q, now = _core(conn.dialect.name), reply.now
    if reply.invocation is not None and (await conn.execute(
            q.guard, {"invocation_id": reply.invocation, "received_at": now})).rowcount != 1:
        return StoredReply(REPLAYED)
    conversation_id, requester_id = await _core_target(conn, q, reply)
    if conversation_id is None:
        return StoredReply(UNKNOWN)
    message_id = None
    if reply.is_reply(requester_id):
        message_id = (await conn.execute(q.message, {
            "conversation_id": conversation_id, "role": "human", "author": reply.author,
            "text": reply.text, "answered": True, "created_at": now})).scalar_one()
        await conn.execute(q.touch, {"cid": conversation_id, "at": now})
        if reply.email_after is not None:
            await conn.execute(q.email, {"conversation_id": conversation_id, "message_id": message_id,
                                         "attempts": 0, "next_attempt_at": reply.email_after,
                                         "created_at": now})
    closed = reply.close and (await conn.execute(q.close, {"cid": conversation_id, "at": now})).rowcount == 1
    return StoredReply(STORED if message_id else IGNORED, conversation_id, message_id, closed)


async def _core_target(conn: AsyncConnection, q: _Core, reply: HumanReply) -> tuple[str | None, str | None]:
    if reply.conversation_id is not None:
        return (await conn.execute(q.by_id, {"cid": reply.conversation_id})).scalar(), None
    row = (await conn.execute(q.by_ticket, {"ticket": reply.ticket or ""})).first()
    if row is not None:
        return row[0], row[1]
    if reply.external_id:
        return (await conn.execute(q.by_id, {"cid": reply.external_id})).scalar(), None
    return None, None


async def core_seen(conn: AsyncConnection, conversation_id: str, message_id: int | None,
                    now: datetime) -> int:
    q = _core(conn.dialect.name)
    if message_id is None:
        result = await conn.execute(q.seen, {"cid": conversation_id, "at": now})
    else:
        result = await conn.execute(q.seen_one, {"cid": conversation_id, "at": now, "mid": message_id})
    return int(result.rowcount)
