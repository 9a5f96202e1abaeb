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
