"""The transactional outbox: hand-overs and later shopper messages delivered to the desk.

A hand-over row is written in the same transaction as the conversation's status change
(see ConversationService). This worker delivers it, retrying with backoff until the desk
accepts, across restarts; the desk's idempotency key makes a retry after an unclear
failure (a timeout after Zendesk created the ticket) return the same ticket, never a
second one. The shopper then gets the ticket number on the socket.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .. import protocol
from ..conversations import ConversationService, conversation_channel
from ..db.models import Conversation, Handoff, Message, OutboxComment, utcnow
from ..fanout import INBOX
from .desk import HandoffCase, OpenedTicket, TicketDesk, TranscriptLine

log = structlog.get_logger(__name__)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MAX_BACKOFF_S = 60.0
LEASE_S = 30.0


def backoff(attempts: int, cap_s: float = MAX_BACKOFF_S) -> timedelta:
    return timedelta(seconds=min(cap_s, 0.5 * 2 ** max(0, attempts - 1)))


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


class OutboxWorker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], desk: TicketDesk,
                 conversations: ConversationService, public_url: str | None = None,
                 poll_s: float = 2.0, batch: int = 20, max_backoff_s: float = MAX_BACKOFF_S,
                 concurrency: int = 4, lease_s: float = LEASE_S) -> None:
        self.sessions = sessions
        self.desk = desk
        self.conversations = conversations
        self.public_url = public_url
        self.poll_s = poll_s
        self.batch = batch
        self.max_backoff_s = max_backoff_s
        self.concurrency = concurrency
        self.lease_s = lease_s

    async def run(self) -> None:
        wakeup = self.conversations.outbox_wakeup
        while True:
            wakeup.clear()
            try:
                busy = await self.deliver_due()
            except Exception:
                log.exception("outbox.round_failed")
                busy = 0
            if busy < self.batch:
                try:
                    await asyncio.wait_for(wakeup.wait(), self.poll_s)
                except TimeoutError:
                    pass

    async def deliver_due(self) -> int:
        """Deliver what is due now, a few at a time; returns how many rows were tried.

        Each row is claimed first (a lease on ``next_attempt_at``), so server processes
        sharing the database never deliver the same row twice.
        """
        limit = asyncio.Semaphore(self.concurrency)

        async def one(table: Any, row_id: int, deliver: Any) -> bool:
            async with limit:
                if not await self._claim(table, row_id):
                    return False
                await deliver(row_id)
                return True

        handoffs = [one(Handoff, i, self._deliver_handoff) for i in await self._due(Handoff)]
        tried = sum(await asyncio.gather(*handoffs))
        comments = await self._due(OutboxComment)
        for comment_id in comments:  # in order: a ticket's comments must not overtake
            tried += await one(OutboxComment, comment_id, self._deliver_comment)
        return tried

    async def _claim(self, table: Any, row_id: int) -> bool:
        now = utcnow()
        async with self.sessions() as db:
            result = await db.execute(update(table).where(
                table.id == row_id, table.delivered_at.is_(None),
                or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now),
            ).values(next_attempt_at=now + timedelta(seconds=self.lease_s)))
            await db.commit()
            return bool(result.rowcount)

    async def _due(self, table: Any) -> list[int]:
        now = utcnow()
        async with self.sessions() as db:
            rows = await db.execute(
                select(table.id).where(
                    table.delivered_at.is_(None),
                    or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now),
                ).order_by(table.id).limit(self.batch)
            )
            return [r for (r,) in rows.all()]

    async def _deliver_handoff(self, handoff_id: int) -> None:
        case = await self._case(handoff_id)
        if case is None:
            return
        try:
            ticket = await self.desk.open_ticket(case)
        except Exception as exc:
            await self._failed(Handoff, handoff_id, exc)
            return
        now = utcnow()
        async with self.sessions() as db:
            await db.execute(update(Handoff).where(Handoff.id == handoff_id).values(  # type: ignore[arg-type]
                ticket=ticket.id, requester_id=ticket.requester_id, delivered_at=now, last_error=None))
            await db.execute(update(Conversation).where(Conversation.id == case.conversation_id)  # type: ignore[arg-type]
                             .values(ticket=ticket.id))
            text = (await db.execute(select(Message.text).where(
                Message.conversation_id == case.conversation_id, Message.role == "agent"  # type: ignore[arg-type]
            ).order_by(Message.id.desc()).limit(1))).scalar() or ""  # type: ignore[union-attr]
            await db.commit()
        log.info("outbox.ticket_opened", conversation=case.conversation_id, ticket=ticket.id)
        frame = protocol.handoff(case.reason, ticket.id, text)
        await self.conversations.hub.publish(conversation_channel(case.conversation_id), {"frame": frame})
        await self.conversations.hub.publish(INBOX, {"kind": "ticket", "conversation": case.conversation_id,
                                                     "ticket": ticket.id})

    async def _deliver_comment(self, comment_id: int) -> None:
        async with self.sessions() as db:
            row = (await db.execute(select(OutboxComment, Handoff).join(
                Handoff, Handoff.conversation_id == OutboxComment.conversation_id  # type: ignore[arg-type]
            ).where(OutboxComment.id == comment_id).order_by(Handoff.id.desc()).limit(1))).first()  # type: ignore[arg-type]
        if row is None:
            return
        comment, handoff = row
        if handoff.ticket is None:  # the ticket comes first; try again soon
            await self._later(OutboxComment, comment_id, handoff.next_attempt_at)
            return
        try:
            await self.desk.add_shopper_message(OpenedTicket(handoff.ticket, handoff.requester_id), comment.text)
        except Exception as exc:
            await self._failed(OutboxComment, comment_id, exc)
            return
        async with self.sessions() as db:
            await db.execute(update(OutboxComment).where(OutboxComment.id == comment_id)  # type: ignore[arg-type]
                             .values(delivered_at=utcnow(), last_error=None))
            await db.commit()

    async def _failed(self, table: Any, row_id: int, exc: Exception) -> None:
        log.warning("outbox.delivery_failed", table=table.__tablename__, id=row_id, error=repr(exc))
        async with self.sessions() as db:
            attempts = (await db.execute(select(table.attempts).where(table.id == row_id))).scalar() or 0
            await db.execute(update(table).where(table.id == row_id).values(
                attempts=attempts + 1, last_error=repr(exc)[:2000],
                next_attempt_at=utcnow() + backoff(attempts + 1, self.max_backoff_s)))
            await db.commit()

    async def _later(self, table: Any, row_id: int, not_before: datetime | None) -> None:
        async with self.sessions() as db:
            await db.execute(update(table).where(table.id == row_id).values(
                next_attempt_at=max(_aware(not_before) or utcnow(), utcnow()) + timedelta(seconds=1)))
            await db.commit()

    async def _case(self, handoff_id: int) -> HandoffCase | None:
        async with self.sessions() as db:
            row = (await db.execute(select(Handoff, Conversation).join(
                Conversation, Conversation.id == Handoff.conversation_id  # type: ignore[arg-type]
            ).where(Handoff.id == handoff_id))).first()  # type: ignore[arg-type]
            if row is None:
                return None
            handoff, conv = row
            # The story up to the hand-over: what comes later goes to the ticket as comments,
            # and the ticket body must stay the same for an idempotent retry.
            messages = (await db.execute(select(Message).where(
                Message.conversation_id == conv.id,  # type: ignore[arg-type]
                Message.created_at <= handoff.created_at,  # type: ignore[arg-type]
            ).order_by(Message.id))).scalars().all()  # type: ignore[arg-type]
        shopper = [m.text for m in messages if m.role == "shopper"]
        email = conv.customer_email or (conv.state or {}).get("email")
        if not email:
            found = next((m for text in shopper if (m := EMAIL.search(text))), None)
            email = found.group(0) if found else None
        console = f"{self.public_url.rstrip('/')}/admin/inbox/{conv.id}" if self.public_url else None
        return HandoffCase(
            handoff_id=handoff.id or 0, conversation_id=conv.id, reason=handoff.reason,
            scenario=handoff.scenario, order_number=handoff.order_number, summary=handoff.summary,
            requester_name=conv.customer_name, requester_email=email,
            last_shopper_message=shopper[-1] if shopper else "",
            transcript=[TranscriptLine(m.role, m.text, m.created_at.isoformat(), m.author) for m in messages],
            console_url=console,
        )
