"""One model call, streamed, inside a latency budget: retries until the budget runs out.

The budget is time without progress: the shopper should not wait longer than
``claude_first_token_budget_s`` for the first token of a call, or for the next one once
it streams. Rate limits (429), overload (529), server errors, timeouts, dropped
connections and an ``error`` event mid-stream are retried with backoff while the budget
lasts; a request the API refuses (400, 401, 403, 404, 413) is not. When no retry fits,
:class:`ModelUnavailable` tells the agent to answer another way.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import structlog

log = structlog.get_logger(__name__)

RETRIED_STATUSES = frozenset({408, 409, 429})
RETRIED_STREAM_ERRORS = frozenset({"overloaded_error", "rate_limit_error", "api_error", "timeout_error"})
MAX_RESTARTS = 2  # answers broken mid-stream, started again, per call
BACKOFF_S = 0.25
BACKOFF_MAX_S = 2.0


class ModelUnavailable(Exception):
    """No answer from the model within the budget (or it refused the request)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class _BrokenStream(Exception):
    """The stream ended without ``message_stop``."""


class Restart:
    """The answer broke off; the text that follows starts it again from the beginning."""


RESTART = Restart()


@dataclass(slots=True)
class Reply:
    """A complete model response: its content blocks (as request params) and stop reason."""

    content: list[dict[str, Any]]
    stop_reason: str

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b["type"] == "tool_use"]


@dataclass(slots=True)
class Budget:
    seconds: float
    deadline: float = 0.0

    def restart(self) -> None:
        self.deadline = asyncio.get_running_loop().time() + self.seconds

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()


@dataclass(slots=True)
class Usage:
    """Tokens summed over every request of a turn, failed attempts included (they bill)."""

    totals: dict[str, int] = field(default_factory=dict)

    def add(self, usage: Any) -> None:
        for ours, theirs in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                             ("cache_read_tokens", "cache_read_input_tokens"),
                             ("cache_creation_tokens", "cache_creation_input_tokens")):
            value = getattr(usage, theirs, None)
            if value:
                self.totals[ours] = self.totals.get(ours, 0) + int(value)


@dataclass(slots=True)
class _AttemptUsage:
    """One response's usage: message_start's, then message_delta's cumulative figures."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def update(self, usage: Any) -> None:
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                     "cache_creation_input_tokens"):
            value = getattr(usage, name, None)
            if value is not None:
                setattr(self, name, int(value))


def retryable(err: BaseException) -> bool:
    if isinstance(err, anthropic.APIStatusError):
        if err.status_code == 200:  # an ``error`` event after the stream started
            return getattr(err, "type", None) in RETRIED_STREAM_ERRORS
        return err.status_code in RETRIED_STATUSES or err.status_code >= 500
    return isinstance(err, (anthropic.AnthropicError, httpx2.HTTPError, OSError, ValueError,
                            RuntimeError, _BrokenStream))


def retry_after(err: BaseException) -> float | None:
    """What the API asked us to wait, if it said (``retry-after-ms``, ``retry-after``)."""
    response = getattr(err, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                continue
    return None


def _block_param(block: Any) -> dict[str, Any] | None:
    if block.type == "text":
        return {"type": "text", "text": block.text} if block.text else None
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name,
                "input": block.input if isinstance(block.input, dict) else {}}
    return None


class Model:
    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self.client = client

    async def stream(self, request: dict[str, Any], budget: Budget, usage: Usage,
                     attempts: list[str]) -> AsyncIterator[str | Restart | Reply]:
        """Text deltas as they come, RESTART when a retry starts the answer again, and at
        the end the whole Reply. ``attempts`` gets one entry per try (ok or the error)."""
        restarts = 0
        while True:
            streamed = False
            try:
                async for item in self._attempt(request, budget, usage):
                    if isinstance(item, Reply):
                        attempts.append("ok")
                    else:
                        streamed = True
                    yield item
                return
            except TimeoutError:
                attempts.append("timeout")
                raise ModelUnavailable("timeout", "no token within the budget") from None
            except Exception as err:
                if not retryable(err):
                    attempts.append(_describe(err))
                    log.warning("claude.refused", error=_describe(err))
                    raise ModelUnavailable("refused", _describe(err)) from err
                attempts.append(_describe(err))
                failure = err
            if streamed:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise ModelUnavailable("broken", "the answer broke off too often")
                budget.restart()  # the shopper saw progress until the break
                yield RESTART
            wait = retry_after(failure)
            if wait is None:
                wait = min(BACKOFF_S * 2 ** (len(attempts) - 1), BACKOFF_MAX_S) * random.uniform(0.75, 1.0)
            if wait >= budget.remaining():
                raise ModelUnavailable("unavailable", _describe(failure))
            log.info("claude.retry", error=_describe(failure), wait_s=round(wait, 3))
            await asyncio.sleep(wait)

    async def _attempt(self, request: dict[str, Any], budget: Budget,
                       usage: Usage) -> AsyncIterator[str | Reply]:
        loop = asyncio.get_running_loop()
        seen = _AttemptUsage()
        started = False
        try:
            manager = self.client.messages.stream(**request)
            async with asyncio.timeout_at(budget.deadline):
                stream = await manager.__aenter__()
            try:
                events = stream.__aiter__()
                while True:
                    # No timeout is held across a yield: the consumer's awaits stay its own.
                    try:
                        async with asyncio.timeout_at(budget.deadline):
                            event = await events.__anext__()
                    except StopAsyncIteration:
                        break
                    if event.type == "text":
                        budget.deadline = loop.time() + budget.seconds
                        yield event.text
                    elif event.type in ("content_block_start", "input_json"):
                        budget.deadline = loop.time() + budget.seconds
                    elif event.type == "message_start":
                        started = True
                        seen.update(event.message.usage)
                    elif event.type == "message_delta":
                        seen.update(event.usage)
                if not started:
                    raise _BrokenStream("the stream ended before message_start")
                message = await stream.get_final_message()
            finally:
                await manager.__aexit__(None, None, None)
        finally:
            if started:
                usage.add(seen)
        if message.stop_reason is None:
            raise _BrokenStream("the stream ended without message_stop")
        content = [p for b in message.content if (p := _block_param(b)) is not None]
        yield Reply(content, message.stop_reason)


def _describe(err: BaseException) -> str:
    if isinstance(err, anthropic.APIStatusError):
        return f"{err.status_code} {getattr(err, 'type', None) or type(err).__name__}"
    return type(err).__name__
