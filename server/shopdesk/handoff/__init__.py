"""Hand-over to humans: tickets (Zendesk or the built-in inbox), the outbox, human replies."""

from __future__ import annotations

from ..settings import Settings
from .desk import BuiltinInbox, TicketDesk


def build_desk(settings: Settings) -> TicketDesk:
    """Zendesk when it is configured, else the built-in inbox."""
    if settings.zendesk_url:
        from .zendesk_desk import ZendeskDesk

        return ZendeskDesk.from_settings(settings)
    return BuiltinInbox()
