"""The tables. Times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _at() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


class Conversation(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    session_token: str = Field(index=True, unique=True, max_length=64)
    status: str = Field(default="bot", max_length=16)  # bot | handoff | closed
    locale: str | None = Field(default=None, max_length=8)
    customer_email: str | None = Field(default=None, max_length=320)  # verified login only
    # An address the shopper wrote in the chat (not verified): never an identity for the
    # tools, only where a person's reply may reach them (ticket requester, email fallback).
    contact_email: str | None = Field(default=None, max_length=320)
    customer_name: str | None = Field(default=None, max_length=200)
    page_url: str | None = Field(default=None, max_length=2000)
    page_product: str | None = Field(default=None, max_length=200)
    handoff_reason: str | None = Field(default=None, max_length=32)
    ticket: str | None = Field(default=None, max_length=64)
    scenario: str | None = Field(default=None, max_length=64)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    updated_at: datetime = _at()
    first_response_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_message_client_id"),
        Index("ix_message_conversation", "conversation_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", max_length=32)
    client_id: str | None = Field(default=None, max_length=64)
    role: str = Field(max_length=16)  # shopper | agent | human | system
    author: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    answered: bool = False  # shopper messages: the agent's answer is stored
    # A person's messages: when the shopper's widget got it (live, or in the history of a
    # later visit). Unseen, it may go out by email (OutboxEmail).
    seen_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _at()


class Rating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    score: int
    comment: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _at()


class AuditEntry(SQLModel, table=True):
    """One lookup or action on shop data: who, what, when, which order."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at()
    conversation_id: str | None = Field(default=None, index=True, max_length=32)
    actor: str = Field(max_length=64)  # agent:offline, agent:claude, human:<name>, system
    action: str = Field(max_length=64)
    order_number: str | None = Field(default=None, index=True, max_length=32)
    outcome: str = Field(default="ok", max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AgentTurn(SQLModel, table=True):
    """What the agent made of one shopper message."""

    __tablename__ = "agent_turn"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    agent: str = Field(max_length=16)
    scenario: str | None = Field(default=None, max_length=64)
    confidence: float | None = None
    language: str | None = Field(default=None, max_length=8)
    tools: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(max_length=32)  # answered | clarify | handoff
    cpu_ms: float | None = None
    # Model tokens of the turn (Claude agent; null for the offline agent).
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    created_at: datetime = _at()


class Handoff(SQLModel, table=True):
    """A hand-over to a human; also the outbox row a worker delivers as a ticket."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    reason: str = Field(max_length=32)
    scenario: str | None = Field(default=None, max_length=64)
    order_number: str | None = Field(default=None, max_length=32)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    ticket: str | None = Field(default=None, max_length=64, index=True)  # webhooks look it up
    requester_id: str | None = Field(default=None, max_length=64)  # the ticket's requester
    # The requester's address; None while the ticket has the placeholder requester, so an
    # address the shopper writes later still becomes the requester.
    requester_email: str | None = Field(default=None, max_length=320)
    # The internal note (transcript + summary) is a second call after the create: the row
    # is delivered once both are done, and a retry adds the note alone.
    note_added_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _at()


class OutboxComment(SQLModel, table=True):
    """A shopper message sent after the hand-over, on its way to the ticket."""

    __tablename__ = "outbox_comment"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    message_id: int = Field(foreign_key="message.id", unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _at()


class OutboxEmail(SQLModel, table=True):
    """A person's reply (built-in inbox) that goes to the shopper by email unless seen in time.

    Queued with the message, due after a grace delay; the worker sends it only if the
    message is still unseen then and the shopper gave an address. ``outcome`` says what
    became of it: sent, seen, no_address, refused, gave_up, no_mailer.
    """

    __tablename__ = "outbox_email"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    message_id: int = Field(foreign_key="message.id", unique=True)
    outcome: str | None = Field(default=None, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _at()


class WebhookDelivery(SQLModel, table=True):
    """Webhook invocations already handled: a replayed one is refused."""

    __tablename__ = "webhook_delivery"
    invocation_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = _at()


class AdminUser(SQLModel, table=True):
    """An operator of the console and the built-in inbox."""

    __tablename__ = "admin_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=400)
    role: str = Field(default="admin", max_length=16)  # admin | agent | viewer
    created_at: datetime = _at()
