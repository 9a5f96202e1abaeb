"""POST /integrations/zendesk/webhook: a person's public reply in Zendesk, back to the chat.

Zendesk signs each request: base64(HMAC-SHA256(secret, timestamp + raw body)). We refuse
a bad or missing signature (401), a stale timestamp (401), a replayed invocation (409) and
malformed JSON (400), and store nothing for any of them. Comments that the shopper's own
relayed messages made (author = the ticket's requester) are ignored, so nothing echoes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..conversations import ConversationService
from ..db.models import Conversation, Handoff, WebhookDelivery

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
        at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return abs((now - at).total_seconds())


def _refuse(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


class ZendeskWebhook:
    def __init__(self, secret: str | None, sessions: async_sessionmaker[AsyncSession],
                 conversations: ConversationService, max_age_s: float = MAX_AGE_S) -> None:
        self.secret = secret
        self.sessions = sessions
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
        if not await self._first_time(invocation):
            return _refuse(409, "replayed delivery")
        outcome = await self._apply(event)
        return JSONResponse({"status": outcome})

    async def _first_time(self, invocation: str) -> bool:
        async with self.sessions() as db:
            if db.bind.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt: Any = pg_insert(WebhookDelivery)
            else:
                stmt = sqlite_insert(WebhookDelivery)
            result = await db.execute(stmt.values(invocation_id=invocation[:128], received_at=datetime.now(UTC))
                                      .on_conflict_do_nothing(index_elements=["invocation_id"]))
            await db.commit()
            return bool(result.rowcount)

    async def _apply(self, event: dict[str, Any]) -> str:
        ticket = str(event.get("ticket_id") or "")
        async with self.sessions() as db:
            row = (await db.execute(select(Handoff).where(Handoff.ticket == ticket)  # type: ignore[arg-type]
                                    .order_by(Handoff.id.desc()).limit(1))).scalars().first()  # type: ignore[union-attr]
            conversation_id = row.conversation_id if row else None
            if conversation_id is None and event.get("external_id"):
                found = await db.get(Conversation, str(event["external_id"]))
                conversation_id = found.id if found else None
        if conversation_id is None:
            return "unknown_ticket"
        status = str(event.get("status") or event.get("ticket_status") or "").lower()
        text = str(event.get("comment") or "").strip()
        author_id = str(event.get("author_id") or "")
        if text and not (row and row.requester_id and author_id == row.requester_id):
            await self.conversations.add_human_message(
                conversation_id, str(event.get("author_name") or "Customer service"), text)
            outcome = "delivered"
        else:
            outcome = "ignored"
        if status in CLOSING or event.get("event") in ("ticket_solved", "ticket_closed"):
            await self.conversations.close(conversation_id)
            outcome = "closed" if outcome == "ignored" else outcome
        return outcome
