"""The /ws endpoint: the socket side of protocol v1.

Owns the connection only: origin check, frame limits, rate limits, ordering of frames.
What is said is the conversation service's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
import structlog
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from . import protocol
from .conversations import (
    AgentFailure,
    ChatSession,
    ConversationService,
    StoredMessage,
    conversation_channel,
    verify_identity,
)
from .corking import FLUSH_EXTENSION
from .engine import Customer, HandoffEvent, HistoryItem, ReplyDelta, ReplyDone, StatusEvent
from .settings import Settings

log = structlog.get_logger(__name__)

HELLO_TIMEOUT_S = 30.0


def _json(frame: dict[str, Any]) -> str:
    """A frame as compact UTF-8 JSON (orjson: a tenth of the json module's time, and every
    turn sends several frames)."""
    return orjson.dumps(frame).decode()

# Live reply ids: this process's random prefix and a counter (cheaper than a uuid per reply).
_REPLY_PREFIX = secrets.token_hex(4)
_REPLY_NUMBERS = itertools.count(1)
FRAME_FLOOD_FACTOR = 5  # any frames allowed per window, as a multiple of the message limit


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Browsers send Origin; other clients (tests, drive.py, load tools) may not."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if allowed:
        return "*" in allowed or origin in allowed
    netloc = urlsplit(origin).netloc
    return bool(host) and netloc == host


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    __slots__ = ("_times", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._times: deque[float] | None = None  # made on first use: idle chats are many

    def allow(self, now: float) -> bool:
        times = self._times
        if times is None:
            times = self._times = deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class ChatEndpoint:
    def __init__(self, settings: Settings, service: ConversationService) -> None:
        self.settings = settings
        self.service = service

    async def handle(self, websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        if not origin_allowed(origin, websocket.headers.get("host"), self.settings.allowed_origins):
            log.info("ws.origin_refused", origin=origin)
            body = protocol.error("not_allowed", "this origin may not open a chat")
            with contextlib.suppress(Exception):
                await websocket.send_denial_response(JSONResponse(body, status_code=403))
                return
            await websocket.close(code=1008)
            return
        await websocket.accept()
        connection = ChatConnection(websocket, self.settings, self.service)
        try:
            await connection.run()
        except WebSocketDisconnect:
            pass
        finally:
            await connection.stop()


class ChatConnection:
    def __init__(self, websocket: WebSocket, settings: Settings, service: ConversationService) -> None:
        self.ws = websocket
        self.settings = settings
        self.service = service
        self.session: ChatSession | None = None
        self._send_lock = asyncio.Lock()
        # Stored messages waiting for the agent, in order; a worker task runs while there are any.
        self._turns: deque[StoredMessage] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._answering: int | None = None
        self._live: contextlib.AbstractContextManager[None] | None = None
        # Sends what was written at once (under corking.py's protocol); else a no-op.
        self._flush: Callable[[], None] = websocket.scope.get("extensions", {}).get(FLUSH_EXTENSION) or _nothing
        self._messages = SlidingWindow(settings.rate_limit_messages, settings.rate_limit_window_s)
        self._frames = SlidingWindow(
            settings.rate_limit_messages * FRAME_FLOOD_FACTOR, settings.rate_limit_window_s
        )

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.send_text(_json(frame))

    async def send_all(self, frames: list[dict[str, Any]]) -> None:
        """Several frames in a row, nothing of another sender's in between."""
        async with self._send_lock:
            for frame in frames:
                if self.ws.application_state != WebSocketState.CONNECTED:
                    return
                await self.ws.send_text(_json(frame))

    async def run(self) -> None:
        deadline = asyncio.get_running_loop().time() + HELLO_TIMEOUT_S
        while True:
            try:
                if self.session is not None:
                    event = await self.ws.receive()
                else:
                    # not asyncio.wait_for: on Python 3.11 it can swallow a cancel
                    async with asyncio.timeout_at(deadline):
                        event = await self.ws.receive()
            except TimeoutError:
                await self.send(protocol.error("bad_frame", "expected hello"))
                await self.ws.close(code=1008)
                return
            if event["type"] == "websocket.disconnect":
                return
            raw = event.get("text")
            if raw is None and event.get("bytes") is not None:
                raw = event["bytes"]
            if not self._frames.allow(time.monotonic()):
                await self.send(protocol.error("rate_limited", "too many frames; slow down"))
                continue
            try:
                frame = protocol.parse(raw, self.settings.max_frame_bytes, self.settings.max_message_chars)
            except protocol.ProtocolError as err:
                await self.send(err.frame())
                if err.close:
                    await self.ws.close(code=1009)
                    return
                continue
            await self.dispatch(frame)

    async def dispatch(self, frame: protocol.ClientFrame) -> None:
        if isinstance(frame, protocol.Ping):
            await self.send(protocol.PONG)
        elif isinstance(frame, protocol.Hello):
            await self.hello(frame)
        elif self.session is None:
            await self.send(protocol.error("bad_frame", "the first frame must be hello"))
        elif isinstance(frame, protocol.MessageFrame):
            await self.message(frame)
        elif isinstance(frame, protocol.RatingFrame):
            await self.service.rate(self.session, frame.score, frame.comment)

    async def hello(self, frame: protocol.Hello) -> None:
        if self.session is not None:
            await self.send(protocol.error("bad_frame", "hello was already received"))
            return
        customer, bad_signature = None, False
        if frame.customer is not None:
            claim = frame.customer
            if claim.signature and verify_identity(claim.email, claim.signature, self.settings.identity_secret):
                customer = Customer(claim.email.strip(), claim.name)
            else:
                bad_signature = True
        page = frame.page
        self.session = session = await self.service.open(
            frame.session, frame.locale,
            page.url if page else None, page.product if page else None, customer,
        )
        await self.send(protocol.welcome(
            session.session_token, session.conversation_id, session.status, session.history_frames
        ))
        if any(f["role"] == "human" for f in session.history_frames):
            await self.service.seen(session.conversation_id)  # a person's replies reached the shopper
        if bad_signature:
            await self.send(protocol.error("bad_signature", "identity not verified; continuing anonymously"))
        live = self.service.hub.subscribe(conversation_channel(session.conversation_id), self._on_live)
        live.__enter__()
        self._live = live
        for pending in session.unanswered:
            self._enqueue(pending)

    async def message(self, frame: protocol.MessageFrame) -> None:
        assert self.session is not None
        if not self._messages.allow(time.monotonic()):
            await self.send(protocol.error("rate_limited", "too many messages; wait a moment and resend"))
            return
        stored = await self.service.store_shopper_message(self.session, frame.id, frame.text)
        await self.send(protocol.ack(frame.id))
        if stored.answered or self.session.status != "bot" or (stored.duplicate and self._queued(stored.id)):
            self._flush()  # answered before, being answered, or a person's now: just the ack
            return
        if self._worker is None and self.service.answers_at_once:
            # An agent that never waits on the network answers right here: no task to
            # start, so no wait behind what other chats have queued on the loop meanwhile,
            # and the ack leaves in one write with the reply's first piece.
            await self._answer_one(self.session, stored)
            return
        self._flush()  # the ack leaves now, not after what other chats have queued
        self._enqueue(stored)

    def _enqueue(self, message: StoredMessage) -> None:
        if self._turns is None:
            self._turns = deque()
        self._turns.append(message)
        if self._worker is None:
            self._worker = asyncio.create_task(self._answer_loop())

    def _queued(self, message_id: int) -> bool:
        return message_id == self._answering or any(m.id == message_id for m in self._turns or ())

    async def _answer_loop(self) -> None:
        """Answers what waits, one message after the other; ends when nothing is left."""
        turns = self._turns
        try:
            while turns:
                message = turns.popleft()
                session = self.session
                if session is None or session.status != "bot":
                    continue
                if not await self._answer_one(session, message):
                    return
        finally:
            if self._worker is asyncio.current_task():
                self._worker = None

    async def _answer_one(self, session: ChatSession, message: StoredMessage) -> bool:
        """One turn; False when the shopper has gone."""
        self._answering = message.id
        try:
            await self._answer(session, message)
        except WebSocketDisconnect:
            return False
        except Exception:
            log.exception("turn.failed", conversation=session.conversation_id)
            await self.send(protocol.error("internal", "something went wrong; please try again"))
        finally:
            self._answering = None
        return True

    async def _answer(self, session: ChatSession, message: StoredMessage) -> None:
        reply_id = f"r{_REPLY_PREFIX}.{next(_REPLY_NUMBERS)}"  # never r<digits>, a stored reply's id
        started = shown = False
        streamed: list[str] = []

        async def show(done: ReplyDone) -> None:
            """A reply that came whole is streamed while it is being stored; its end follows
            once it is stored."""
            nonlocal started, shown
            frames = [] if started else [protocol.reply_start(reply_id)]
            if not streamed:
                frames += [protocol.reply_delta(reply_id, piece)
                           for piece in chunks(done.text, self.settings.reply_chunk_chars)]
            started = shown = True
            await self.send_all(frames)
            self._flush()  # the reply is on its way while it is being stored

        async for event in self.service.answer(session, message, before_store=show):
            if isinstance(event, AgentFailure):
                await self.send(protocol.error("internal", "something went wrong on our side"))
            elif isinstance(event, StatusEvent):
                await self.send(protocol.status(event.text))
            elif isinstance(event, ReplyDelta):
                if not started:
                    await self.send(protocol.reply_start(reply_id))
                    started = True
                streamed.append(event.text)
                await self.send(protocol.reply_delta(reply_id, event.text))
            elif isinstance(event, ReplyDone):
                if not shown:
                    await show(event)
                await self.send(protocol.reply_end(reply_id, event.text, event.quick_replies))
            elif isinstance(event, HandoffEvent):
                if started:  # a half-streamed answer is ended cleanly before the hand-over
                    await self.send(protocol.reply_end(reply_id, "".join(streamed), []))
                await self.send(protocol.handoff(event.reason, None, event.text))

    async def _on_live(self, event: dict[str, Any]) -> None:
        """Events for this conversation from anywhere: a person's reply, a ticket, a close."""
        session = self.session
        if session is None:
            return
        if event.get("status"):
            session.status = event["status"]
        frame = event.get("frame")
        if frame:
            if frame["type"] == "human_message":
                session.history.append(HistoryItem("human", frame["text"]))
                session.history_frames.append({"id": frame["id"], "role": "human",
                                               "text": frame["text"], "at": event.get("at", "")})
            await self.send(frame)
            receipt = event.get("receipt")
            if receipt is not None and self.ws.application_state == WebSocketState.CONNECTED:
                await self.service.seen(session.conversation_id, int(receipt))  # no email needed

    async def stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.__exit__(None, None, None)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker


def _nothing() -> None:
    pass


def chunks(text: str, size: int) -> list[str]:
    """Split a reply into streaming pieces at word boundaries, about ``size`` chars each."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + 1, end + 1)
            if space > start:
                end = space + 1
        pieces.append(text[start:end])
        start = end
    return pieces
