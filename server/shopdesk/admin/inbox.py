"""What the inbox shows: handed-over conversations, and one conversation in full."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..db.models import Conversation, Handoff, Message, OutboxEmail

TABS = {"open": "handoff", "closed": "closed"}
LIST_LIMIT = 200
SNIPPET_CHARS = 140

REASONS = {
    "customer_request": "Asked for a person",
    "negative_sentiment": "Unhappy shopper",
    "amount_over_limit": "Amount over the agent's limit",
    "unknown_defect": "Defect the agent does not know",
    "policy": "Kept for people by store policy",
    "low_confidence": "The agent was not sure",
}


def reason_label(reason: str | None) -> str:
    if not reason:
        return "Unknown"
    return REASONS.get(reason, reason.replace("_", " ").capitalize())


@dataclass(frozen=True, slots=True)
class InboxRow:
    conversation_id: str
    status: str
    reason: str | None
    scenario: str | None
    order_number: str | None
    ticket: str | None
    customer: str | None
    handed_over_at: datetime
    updated_at: datetime
    last_role: str | None
    last_text: str
    waiting_since: datetime | None  # the shopper's oldest message no person has answered yet

    @property
    def snippet(self) -> str:
        text = " ".join(self.last_text.split())
        return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class ConversationView:
    conversation: Conversation
    handoff: Handoff | None
    messages: list[Message]
    emails: dict[int, OutboxEmail] = field(default_factory=dict)  # by message id

    def delivery(self, message: Message, mail_on: bool) -> str | None:
        """What became of a person's reply, for the operator: seen, emailed, or waiting."""
        if message.role != "human":
            return None
        if message.seen_at is not None:
            return "Seen in the chat"
        email = self.emails.get(message.id or 0)
        if email is not None and email.outcome == "sent":
            return "Not seen in the chat: emailed to the shopper"
        if email is not None and email.outcome is None:
            return "Not seen yet: emailed to the shopper if they do not come back to the chat shortly"
        if email is not None and email.outcome == "no_address":
            return "Not seen: the shopper is away and gave no email address; the reply waits for their next visit"
        if email is not None and email.outcome in ("refused", "gave_up"):
            return "Not seen: the email could not be delivered; the reply waits for the shopper's next visit"
        if not mail_on or (email is not None and email.outcome == "no_mailer"):
            return ("Not seen: the shopper is away; email is not set up (SHOPDESK_SMTP_URL), "
                    "so the reply waits for their next visit")
        return "Not seen in the chat yet"


async def inbox(sessions: async_sessionmaker[AsyncSession], status: str) -> list[InboxRow]:
    """Conversations in ``status`` (handoff or closed), the newest hand-over first."""
    latest = (select(Handoff.conversation_id, func.max(Handoff.id).label("id"))
              .group_by(Handoff.conversation_id).subquery())
    async with sessions() as db:
        rows = (await db.execute(
            select(Conversation, Handoff)
            .join(latest, latest.c.conversation_id == Conversation.id)
            .join(Handoff, Handoff.id == latest.c.id)  # type: ignore[arg-type]
            .where(Conversation.status == status)  # type: ignore[arg-type]
            .order_by(Handoff.created_at.desc(), Handoff.id.desc())  # type: ignore[attr-defined, union-attr]
            .limit(LIST_LIMIT)
        )).all()
        ids = [conv.id for conv, _ in rows]
        last = await _messages_by_id(db, ids, _max_id(ids))
        human = await _messages_by_id(db, ids, _max_id(ids, role="human"))
        shopper_after = await _first_shopper_after(db, ids)
    result = []
    for conv, handoff in rows:
        handed_over_at = aware(handoff.created_at)
        last_human = human.get(conv.id)
        if last_human is None or aware(last_human.created_at) < handed_over_at:
            waiting: datetime | None = handed_over_at
        else:
            waiting = shopper_after.get(conv.id)
        last_message = last.get(conv.id)
        result.append(InboxRow(
            conversation_id=conv.id, status=conv.status, reason=handoff.reason or conv.handoff_reason,
            scenario=handoff.scenario or conv.scenario, order_number=handoff.order_number,
            ticket=handoff.ticket or conv.ticket, customer=conv.customer_name or conv.customer_email,
            handed_over_at=handed_over_at, updated_at=aware(conv.updated_at),
            last_role=last_message.role if last_message else None,
            last_text=last_message.text if last_message else "",
            waiting_since=waiting if conv.status == "handoff" else None,
        ))
    return result


async def tab_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as db:
        found = dict((await db.execute(
            select(Conversation.status, func.count())  # type: ignore[call-overload]
            .where(Conversation.status.in_(TABS.values()))  # type: ignore[attr-defined]
            .group_by(Conversation.status)
        )).all())
    return {tab: found.get(status, 0) for tab, status in TABS.items()}


async def conversation(sessions: async_sessionmaker[AsyncSession],
                       conversation_id: str) -> ConversationView | None:
    async with sessions() as db:
        conv = await db.get(Conversation, conversation_id)
        if conv is None:
            return None
        handoff = (await db.execute(
            select(Handoff).where(Handoff.conversation_id == conversation_id)  # type: ignore[arg-type]
            .order_by(Handoff.id.desc()).limit(1)  # type: ignore[union-attr]
        )).scalars().first()
        messages = (await db.execute(
            select(Message).where(Message.conversation_id == conversation_id)  # type: ignore[arg-type]
            .order_by(Message.id)  # type: ignore[arg-type]
        )).scalars().all()
        emails = (await db.execute(
            select(OutboxEmail).where(OutboxEmail.conversation_id == conversation_id)  # type: ignore[arg-type]
        )).scalars().all()
    return ConversationView(conv, handoff, list(messages), {e.message_id: e for e in emails})


def aware(at: datetime) -> datetime:
    """SQLite gives times back without their zone; they are stored in UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def iso(at: datetime) -> str:
    return aware(at).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _max_id(ids: list[str], role: str | None = None):  # type: ignore[no-untyped-def]
    query = select(func.max(Message.id)).where(Message.conversation_id.in_(ids))  # type: ignore[attr-defined]
    if role is not None:
        query = query.where(Message.role == role)  # type: ignore[arg-type]
    return query.group_by(Message.conversation_id)


async def _messages_by_id(db: AsyncSession, ids: list[str], latest_ids) -> dict[str, Message]:  # type: ignore[no-untyped-def]
    if not ids:
        return {}
    found = (await db.execute(select(Message).where(Message.id.in_(latest_ids)))).scalars().all()  # type: ignore[union-attr]
    return {m.conversation_id: m for m in found}


async def _first_shopper_after(db: AsyncSession, ids: list[str]) -> dict[str, datetime]:
    """Per conversation, when the shopper first wrote after the last human reply."""
    if not ids:
        return {}
    last_human = (select(Message.conversation_id, func.max(Message.id).label("id"))
                  .where(Message.conversation_id.in_(ids), Message.role == "human")  # type: ignore[attr-defined, arg-type]
                  .group_by(Message.conversation_id).subquery())
    rows = (await db.execute(
        select(Message.conversation_id, func.min(Message.created_at))
        .join(last_human, and_(last_human.c.conversation_id == Message.conversation_id,
                               Message.id > last_human.c.id))  # type: ignore[operator]
        .where(Message.role == "shopper")  # type: ignore[arg-type]
        .group_by(Message.conversation_id)
    )).all()
    return {conversation_id: aware(at) for conversation_id, at in rows if at is not None}
