"""The escalation policy: when a conversation goes to a person, and why.

Code, outside any model; the offline and the Claude agent both run it. Reasons are
checked in the policy's order and the first that applies wins:
customer_request, negative_sentiment, amount_over_limit, unknown_defect, policy,
low_confidence. The first two come from the shopper's words and are checked on every
message before anything else; the next three come from what the tools found.
"""

from __future__ import annotations

from dataclasses import dataclass

ORDER = ("customer_request", "negative_sentiment", "amount_over_limit", "unknown_defect",
         "policy", "low_confidence")

# Scenario classes the store keeps for people whatever they contain.
POLICY_CLASSES = frozenset({"gdpr", "business"})

# Tool result codes that mean a person must take over.
TOOL_REASONS = {"over_limit": "amount_over_limit", "unknown_defect": "unknown_defect"}


@dataclass(frozen=True, slots=True)
class Thresholds:
    confidence: float = 0.45       # below: ask once, then hand over
    switch_confidence: float = 0.7  # a pending scenario yields only to a message this clear


def from_words(asks_for_human: bool, negative: bool) -> str | None:
    """Reasons that come from the shopper's words alone."""
    if asks_for_human:
        return "customer_request"
    if negative:
        return "negative_sentiment"
    return None


def first(*reasons: str | None) -> str | None:
    """The reason that wins when several apply."""
    present = [r for r in reasons if r]
    return min(present, key=ORDER.index) if present else None
