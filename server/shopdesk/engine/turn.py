"""One turn of a conversation as the engine sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import ReplyEvent


@dataclass(frozen=True, slots=True)
class Customer:
    """A shopper logged in on the storefront, identity verified by signature."""

    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    role: str  # shopper | agent | human | system
    text: str


@dataclass(slots=True)
class AuditRecord:
    action: str
    order_number: str | None = None
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Turn:
    """The input of one turn, and what the agent notes while answering it.

    ``state`` is the conversation's dialogue state: the agent reads and updates it and
    the conversation service stores it with the reply.
    """

    text: str
    locale: str | None
    customer: Customer | None
    page_product: str | None
    history: list[HistoryItem]
    state: dict[str, Any]
    conversation_id: str = ""
    # filled in by the agent
    scenario: str | None = None
    confidence: float | None = None
    language: str | None = None
    tools: list[str] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    order_number: str | None = None
    usage: dict[str, int] = field(default_factory=dict)  # model tokens: input, output, cache


class Agent(Protocol):
    """What answers a turn. An agent whose turn never waits on the network may also say
    ``answers_at_once = True``: the chat socket's own task then runs its turns."""

    name: str

    def respond(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
        """Answer one shopper message; ends with exactly one ReplyDone or HandoffEvent."""
        ...
