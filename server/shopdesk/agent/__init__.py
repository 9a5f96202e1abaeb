"""Agents: the offline agent (default, no API key) and the Claude agent."""

from __future__ import annotations

from ..engine import Agent
from ..settings import Settings
from ..store.connector import StoreConnector


def check_settings(settings: Settings) -> None:
    """What the configured agent needs, checked before anything starts (SystemExit, one line)."""
    if settings.agent == "claude" and not settings.anthropic_api_key:
        from .claude import MissingApiKey

        raise MissingApiKey()


async def build_agent(settings: Settings, connector: StoreConnector) -> Agent:
    from .offline import OfflineAgent

    check_settings(settings)
    offline = await OfflineAgent.build(connector, settings)
    if settings.agent == "claude":
        from .claude import ClaudeAgent

        return await ClaudeAgent.build(settings, connector, offline)
    return offline
