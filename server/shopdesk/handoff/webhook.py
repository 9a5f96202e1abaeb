"""POST /integrations/zendesk/webhook: a person's public reply in Zendesk, back to the chat.

Zendesk signs each request: base64(HMAC-SHA256(secret, timestamp + raw body)). We refuse
a bad or missing signature (401), a stale timestamp (401), a replayed invocation (409) and
malformed JSON (400), and store nothing for any of them. Comments that the shopper's own
relayed messages made (author = the ticket's requester) are ignored, so nothing echoes.

Everything a delivery stores (its invocation id against replays, the person's message, a
close) is one transaction, on SQLite in the chat writer's group commit: no lock queue
when several webhooks arrive at once, and nothing half stored when one fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..conversations import ConversationService
from ..db.human_replies import IGNORED, REPLAYED, STORED, HumanReply

log = structlog.get_logger(__name__)
MAX_AGE_S = 300.0
CLOSING = {"solved", "closed"}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_valid(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip())


def _age_s(timestamp: str, now: datetime) -> float | None:
    try:
        at = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return abs((now - at).total_seconds())


def _refuse(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


class ZendeskWebhook:
    def __init__(self, secret: str | None, conversations: ConversationService,
                 max_age_s: float = MAX_AGE_S) -> None:
        self.secret = secret
        self.conversations = conversations
        self.max_age_s = max_age_s

    async def handle(self, request: Request) -> JSONResponse:
        if not self.secret:
            return _refuse(404, "the Zendesk webhook is not configured")
        body = await request.body()
        timestamp = request.headers.get("x-zendesk-webhook-signature-timestamp", "")
        signature = request.headers.get("x-zendesk-webhook-signature", "")
        if not timestamp or not signature or not signature_valid(self.secret, timestamp, body, signature):
            log.warning("webhook.bad_signature")
            return _refuse(401, "bad signature")
        age = _age_s(timestamp, datetime.now(UTC))
        if age is None or age > self.max_age_s:
            return _refuse(401, "stale timestamp")
        try:
            event = json.loads(body)
        except ValueError:
            return _refuse(400, "body is not valid JSON")
        if not isinstance(event, dict):
            return _refuse(400, "body must be a JSON object")
        invocation = request.headers.get("x-zendesk-webhook-invocation-id") or sign("replay", timestamp, body)
        reply = _reply(event, invocation[:128])
        stored = await self.conversations.human_reply(reply)
        if stored.outcome == REPLAYED:
            return _refuse(409, "replayed delivery")
        outcome = {STORED: "delivered", IGNORED: "closed" if reply.close else IGNORED}
        return JSONResponse({"status": outcome.get(stored.outcome, stored.outcome)})


def _reply(event: dict[str, Any], invocation: str) -> HumanReply:
    """The webhook's event as a person's reply: one transaction with its replay guard."""
    status = str(event.get("status") or event.get("ticket_status") or "").lower()
    return HumanReply(
        author=str(event.get("author_name") or "Customer service"),
        text=str(event.get("comment") or "").strip(),
        ticket=str(event.get("ticket_id") or ""), external_id=str(event.get("external_id") or "") or None,
        author_id=str(event.get("author_id") or ""), invocation=invocation,
        close=status in CLOSING or event.get("event") in ("ticket_solved", "ticket_closed"),
    )
