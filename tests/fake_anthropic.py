"""A fake Anthropic Messages API that speaks the real wire contract, for tests and benches.

A small Starlette app served by uvicorn on 127.0.0.1 (a background thread, or its own
process with ``python tests/fake_anthropic.py``). The real ``anthropic`` SDK talks to it
through ``base_url``. Each ``POST /v1/messages`` takes the next scripted response from a
queue (or asks a function, or falls back to ``default``) and streams it as real SSE:
``event:`` lines, ``message_start`` ... ``message_stop``, ``ping``, ``text_delta``,
``input_json_delta`` split in pieces, usage in ``message_start`` and ``message_delta``.
Errors use the documented JSON bodies; a stream can also be cut mid-answer or end in an
``error`` event. Every request is recorded (body and headers), and a request that breaks
the API's rules (roles, tool_result pairing, headers) gets a 400 and is noted in
``invalid``. See /work/shared/contracts/outside-apis.md section 3.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "claude-test"


@dataclass
class Usage:
    input_tokens: int = 900
    output_tokens: int = 40
    cache_read: int = 0
    cache_creation: int = 0


@dataclass
class Text:
    """An answer (``stop_reason: end_turn``) streamed in these pieces."""

    chunks: list[str]
    first_token_s: float = 0.0   # after message_start, before the first content block
    between_s: float = 0.0       # between text deltas
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = "end_turn"


@dataclass
class ToolUse:
    """A tool_use turn: optional leading text, then one block per call."""

    calls: list[tuple[str, dict[str, Any]]]
    text: str | None = None
    usage: Usage = field(default_factory=lambda: Usage(output_tokens=70))
    piece: int = 9  # partial_json fragment length
    first_token_s: float = 0.0


@dataclass
class Error:
    """An HTTP error with the documented body."""

    status: int
    type: str
    message: str = "error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Cut:
    """Text that stops mid-answer: the connection closes without message_stop."""

    chunks: list[str]
    error_event: str | None = None  # send this error event first (e.g. "overloaded_error")


@dataclass
class Stall:
    """message_start, then nothing for ``seconds`` (no first token), then a normal answer."""

    seconds: float
    then: Text = field(default_factory=lambda: Text(["late"]))


Step = Text | ToolUse | Error | Cut | Stall
Responder = Callable[[dict[str, Any]], Step]


def rate_limited(retry_after: str | None = None, retry_after_ms: str | None = None) -> Error:
    headers = {"anthropic-ratelimit-requests-remaining": "0"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return Error(429, "rate_limit_error", "This request would exceed the rate limit for your "
                 "organization of 1,000 requests per minute.", headers)


def overloaded() -> Error:
    return Error(529, "overloaded_error", "Overloaded")


def server_error() -> Error:
    return Error(500, "api_error", "Internal server error")


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _message_start(usage: Usage) -> bytes:
    return _sse("message_start", {"type": "message_start", "message": {
        "id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": MODEL,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage.input_tokens, "cache_creation_input_tokens": usage.cache_creation,
                  "cache_read_input_tokens": usage.cache_read, "output_tokens": 1,
                  "service_tier": "standard"}}})


def _message_end(stop_reason: str, usage: Usage) -> list[bytes]:
    return [
        _sse("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": usage.output_tokens}}),
        _sse("message_stop", {"type": "message_stop"}),
    ]


def _text_block(index: int) -> bytes:
    return _sse("content_block_start", {"type": "content_block_start", "index": index,
                                        "content_block": {"type": "text", "text": ""}})


def _text_delta(index: int, text: str) -> bytes:
    return _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": {"type": "text_delta", "text": text}})


def _stop(index: int) -> bytes:
    return _sse("content_block_stop", {"type": "content_block_stop", "index": index})


PING = _sse("ping", {"type": "ping"})


class _Dropped(Exception):
    """Raised inside a response body to drop the connection mid-stream."""


async def _stream_text(step: Text) -> AsyncIterator[bytes]:
    yield _message_start(step.usage)
    if step.first_token_s:
        await asyncio.sleep(step.first_token_s)
    yield _text_block(0)
    yield PING
    for i, chunk in enumerate(step.chunks):
        if i and step.between_s:
            await asyncio.sleep(step.between_s)
        yield _text_delta(0, chunk)
    yield _stop(0)
    for part in _message_end(step.stop_reason, step.usage):
        yield part


async def _stream_tools(step: ToolUse) -> AsyncIterator[bytes]:
    yield _message_start(step.usage)
    if step.first_token_s:
        await asyncio.sleep(step.first_token_s)
    index = 0
    if step.text:
        yield _text_block(0)
        yield PING
        yield _text_delta(0, step.text)
        yield _stop(0)
        index = 1
    for name, arguments in step.calls:
        yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:22], "name": name, "input": {},
            "caller": {"type": "direct"}}})
        raw = json.dumps(arguments, ensure_ascii=False)
        pieces = [""] + [raw[i:i + step.piece] for i in range(0, len(raw), step.piece)]
        for piece in pieces:
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                               "delta": {"type": "input_json_delta", "partial_json": piece}})
        yield _stop(index)
        index += 1
    for part in _message_end("tool_use", step.usage):
        yield part


async def _stream_cut(step: Cut) -> AsyncIterator[bytes]:
    yield _message_start(Usage(output_tokens=5))
    yield _text_block(0)
    for chunk in step.chunks:
        yield _text_delta(0, chunk)
    await asyncio.sleep(0.01)
    if step.error_event:
        yield _sse("error", {"type": "error", "error": {"details": None, "type": step.error_event,
                                                        "message": "Overloaded"}})
        return  # closed without message_stop
    raise _Dropped("connection dropped mid-answer")


async def _stream_stall(step: Stall) -> AsyncIterator[bytes]:
    yield _message_start(step.then.usage)
    await asyncio.sleep(step.seconds)
    async for part in _stream_text(step.then):
        if part.startswith(b"event: message_start"):
            continue
        yield part


def check_request(body: dict[str, Any], headers: dict[str, str]) -> str | None:
    """What the real API would refuse in this request, or None."""
    if not (headers.get("x-api-key") or headers.get("authorization", "").startswith("Bearer ")):
        return "authentication"
    if not headers.get("anthropic-version"):
        return "anthropic-version header: missing"
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    messages = body["messages"]
    if not messages or messages[0]["role"] != "user":
        return "messages: the first message must use the user role"
    for i, (a, b) in enumerate(itertools.pairwise(messages)):
        if a["role"] == b["role"]:
            return f"messages.{i + 1}: roles must alternate"
    for i, message in enumerate(messages):
        content = message["content"]
        if message["role"] != "assistant" or isinstance(content, str):
            continue
        ids = [block["id"] for block in content if block.get("type") == "tool_use"]
        if not ids:
            continue
        after = messages[i + 1]["content"] if i + 1 < len(messages) else []
        after = [] if isinstance(after, str) else after
        leading = []
        for block in after:
            if block.get("type") != "tool_result":
                break
            leading.append(block["tool_use_id"])
        missing = [x for x in ids if x not in leading]
        if missing:
            return (f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}")
    return None


class FakeAnthropic:
    """The fake; ``script`` queues responses, ``requests`` holds what arrived."""

    def __init__(self, default: Step | None = None) -> None:
        self.queue: collections.deque[Step | Responder] = collections.deque()
        self.default = default
        self.requests: list[Recorded] = []
        self.invalid: list[str] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *steps: Step | Responder) -> Self:
        self.queue.extend(steps)
        return self

    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests]

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Recorded(body, headers, time.monotonic()))
        request_id = "req_" + uuid.uuid4().hex[:20]
        problem = check_request(body, headers)
        if problem:
            self.invalid.append(problem)
            kind, status = ("authentication_error", 401) if problem == "authentication" else (
                "invalid_request_error", 400)
            return _error(Error(status, kind, problem), request_id)
        step: Step | Responder | None = self.queue.popleft() if self.queue else self.default
        if step is None:
            self.invalid.append("no scripted response left")
            return _error(Error(500, "api_error", "fake: no scripted response left",
                                {"x-should-retry": "false"}), request_id)
        if callable(step) and not isinstance(step, (Text, ToolUse, Error, Cut, Stall)):
            step = step(body)
        if isinstance(step, Error):
            return _error(step, request_id)
        stream = {Text: _stream_text, ToolUse: _stream_tools, Cut: _stream_cut,
                  Stall: _stream_stall}[type(step)](step)  # type: ignore[index,operator]
        return StreamingResponse(stream, media_type="text/event-stream; charset=utf-8",
                                 headers={"request-id": request_id, "cache-control": "no-cache"})

    # -- running it ------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        self.port = port or free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="critical",
                                lifespan="off", timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-anthropic", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Anthropic server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(step: Error, request_id: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": step.type, "message": step.message},
                         "request_id": request_id}, status_code=step.status,
                        headers={"request-id": request_id, **step.headers})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Serve a model that answers every request with the same timed text (for benches)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--first-token-ms", type=float, default=300)
    parser.add_argument("--token-ms", type=float, default=20)
    parser.add_argument("--tokens", type=int, default=12)
    args = parser.parse_args()
    words = [f"word{i} " for i in range(args.tokens)]
    fake = FakeAnthropic(default=Text(words, first_token_s=args.first_token_ms / 1000,
                                      between_s=args.token_ms / 1000))
    port = args.port or free_port()
    print(port, flush=True)
    uvicorn.run(fake.app, host="127.0.0.1", port=port, log_level="critical", lifespan="off",
                timeout_keep_alive=60, backlog=4096)


if __name__ == "__main__":
    main()
