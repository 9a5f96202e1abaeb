"""Zendesk as the ticket desk: one ticket per hand-over, later shopper messages as comments."""

from __future__ import annotations

import structlog

from ..settings import Settings
from .desk import HandoffCase, OpenedTicket
from .zendesk import (
    NOTE_HEADING,
    ZendeskClient,
    ZendeskError,
    ZendeskUnavailable,
    build_internal_note,
    build_ticket,
)

log = structlog.get_logger(__name__)
# Refusals that another try will not change (403 no permission to manage users, 404, 422
# an address Zendesk will not take): the requester stays as it is, the chat goes on.
REQUESTER_REFUSED = frozenset({400, 403, 404, 422})


class ZendeskDesk:
    name = "zendesk"

    def __init__(self, client: ZendeskClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> ZendeskDesk:
        if not (settings.zendesk_url and settings.zendesk_email and settings.zendesk_token):
            raise SystemExit("shopdesk: SHOPDESK_ZENDESK_URL needs SHOPDESK_ZENDESK_EMAIL and "
                             "SHOPDESK_ZENDESK_TOKEN too")
        # Attempts and timeout keep one call well inside the outbox lease.
        return cls(ZendeskClient(settings.zendesk_url, settings.zendesk_email, settings.zendesk_token,
                                 timeout=8.0, max_attempts=3))

    async def open_ticket(self, case: HandoffCase) -> OpenedTicket:
        shopper = [line.text for line in case.transcript if line.role == "shopper"]
        ticket = await self.client.create_ticket(build_ticket(
            conversation_id=case.conversation_id, reason=case.reason, scenario=case.scenario,
            first_message=shopper[0] if shopper else "", last_message=case.last_shopper_message,
            name=case.requester_name, email=case.requester_email,
        ), idempotency_key=case.idempotency_key)
        requester = str(ticket.requester_id) if ticket.requester_id is not None else None
        return OpenedTicket(ticket.id, requester, ticket.created)

    async def add_note(self, ticket: OpenedTicket, case: HandoffCase, *, look_first: bool) -> None:
        """One attempt per try, no in-process retry: a timed-out PUT may have stored the
        note, and only the next try's look tells."""
        if look_first and await self.client.has_comment(ticket.id, NOTE_HEADING, public=False):
            return
        summary = {"reason": case.reason, "scenario": case.scenario or "unknown",
                   "order": case.order_number or "none", "agent": case.summary}
        note = build_internal_note([(ln.role, ln.text, ln.at) for ln in case.transcript],
                                   summary, case.console_url)
        await self.client.add_comment(ticket.id, note, public=False, attempts=1)

    async def set_requester(self, ticket: OpenedTicket, name: str | None, email: str) -> OpenedTicket:
        try:
            user_id = await self.client.end_user_for(_name(name, email), email)
            changed = await self.client.set_requester(ticket.id, user_id)
        except ZendeskUnavailable:
            raise  # later
        except ZendeskError as err:
            if err.status not in REQUESTER_REFUSED:
                raise
            log.warning("zendesk.requester_refused", ticket=ticket.id, status=err.status, error=err.error)
            return ticket
        requester = str(changed.requester_id) if changed.requester_id is not None else str(user_id)
        return OpenedTicket(ticket.id, requester, ticket.created)

    async def add_shopper_message(self, ticket: OpenedTicket, text: str) -> None:
        await self.client.add_comment(ticket.id, text, public=True, author_id=ticket.requester_id)

    async def aclose(self) -> None:
        await self.client.aclose()


def _name(name: str | None, email: str) -> str:
    """A new end user needs a name: the shopper's, else the address's local part."""
    return (name or email.split("@")[0]).strip()[:255] or email
