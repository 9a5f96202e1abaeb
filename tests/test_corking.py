"""Frames written in one turn of the event loop leave in one write, in order, none lost."""

from __future__ import annotations

import asyncio

from shopdesk.corking import CorkedTransport


class Recorder:
    """Stands in for the socket's transport: what reached the wire, and in how many writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_loop_turn_leave_together_in_order() -> None:
    wire = Recorder()
    corked = CorkedTransport(wire, asyncio.get_running_loop())  # type: ignore[arg-type]
    for frame in (b"status", b"start", b"delta-1", b"delta-2"):
        corked.write(frame)
    assert wire.writes == []  # nothing yet: the loop has not turned
    await turn()
    assert wire.writes == [b"statusstartdelta-1delta-2"]
    corked.write(b"end")
    await turn()
    assert wire.writes == [b"statusstartdelta-1delta-2", b"end"]


async def test_close_sends_what_was_written_first() -> None:
    wire = Recorder()
    corked = CorkedTransport(wire, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"last frame")
    corked.write(b"close frame")
    corked.close()
    assert wire.writes == [b"last frameclose frame"] and wire.closed
    await turn()  # the flush that was scheduled finds nothing left and writes nothing more
    assert wire.writes == [b"last frameclose frame"]


async def test_nothing_is_written_to_a_closing_transport_and_the_rest_passes_through() -> None:
    wire = Recorder()
    corked = CorkedTransport(wire, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"late")
    wire.closed = True  # the peer went away meanwhile
    await turn()
    assert wire.writes == []
    assert corked.get_extra_info("peername") == "info:peername"


async def test_a_flush_sends_at_once_ahead_of_what_the_loop_has_queued() -> None:
    """The first piece of a reply does not wait behind other chats' queued turns."""
    wire = Recorder()
    loop = asyncio.get_running_loop()
    corked = CorkedTransport(wire, loop)  # type: ignore[arg-type]
    corked.write(b"start")
    corked.write(b"delta")
    on_wire_when_others_ran: list[int] = []
    loop.call_soon(lambda: on_wire_when_others_ran.append(len(wire.writes)))  # another chat's turn
    corked.flush()
    assert wire.writes == [b"startdelta"]
    await turn()
    assert on_wire_when_others_ran == [1]
    assert wire.writes == [b"startdelta"]  # the flush scheduled by the first write found nothing left


async def test_the_app_finds_the_flush_in_the_scope_of_a_real_connection() -> None:
    import uvicorn
    import websockets
    from shopdesk.cli import UVICORN_OPTIONS
    from shopdesk.corking import FLUSH_EXTENSION

    from .conftest import free_port

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "first"})
        scope["extensions"][FLUSH_EXTENSION]()  # leaves now
        written = "on the wire before the next write" if not _pending(send) else "still corked"
        await send({"type": "websocket.send", "text": written})
        await send({"type": "websocket.close", "code": 1000})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **UVICORN_OPTIONS))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as ws:
            assert [await ws.recv(), await ws.recv()] == ["first", "on the wire before the next write"]
    finally:
        server.should_exit = True
        await serving


def _pending(send) -> bool:  # type: ignore[no-untyped-def]
    """Whether the connection's corked transport still holds written bytes."""
    protocol = send.__self__
    return bool(protocol.transport._chunks)
