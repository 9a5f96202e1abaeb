"""Where handed-over conversations go: a ticket desk (Zendesk, or the built-in inbox)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def written_address(texts: Iterable[str]) -> str | None:
    """The last email address in what the shopper wrote (not verified: only for reaching
    them, never as an identity)."""
    found = None
    for text in texts:
        for match in EMAIL.finditer(text):
            found = match.group(0)
    return found


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    role: str
    text: str
    at: str
    author: str | None = None


@dataclass(frozen=True, slots=True)
class HandoffCase:
    """Everything a person needs at once, gathered from the conversation."""

    handoff_id: int
    conversation_id: str
    reason: str
    scenario: str | None
    order_number: str | None
    summary: str
    requester_name: str | None
    requester_email: str | None
    last_shopper_message: str
    transcript: list[TranscriptLine] = field(default_factory=list)
    console_url: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"shopdesk-handoff-{self.conversation_id}-{self.handoff_id}"


@dataclass(frozen=True, slots=True)
class OpenedTicket:
    id: str
    requester_id: str | None = None
    # False when the desk answered with a ticket an earlier call made (an idempotent
    # replay): whatever followed that call (the note) may be there already.
    created: bool = True


class TicketDesk(Protocol):
    name: str

    async def open_ticket(self, case: HandoffCase) -> OpenedTicket:
        """Create the one ticket of a hand-over; safe to call again for the same case."""
        ...

    async def add_note(self, ticket: OpenedTicket, case: HandoffCase, *, look_first: bool) -> None:
        """The internal note (transcript, summary) for people only. Never twice: with
        ``look_first`` (an earlier try may have added it) it is looked for first."""
        ...

    async def set_requester(self, ticket: OpenedTicket, name: str | None, email: str) -> OpenedTicket:
        """Make ``email`` the ticket's requester (the ticket had a placeholder); the ticket
        as it is then. Safe to call again. A desk that refuses for good leaves it unchanged."""
        ...

    async def add_shopper_message(self, ticket: OpenedTicket, text: str) -> None:
        """A message the shopper wrote after the hand-over, as a public requester comment."""
        ...

    async def aclose(self) -> None: ...


class BuiltinInbox:
    """The embedded default: the ticket is the conversation itself, read by /admin/inbox."""

    name = "inbox"

    async def open_ticket(self, case: HandoffCase) -> OpenedTicket:
        return OpenedTicket(f"IN-{case.handoff_id}")

    async def add_note(self, ticket: OpenedTicket, case: HandoffCase, *, look_first: bool) -> None:
        return None  # the inbox shows the transcript and summary itself

    async def set_requester(self, ticket: OpenedTicket, name: str | None, email: str) -> OpenedTicket:
        return ticket  # the inbox reads the address from the conversation

    async def add_shopper_message(self, ticket: OpenedTicket, text: str) -> None:
        return None  # the inbox shows the conversation's messages directly

    async def aclose(self) -> None:
        return None
