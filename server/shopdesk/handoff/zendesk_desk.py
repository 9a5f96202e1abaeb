"""Zendesk as the ticket desk: one ticket per hand-over, later shopper messages as comments."""

from __future__ import annotations

from ..settings import Settings
from .desk import HandoffCase, OpenedTicket
from .zendesk import ZendeskClient, build_internal_note, build_ticket


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
        if ticket.created:  # a replayed create already has its note
            summary = {"reason": case.reason, "scenario": case.scenario or "unknown",
                       "order": case.order_number or "none", "agent": case.summary}
            note = build_internal_note([(ln.role, ln.text, ln.at) for ln in case.transcript],
                                       summary, case.console_url)
            await self.client.add_comment(ticket.id, note, public=False)
        requester = str(ticket.requester_id) if ticket.requester_id is not None else None
        return OpenedTicket(ticket.id, requester)

    async def add_shopper_message(self, ticket: OpenedTicket, text: str) -> None:
        await self.client.add_comment(ticket.id, text, public=True, author_id=ticket.requester_id)

    async def aclose(self) -> None:
        await self.client.aclose()
