"""Delivery of live events to whoever is watching a conversation, across processes.

A human reply may arrive (Zendesk webhook, inbox form) on another server process than
the one holding the shopper's socket. Every process subscribes its open sockets here;
``publish`` reaches them wherever they are: in-process by default, through Redis pub/sub
when ``SHOPDESK_REDIS_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

Listener = Callable[[dict[str, Any]], Awaitable[None]]
INBOX = "inbox"  # the channel of the operators' inbox pages


class Hub(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...
    def subscribe(self, channel: str, listener: Listener) -> contextlib.AbstractContextManager[None]: ...


class LocalHub:
    """Listeners of this process only."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listeners.clear()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self.deliver(channel, event)

    async def deliver(self, channel: str, event: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(channel, ())):
            try:
                await listener(event)
            except Exception:
                log.exception("fanout.listener_failed", channel=channel)

    @contextlib.contextmanager
    def subscribe(self, channel: str, listener: Listener) -> Iterator[None]:
        self._listeners[channel].add(listener)
        try:
            yield
        finally:
            listeners = self._listeners.get(channel)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[channel]


class RedisHub(LocalHub):
    """Publishes through Redis; one pattern subscription per process feeds local listeners."""

    PREFIX = "shopdesk:"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._redis.aclose()
        await super().stop()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self._redis.publish(self.PREFIX + channel, json.dumps(event))

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(self.PREFIX + "*")
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "pmessage":
                            continue
                        channel = message["channel"].decode()[len(self.PREFIX):]
                        await self.deliver(channel, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("fanout.redis_lost")
                await asyncio.sleep(1)


def create_hub(redis_url: str | None) -> Hub:
    return RedisHub(redis_url) if redis_url else LocalHub()
