"""The offline agent: understands a message, runs the scenario's tools, renders a reply.

Needs no API key and sends nothing anywhere: classification, entity extraction and
replies all run in-process from the scenario catalogue and the store's live data.
"""

from .agent import OfflineAgent

__all__ = ["OfflineAgent"]
