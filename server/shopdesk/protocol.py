"""Chat wire protocol v1, sans-I/O: text in, typed client frames or protocol errors out.

The transport owns the socket; this module owns what a frame may look like.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

VERSION = 1
ERROR_CODES = ("bad_frame", "too_large", "rate_limited", "bad_signature", "not_allowed", "internal")


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Page(_Frame):
    url: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=500)
    product: str | None = Field(default=None, max_length=200)


class CustomerClaim(_Frame):
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    signature: str = Field(max_length=128)


class Hello(_Frame):
    type: Literal["hello"]
    v: Literal[1]
    session: str | None = Field(default=None, max_length=128)
    locale: Literal["da", "en"] | None = None
    page: Page | None = None
    customer: CustomerClaim | None = None


class MessageFrame(_Frame):
    type: Literal["message"]
    id: str = Field(min_length=1, max_length=64)
    text: str


class RatingFrame(_Frame):
    type: Literal["rating"]
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class Ping(_Frame):
    type: Literal["ping"]


ClientFrame = Hello | MessageFrame | RatingFrame | Ping
_adapter: TypeAdapter[ClientFrame] = TypeAdapter(
    Annotated[ClientFrame, Field(discriminator="type")]
)


@dataclass(frozen=True, slots=True)
class ProtocolError(Exception):
    code: str
    message: str
    close: bool = False  # close the connection after sending the error (too-large frames)

    def frame(self) -> dict[str, Any]:
        return error(self.code, self.message)


def parse(raw: str | bytes | None, max_frame_bytes: int, max_message_chars: int) -> ClientFrame:
    """Parse one client frame or raise :class:`ProtocolError`."""
    if raw is None or isinstance(raw, bytes):
        if raw is not None and len(raw) > max_frame_bytes:
            raise ProtocolError("too_large", f"frames are limited to {max_frame_bytes} bytes", True)
        raise ProtocolError("bad_frame", "frames must be UTF-8 JSON text")
    if len(raw) > max_frame_bytes or len(raw.encode("utf-8")) > max_frame_bytes:
        raise ProtocolError("too_large", f"frames are limited to {max_frame_bytes} bytes", True)
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("bad_frame", "frame is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("bad_frame", "frame must be a JSON object with a string 'type'")
    if data["type"] not in ("hello", "message", "rating", "ping"):
        raise ProtocolError("bad_frame", f"unknown frame type {data['type'][:40]!r}")
    try:
        frame = _adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or data["type"]
        raise ProtocolError("bad_frame", f"{data['type']}: {where}: {first['msg']}") from None
    if isinstance(frame, MessageFrame):
        if len(frame.text) > max_message_chars:
            raise ProtocolError("too_large", f"messages are limited to {max_message_chars} characters")
        if not frame.text.strip():
            raise ProtocolError("bad_frame", "message: text is empty")
    return frame


# Server -> client frames.

def error(code: str, message: str) -> dict[str, Any]:
    assert code in ERROR_CODES
    return {"type": "error", "code": code, "message": message}


def welcome(session: str, conversation: str, status: str, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "welcome", "v": VERSION, "session": session, "conversation": conversation,
            "status": status, "history": history}


def ack(client_id: str) -> dict[str, Any]:
    return {"type": "ack", "id": client_id}


def reply_start(reply: str) -> dict[str, Any]:
    return {"type": "reply_start", "reply": reply}


def reply_delta(reply: str, text: str) -> dict[str, Any]:
    return {"type": "reply_delta", "reply": reply, "text": text}


def reply_end(reply: str, text: str, quick_replies: list[str]) -> dict[str, Any]:
    return {"type": "reply_end", "reply": reply, "text": text, "quick_replies": quick_replies}


def status(text: str) -> dict[str, Any]:
    return {"type": "status", "text": text}


def handoff(reason: str, ticket: str | None, text: str) -> dict[str, Any]:
    return {"type": "handoff", "reason": reason, "ticket": ticket, "text": text}


def human_message(message_id: str, author: str, text: str) -> dict[str, Any]:
    return {"type": "human_message", "id": message_id, "author": author, "text": text}


PONG: dict[str, Any] = {"type": "pong"}
