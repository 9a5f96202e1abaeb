"""What an agent emits while it answers one shopper message."""

from __future__ import annotations

from dataclasses import dataclass, field

HANDOFF_REASONS = (
    "customer_request",
    "negative_sentiment",
    "amount_over_limit",
    "unknown_defect",
    "policy",
    "low_confidence",
)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    text: str


@dataclass(frozen=True, slots=True)
class ReplyDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReplyDone:
    """The answer is complete; ``text`` is the whole answer."""

    text: str
    quick_replies: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    reason: str
    text: str

    def __post_init__(self) -> None:
        if self.reason not in HANDOFF_REASONS:
            raise ValueError(f"unknown hand-over reason {self.reason!r}")


ReplyEvent = StatusEvent | ReplyDelta | ReplyDone | HandoffEvent
