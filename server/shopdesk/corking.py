"""WebSocket frames written in one turn of the event loop leave in one write.

A shopper's turn sends several frames in a row (status, reply_start, the reply's pieces).
uvicorn writes each to the socket on its own, and on loopback or a busy host each write
is a system call costing tens of microseconds of the server's CPU, as much as answering
takes. Here uvicorn's own WebSocket protocol gets a transport that gathers what is
written while the loop runs one callback and writes it once, at the start of the next
(a few microseconds later): the same bytes, in the same order, in fewer writes. The TCP
stack would merge them the same way with Nagle's algorithm, which asyncio turns off.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class CorkedTransport:
    """Forwards everything to the real transport; ``write`` waits for the loop's next turn."""

    __slots__ = ("_chunks", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._chunks: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._chunks:
            self._loop.call_soon(self.flush)
        self._chunks.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        chunks, self._chunks = self._chunks, []
        if chunks and not self._transport.is_closing():
            self._transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()  # a close frame written just before still goes out first
        self._transport.close()

    def abort(self) -> None:
        self._chunks = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


FLUSH_EXTENSION = "shopdesk.flush"


class CorkedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, writing through a CorkedTransport.

    The app finds the transport's ``flush`` in the scope's extensions (``FLUSH_EXTENSION``):
    what must not wait for the loop's next turn (the first piece of a reply, while other
    chats' turns are queued before it) it sends at once.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        corked = CorkedTransport(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        super().connection_made(corked)  # type: ignore[arg-type]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        self.scope["extensions"][FLUSH_EXTENSION] = self.transport.flush  # type: ignore[index]
