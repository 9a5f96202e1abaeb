"""What a scenario handler gets, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...store.models import Order
from ...tools import ToolContext, ToolResult, call
from .state import DialogueState


@dataclass
class Outcome:
    """A reply to render (``template`` with ``data``), a question, or a hand-over."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    handoff: str | None = None
    # quick replies: phrase keys, or a key with what its phrase names ("quick_order", {"number": ...})
    quick: list[str | tuple[str, dict[str, Any]]] = field(default_factory=list)
    awaiting: list[str] | None = None  # a question: the scenario stays pending on these
    # Answers to other requests of the same message, shown before and after this one's text.
    preceding: list[Outcome] = field(default_factory=list)
    following: list[Outcome] = field(default_factory=list)


@dataclass
class TurnContext:
    text: str
    lang: str
    state: DialogueState
    tools: ToolContext
    understanding: Any
    status: list[str] = field(default_factory=list)
    phrases: Any = None  # Replies, for short texts by key

    def phrase(self, key: str) -> str | None:
        if self.phrases is None or key not in self.phrases.phrases:
            return None
        return str(self.phrases.phrase(self.lang, key))

    @property
    def logged_in(self) -> bool:
        return self.tools.customer is not None

    async def tool(self, name: str, **arguments: Any) -> ToolResult:
        return await call(self.tools, name, arguments)

    def ask(self, template: str, awaiting: list[str], **data: Any) -> Outcome:
        return Outcome(template, data, awaiting=awaiting)


OrderOrQuestion = Order | Outcome
