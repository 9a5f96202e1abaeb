"""The engine seam: a shopper message and the conversation's state in, reply events out.

Sans-I/O in spirit: no socket, no database. The conversation service feeds it and
persists what comes out; agents (offline, Claude) plug in behind :class:`Agent`.
"""

from .events import HandoffEvent, ReplyDelta, ReplyDone, ReplyEvent, StatusEvent
from .turn import Agent, AuditRecord, Customer, HistoryItem, Turn

__all__ = [
    "Agent",
    "AuditRecord",
    "Customer",
    "HandoffEvent",
    "HistoryItem",
    "ReplyDelta",
    "ReplyDone",
    "ReplyEvent",
    "StatusEvent",
    "Turn",
]
