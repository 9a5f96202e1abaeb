"""The Claude agent (``SHOPDESK_AGENT=claude``): Anthropic's Messages API over the same
tools, guardrails and protocol as the offline agent."""

from .agent import ClaudeAgent, MissingApiKey

__all__ = ["ClaudeAgent", "MissingApiKey"]
