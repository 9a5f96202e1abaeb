"""``/admin/live``: the inbox's events (new shopper messages, hand-overs, closes) as JSON.

Signed in with the same cookie as the pages. Each socket gets its own small queue so a
slow browser never holds up the shopper whose message is being published.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..db.models import utcnow
from ..fanout import INBOX, Hub
from .auth import OperatorSessions, same_origin
from .inbox import iso

log = structlog.get_logger(__name__)
QUEUE_SIZE = 200
FIELDS = ("kind", "conversation", "role", "text", "author", "reason")


class InboxLive:
    def __init__(self, operators: OperatorSessions, hub: Hub, public_url: str | None = None) -> None:
        self.operators = operators
        self.hub = hub
        self.public_url = public_url

    async def handle(self, websocket: WebSocket) -> None:
        allowed = same_origin(websocket, self.public_url)
        user = await self.operators.user(websocket) if allowed else None
        if user is None:
            with contextlib.suppress(Exception):
                await websocket.send_denial_response(PlainTextResponse("sign in first", 403))
                return
            await websocket.close(code=1008)
            return
        await websocket.accept()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

        async def listener(event: dict[str, Any]) -> None:
            message = {k: event[k] for k in FIELDS if k in event}
            message["at"] = iso(utcnow())
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # far behind: the page reloads what it shows instead
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait({"kind": "resync"})

        with self.hub.subscribe(INBOX, listener):
            forward = asyncio.create_task(self._forward(websocket, queue))
            try:
                while (await websocket.receive())["type"] != "websocket.disconnect":
                    pass  # the browser says nothing; reading notices it leaving
            except WebSocketDisconnect:
                pass
            finally:
                forward.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await forward

    async def _forward(self, websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            event = await queue.get()
            await websocket.send_json(event)
