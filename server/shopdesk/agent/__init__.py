"""Agents: the offline agent (default, no API key) and the Claude agent."""

from __future__ import annotations

from ..engine import Agent
from ..settings import Settings
from ..store.connector import StoreConnector


async def build_agent(settings: Settings, connector: StoreConnector) -> Agent:
    from .offline import OfflineAgent

    offline = await OfflineAgent.build(connector, settings)
    if settings.agent == "claude":
        raise SystemExit("SHOPDESK_AGENT=claude is not available yet; use offline")
    return offline
