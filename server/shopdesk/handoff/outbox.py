"""The transactional outbox: hand-overs, later shopper messages and reply emails delivered.

A hand-over row is written in the same transaction as the conversation's status change
(see ConversationService). This worker delivers it, retrying with backoff until the desk
accepts, across restarts; the desk's idempotency key makes a retry after an unclear
failure (a timeout after Zendesk created the ticket) return the same ticket, never a
second one. The shopper then gets the ticket number on the socket.

A hand-over is delivered in two steps, each recorded: the ticket (``Handoff.ticket``),
then the internal note (``note_added_at``). A try that made the ticket but not the note
leaves the note alone for the next try, which never adds it twice (see ``add_note``).

Shopper messages after the hand-over (``OutboxComment``) follow in order, once the
hand-over is delivered. One with an email address in it, on a ticket whose requester is
still the placeholder, first makes that address the requester (and records it on the
conversation): the next comments are the new requester's.

A person's reply in the built-in inbox queues an ``OutboxEmail``, due after a grace
delay; see ``reply_mail``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .. import protocol
from ..conversations import ConversationService, conversation_channel
from ..db.models import Conversation, Handoff, Message, OutboxComment, OutboxEmail, utcnow
from ..fanout import INBOX
from ..mail import permanent
from .desk import EMAIL, HandoffCase, OpenedTicket, TicketDesk, TranscriptLine, written_address
from .reply_mail import ReplyEmails

log = structlog.get_logger(__name__)
MAX_BACKOFF_S = 60.0
LEASE_S = 30.0
MAIL_ATTEMPTS = 12  # over some 5 minutes of backoff; then the reply waits for the next visit


def backoff(attempts: int, cap_s: float = MAX_BACKOFF_S) -> timedelta:
    return timedelta(seconds=min(cap_s, 0.5 * 2 ** max(0, attempts - 1)))


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


class OutboxWorker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], desk: TicketDesk,
                 conversations: ConversationService, public_url: str | None = None,
                 poll_s: float = 2.0, batch: int = 20, max_backoff_s: float = MAX_BACKOFF_S,
                 concurrency: int = 4, lease_s: float = LEASE_S,
                 emails: ReplyEmails | None = None) -> None:
        self.sessions = sessions
        self.desk = desk
        self.conversations = conversations
        self.public_url = public_url
        self.poll_s = poll_s
        self.batch = batch
        self.max_backoff_s = max_backoff_s
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.emails = emails
        self._stopping = False

    async def run(self) -> None:
        """Delivers what is due, round after round, until ``stop``."""
        wakeup = self.conversations.outbox_wakeup
        while not self._stopping:
            wakeup.clear()
            try:
                busy = await self.deliver_due()
            except Exception:
                log.exception("outbox.round_failed")
                busy = 0
            if busy < self.batch and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await wakeup.wait()

    def stop(self) -> None:
        """``run`` ends after the round under way: a delivery that has begun is finished
        and recorded rather than cut off half-way (a ticket made and not recorded is made
        again on the next start, and found again by its idempotency key, but a cut-off
        database call can leave a connection that never closes)."""
        self._stopping = True
        self.conversations.outbox_wakeup.set()

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

        handoffs = await self._due(Handoff)
        emails = await self._due(OutboxEmail) if self.emails is not None else []
        tried = sum(await asyncio.gather(*(one(Handoff, i, self._deliver_handoff) for i in handoffs),
                                         *(one(OutboxEmail, i, self._deliver_email) for i in emails)))
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

    # -- hand-overs: the ticket, then its note --

    async def _deliver_handoff(self, handoff_id: int) -> None:
        found = await self._case(handoff_id)
        if found is None:
            return
        case, handoff = found
        try:
            if handoff.ticket is None:
                ticket = await self.desk.open_ticket(case)
                await self._ticket_opened(case, ticket)
            else:  # an earlier try made the ticket; the note may have been added too
                ticket = OpenedTicket(handoff.ticket, handoff.requester_id, created=False)
            # Looked for first unless this very call made the ticket, on a first try.
            await self.desk.add_note(ticket, case, look_first=not ticket.created or handoff.attempts > 0)
        except Exception as exc:  # noqa: BLE001 - any desk failure is retried later; the worker goes on
            await self._failed(Handoff, handoff_id, exc)
            return
        await self._set(Handoff, handoff_id, note_added_at=utcnow(), delivered_at=utcnow(), last_error=None)

    async def _ticket_opened(self, case: HandoffCase, ticket: OpenedTicket) -> None:
        """Record the ticket at once and tell the shopper its number (the note follows)."""
        async with self.sessions() as db:
            await db.execute(update(Handoff).where(Handoff.id == case.handoff_id).values(  # type: ignore[arg-type]
                ticket=ticket.id, requester_id=ticket.requester_id, requester_email=case.requester_email))
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

    # -- shopper messages after the hand-over --

    async def _deliver_comment(self, comment_id: int) -> None:
        async with self.sessions() as db:
            row = (await db.execute(select(OutboxComment, Handoff, Conversation).join(
                Handoff, Handoff.conversation_id == OutboxComment.conversation_id  # type: ignore[arg-type]
            ).join(Conversation, Conversation.id == OutboxComment.conversation_id)  # type: ignore[arg-type]
                .where(OutboxComment.id == comment_id).order_by(Handoff.id.desc()).limit(1))).first()  # type: ignore[arg-type]
        if row is None:
            return
        comment, handoff, conv = row
        address = None if conv.customer_email or handoff.requester_email else written_address([comment.text])
        if address and not conv.contact_email:  # the inbox and the reply emails know it at once
            await self._set(Conversation, conv.id, contact_email=address)
        if handoff.delivered_at is None:  # the ticket and its note come first; try again soon
            await self._later(OutboxComment, comment_id, handoff.next_attempt_at)
            return
        earlier = await self._earlier_comment(comment)
        if earlier is not None:  # one before it waits for a retry: it must not be overtaken
            await self._later(OutboxComment, comment_id, earlier)
            return
        ticket = OpenedTicket(handoff.ticket or "", handoff.requester_id)
        try:
            if address:
                ticket = await self.desk.set_requester(ticket, conv.customer_name, address)
                await self._set(Handoff, handoff.id, requester_id=ticket.requester_id, requester_email=address)
                log.info("outbox.requester_set", conversation=conv.id, ticket=ticket.id)
            await self.desk.add_shopper_message(ticket, comment.text)
        except Exception as exc:  # noqa: BLE001 - any desk failure is retried later; the worker goes on
            await self._failed(OutboxComment, comment_id, exc)
            return
        await self._set(OutboxComment, comment_id, delivered_at=utcnow(), last_error=None)

    async def _earlier_comment(self, comment: OutboxComment) -> datetime | None:
        """When the conversation's first undelivered comment before this one is due next."""
        async with self.sessions() as db:
            row = (await db.execute(select(OutboxComment.id, OutboxComment.next_attempt_at).where(
                OutboxComment.conversation_id == comment.conversation_id,  # type: ignore[arg-type]
                OutboxComment.delivered_at.is_(None), OutboxComment.id < comment.id,  # type: ignore[union-attr, operator]
            ).order_by(OutboxComment.id).limit(1))).first()  # type: ignore[arg-type]
        return None if row is None else (row[1] or utcnow())

    # -- a person's reply by email --

    async def _deliver_email(self, row_id: int) -> None:
        assert self.emails is not None
        conversation = None
        try:
            outcome, conversation = await self.emails.deliver(row_id)
        except Exception as exc:  # noqa: BLE001 - a mail server's failure is retried later
            # The exception may name the address: its class and code only, here and in the log.
            detail = f"{type(exc).__name__} {getattr(exc, 'code', '')}".strip()
            attempts = await self._attempts(OutboxEmail, row_id)
            if not (permanent(exc) or attempts + 1 >= MAIL_ATTEMPTS):
                await self._failed(OutboxEmail, row_id, exc, detail)
                return
            outcome = "refused" if permanent(exc) else "gave_up"
            await self._set(OutboxEmail, row_id, attempts=attempts + 1, last_error=detail)
        await self._set(OutboxEmail, row_id, outcome=outcome, delivered_at=utcnow())
        log.info("outbox.reply_email", id=row_id, outcome=outcome)
        if conversation is not None:  # an open inbox page shows what became of the reply
            await self.conversations.hub.publish(INBOX, {"kind": "email", "conversation": conversation})

    # -- bookkeeping --

    async def _set(self, table: Any, row_id: Any, **values: Any) -> None:
        async with self.sessions() as db:
            await db.execute(update(table).where(table.id == row_id).values(**values))
            await db.commit()

    async def _attempts(self, table: Any, row_id: int) -> int:
        async with self.sessions() as db:
            return int((await db.execute(select(table.attempts).where(table.id == row_id))).scalar() or 0)

    async def _failed(self, table: Any, row_id: int, exc: Exception, detail: str | None = None) -> None:
        error = detail or repr(exc)
        log.warning("outbox.delivery_failed", table=table.__tablename__, id=row_id, error=error)
        attempts = await self._attempts(table, row_id)
        await self._set(table, row_id, attempts=attempts + 1, last_error=error[:2000],
                        next_attempt_at=utcnow() + backoff(attempts + 1, self.max_backoff_s))

    async def _later(self, table: Any, row_id: int, not_before: datetime | None) -> None:
        await self._set(table, row_id,
                        next_attempt_at=max(_aware(not_before) or utcnow(), utcnow()) + timedelta(seconds=1))

    async def _case(self, handoff_id: int) -> tuple[HandoffCase, Handoff] | None:
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
        case = HandoffCase(
            handoff_id=handoff.id or 0, conversation_id=conv.id, reason=handoff.reason,
            scenario=handoff.scenario, order_number=handoff.order_number, summary=handoff.summary,
            requester_name=conv.customer_name, requester_email=email,
            last_shopper_message=shopper[-1] if shopper else "",
            transcript=[TranscriptLine(m.role, m.text, m.created_at.isoformat(), m.author) for m in messages],
            console_url=console,
        )
        return case, handoff
