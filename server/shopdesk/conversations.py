"""The conversation service: persists what is said, restores it on resume, runs the agent.

It sits between the transport (which owns the socket) and the engine (which owns no I/O):
every shopper message is stored before its ack, every reply when it ends, and the
conversation's status (bot / handoff / closed) with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import protocol
from .db.chats import ChatStore, ConversationRow, MessageRow, TurnRows, chat_store
from .db.human_replies import HumanReply, StoredReply
from .db.models import Rating, utcnow
from .engine import Agent, Customer, HandoffEvent, HistoryItem, ReplyDone, ReplyEvent, Turn
from .fanout import INBOX, Hub, LocalHub

log = structlog.get_logger(__name__)

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")


def sign_identity(email: str, secret: str) -> str:
    """The storefront's signature of a logged-in shopper's email (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


def verify_identity(email: str, signature: str, secret: str) -> bool:
    return hmac.compare_digest(sign_identity(email, secret), signature.strip().lower())


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AgentFailure:
    """The agent raised: the transport tells the client; a hand-over follows."""

    error: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    client_id: str
    text: str
    duplicate: bool
    answered: bool


@dataclass(slots=True)
class ChatSession:
    """A conversation as one connection holds it in memory."""

    conversation_id: str
    session_token: str
    status: str
    locale: str | None
    customer: Customer | None
    page_product: str | None
    state: dict[str, Any]
    history: list[HistoryItem] = field(default_factory=list)
    history_frames: list[dict[str, Any]] = field(default_factory=list)
    # Where each shopper message (by row id) is in ``history``: what came before it.
    positions: dict[int, int] = field(default_factory=dict)
    answered_any: bool = False
    # Shopper messages stored (acked) whose answer was never stored: a crash mid-turn.
    unanswered: list[StoredMessage] = field(default_factory=list)


class ConversationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], agent: Agent | None,
                 hub: Hub | None = None, mail_grace_s: float | None = None) -> None:
        self._sessions = sessions
        # Seconds a person's unseen reply waits before it is emailed; None: no mailer.
        self.mail_grace_s = mail_grace_s
        self._store: ChatStore = chat_store(sessions.kw["bind"])
        self._agent = agent
        self.hub: Hub = hub or LocalHub()
        self.outbox_wakeup = asyncio.Event()  # set when a hand-over or comment waits for delivery

    @property
    def agent(self) -> Agent:
        if self._agent is None:
            raise RuntimeError("no agent yet: the server is still starting")
        return self._agent

    @agent.setter
    def agent(self, agent: Agent) -> None:
        self._agent = agent

    async def aclose(self) -> None:
        """Finish what is being written; the database engine may be disposed afterwards."""
        await self._store.aclose()

    async def open(
        self,
        token: str | None,
        locale: str | None,
        page_url: str | None,
        page_product: str | None,
        customer: Customer | None,
    ) -> ChatSession:
        """Resume the conversation of ``token``, or start a new one."""
        now = utcnow()
        new = {
            "id": uuid.uuid4().hex, "session_token": secrets.token_urlsafe(32), "locale": locale,
            "customer_email": customer.email if customer else None,
            "customer_name": customer.name if customer else None,
            "page_url": page_url, "page_product": page_product, "created_at": now, "updated_at": now,
        }

        def changes(conv: ConversationRow) -> dict[str, Any]:
            values: dict[str, Any] = {"updated_at": now}
            if page_product is not None or page_url is not None:
                values.update(page_product=page_product, page_url=page_url)
                conv.page_product = page_product
            if locale:
                values["locale"] = conv.locale = locale
            if customer is not None:
                values["customer_email"] = conv.customer_email = customer.email
                values["customer_name"] = conv.customer_name = customer.name
            return values

        conv, messages = await self._store.open(token, new, changes)
        return self._session(conv, messages)

    def _session(self, conv: ConversationRow, messages: list[MessageRow]) -> ChatSession:
        customer = Customer(conv.customer_email, conv.customer_name) if conv.customer_email else None
        session = ChatSession(
            conversation_id=conv.id,
            session_token=conv.session_token,
            status=conv.status,
            locale=conv.locale,
            customer=customer,
            page_product=conv.page_product,
            state=dict(conv.state or {}),
        )
        for m in messages:
            if m.role == "shopper":
                session.positions[m.id] = len(session.history)
            session.history.append(HistoryItem(m.role, m.text))
            session.history_frames.append(
                {"id": m.client_id or _frame_id(m.role, m.id), "role": m.role, "text": m.text,
                 "at": _iso(m.created_at)}
            )
            session.answered_any = session.answered_any or m.role in ("agent", "human")
            if m.role == "shopper" and not m.answered and conv.status == "bot":
                session.unanswered.append(StoredMessage(m.id, m.client_id or "", m.text, True, False))
        return session

    async def store_shopper_message(self, session: ChatSession, client_id: str, text: str) -> StoredMessage:
        """Store a shopper message once per client id; a resend returns the stored one.

        A message in a closed conversation opens it again for the agent: the person is done.
        """
        now = utcnow()
        reopen = None
        if session.status == "closed":
            reopen = {"status": "bot", "state": {}, "updated_at": now}
            session.status, session.state = "bot", {}
        stored = await self._store.add_shopper_message(
            session.conversation_id, client_id, text, answered=session.status != "bot", reopen=reopen,
            comment=session.status == "handoff", now=now)
        if stored.duplicate:
            return StoredMessage(stored.id, client_id, stored.text, True, stored.answered)
        if session.status != "bot":
            self.outbox_wakeup.set()
            await self.hub.publish(INBOX, {"kind": "message", "conversation": session.conversation_id,
                                           "role": "shopper", "text": text})
        session.positions[stored.id] = len(session.history)
        session.history.append(HistoryItem("shopper", text))
        session.history_frames.append({"id": client_id, "role": "shopper", "text": text, "at": _iso(now)})
        return StoredMessage(stored.id, client_id, text, False, session.status != "bot")

    async def answer(
        self, session: ChatSession, message: StoredMessage,
        before_store: Callable[[ReplyDone], Awaitable[None]] | None = None,
    ) -> AsyncIterator[ReplyEvent | AgentFailure]:
        """Run the agent on one stored shopper message; persist its outcome when it ends.

        ``before_store`` is given the reply before it is stored (the caller may start showing
        it); the reply itself is yielded once it is stored.
        """
        turn = Turn(
            text=message.text,
            locale=session.locale,
            customer=session.customer,
            page_product=session.page_product,
            history=_before(session, message.id),
            state=dict(session.state),
            conversation_id=session.conversation_id,
        )
        started = time.thread_time()
        final: ReplyEvent | None = None
        try:
            async for event in self.agent.respond(turn):
                if isinstance(event, (ReplyDone, HandoffEvent)):
                    final = event
                    break
                yield event
            if final is None:
                raise RuntimeError("agent ended a turn without a reply or a hand-over")
        except Exception as exc:
            # The shopper must still get an answer: a person takes over.
            log.exception("agent.failed", conversation=session.conversation_id)
            yield AgentFailure(type(exc).__name__)
            turn.state = session.state
            final = HandoffEvent("low_confidence", self._failure_text(session.locale))
        cpu_ms = (time.thread_time() - started) * 1000
        if before_store is not None and isinstance(final, ReplyDone):
            await before_store(final)
        await self._persist_turn(session, message, turn, final, cpu_ms)
        yield final

    @property
    def answers_at_once(self) -> bool:
        """The agent's turn is a few milliseconds of this process's CPU, never a wait on
        the network (the offline agent): the socket's own task may run it."""
        return bool(getattr(self.agent, "answers_at_once", False))

    def _failure_text(self, locale: str | None) -> str:
        text = getattr(self.agent, "failure_text", None)
        if callable(text):
            return str(text(locale))
        return "Sorry, something went wrong on our side. A colleague takes over and will write to you."

    async def _persist_turn(
        self, session: ChatSession, message: StoredMessage, turn: Turn, final: ReplyEvent, cpu_ms: float
    ) -> None:
        now = utcnow()
        handoff = isinstance(final, HandoffEvent)
        role = "agent"  # the hand-over text is the agent speaking, live and on reload alike
        text = final.text  # type: ignore[union-attr]
        values: dict[str, Any] = {"state": turn.state, "updated_at": now, "scenario": turn.scenario}
        if handoff:
            values.update(status="handoff", handoff_reason=final.reason)  # type: ignore[union-attr]
        if not session.answered_any:
            values["first_response_at"] = now
        actor = f"agent:{self.agent.name}"
        reply_id = await self._store.add_turn(TurnRows(
            conversation_id=session.conversation_id,
            message_id=message.id,
            reply={"conversation_id": session.conversation_id, "role": role, "text": text, "answered": True,
                   "created_at": now},
            conversation=values,
            turn={"conversation_id": session.conversation_id, "message_id": message.id, "agent": self.agent.name,
                  "scenario": turn.scenario, "confidence": turn.confidence, "language": turn.language,
                  "tools": turn.tools, "outcome": "handoff" if handoff else "answered", "cpu_ms": cpu_ms,
                  "created_at": now, **_token_columns(turn)},
            audit=[{"at": now, "conversation_id": session.conversation_id, "actor": actor, "action": a.action,
                    "order_number": a.order_number, "outcome": a.outcome, "detail": a.detail}
                   for a in turn.audit],
            handoff={"conversation_id": session.conversation_id, "reason": final.reason,  # type: ignore[union-attr]
                     "scenario": turn.scenario, "order_number": turn.order_number,
                     "summary": _summary(session.history, turn), "attempts": 0, "created_at": now}
            if handoff else None,
        ))
        session.state = turn.state
        session.answered_any = True
        if handoff:
            session.status = "handoff"
        session.history.append(HistoryItem(role, text))
        session.history_frames.append({"id": _frame_id(role, reply_id), "role": role, "text": text,
                                       "at": _iso(now)})
        if handoff:
            self.outbox_wakeup.set()
            await self.hub.publish(INBOX, {"kind": "handoff", "conversation": session.conversation_id,
                                           "reason": final.reason})  # type: ignore[union-attr]

    async def add_human_message(self, conversation_id: str, author: str, text: str, *,
                                email_if_unseen: bool = False) -> bool:
        """A person's reply: stored, then sent to the shopper's open widget wherever it is.

        ``email_if_unseen`` (the built-in inbox; Zendesk emails its requester itself): when
        a mailer is set up, an email is queued with the message, sent after the grace delay
        unless the shopper's widget got the reply by then.
        """
        due = utcnow() + timedelta(seconds=self.mail_grace_s) \
            if email_if_unseen and self.mail_grace_s is not None else None
        stored = await self.human_reply(HumanReply(author=author, text=text,
                                                   conversation_id=conversation_id, email_after=due))
        return stored.message_id is not None

    async def close(self, conversation_id: str) -> bool:
        """A person closed the conversation (inbox, or the ticket was solved)."""
        return (await self.human_reply(HumanReply(conversation_id=conversation_id, close=True))).closed

    async def human_reply(self, reply: HumanReply) -> StoredReply:
        """Store what a person did in one transaction, then tell the widget and the inbox."""
        stored = await self._store.human_reply(reply)
        channel = conversation_channel(stored.conversation_id or "")
        if stored.message_id is not None:
            event: dict[str, Any] = {"frame": protocol.human_message(f"h{stored.message_id}", reply.author,
                                                                     reply.text), "at": _iso(reply.now)}
            if reply.email_after is not None:
                event["receipt"] = stored.message_id  # the widget's process marks it seen
            await self.hub.publish(channel, event)
            await self.hub.publish(INBOX, {"kind": "message", "conversation": stored.conversation_id,
                                           "role": "human", "text": reply.text, "author": reply.author})
        if stored.closed:
            await self.hub.publish(channel, {"status": "closed"})
            await self.hub.publish(INBOX, {"kind": "closed", "conversation": stored.conversation_id})
        return stored

    async def seen(self, conversation_id: str, message_id: int | None = None) -> None:
        """The shopper's widget got a person's message (None: every one in the welcome
        history), so no email needs to carry it."""
        if await self._store.seen(conversation_id, message_id, utcnow()):
            await self.hub.publish(INBOX, {"kind": "seen", "conversation": conversation_id})

    async def rate(self, session: ChatSession, score: int, comment: str | None) -> None:
        async with self._sessions() as db:
            db.add(Rating(conversation_id=session.conversation_id, score=score, comment=comment))
            await db.commit()


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def _frame_id(role: str, row_id: int) -> str:
    """A stored message's id in history frames (shopper messages keep their client ids):
    r<row> for the agent's replies, h<row> for a person's, the same live and on resume."""
    return f"{_FRAME_PREFIX.get(role, 'm')}{row_id}"


_FRAME_PREFIX = {"agent": "r", "human": "h"}


def _token_columns(turn: Turn) -> dict[str, Any]:
    usage = getattr(turn, "usage", None) or {}
    return {k: usage.get(k) for k in TOKEN_COLUMNS}


def _before(session: ChatSession, message_id: int) -> list[HistoryItem]:
    """The history up to (not including) the shopper message being answered."""
    position = session.positions.get(message_id)
    if position is None:
        return list(session.history)
    return session.history[:position]


def _summary(history: list[HistoryItem], turn: Turn) -> str:
    lines = [f"Scenario: {turn.scenario or 'unknown'}"]
    if turn.order_number:
        lines.append(f"Order: {turn.order_number}")
    if turn.tools:
        lines.append("Looked up: " + ", ".join(dict.fromkeys(turn.tools)))
    return "\n".join(lines)
