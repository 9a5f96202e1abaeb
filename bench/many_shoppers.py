"""Many shoppers at once: chat latency under load, against a bare WebSocket echo baseline.

Starts a real ``shopdesk serve`` (demo store, a fresh SQLite database, the offline agent)
and, as the baseline, a bare Starlette echo endpoint under the same uvicorn settings. For
each, a load client in its own process (the server gets one core, the client the other)
opens ``--conversations`` chats through protocol v1 and sends, in every chat, one shopper
message a second for ``--seconds`` on a fixed schedule (open loop: a slow answer does not
delay the next message, so queueing shows up in the figures). Per message it measures
send -> ack and send -> first ``reply_delta``; it counts error frames, timeouts and
closed connections, and the CPU both processes used.

    python bench/many_shoppers.py [--conversations 500] [--seconds 30] [--timeout 10]

The messages are shopper questions the offline agent answers without an order
(shipping, returns, payment, sizes, materials) and order-status questions with an order
number and its email from the demo store (``server/shopdesk/store/DEMO.md``). A chat the
agent hands over is a person's from then on: its shopper starts a new chat.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

QUESTIONS = [
    "How long does shipping to Denmark take?",
    "Do you ship to Sweden?",
    "Is shipping free?",
    "What is your return policy?",
    "How many days do I have to return something?",
    "How much does a return cost?",
    "Which payment methods do you accept?",
    "Can I pay with MobilePay?",
    "What size should I take in the Røsnæs cardigan? I usually wear M",
    "I usually wear L, which size should I get in the Lyngby Oxford shirt?",
    "What is the Skagen merino sweater made of?",
    "Is the Vesterhav wool coat in stock in camel M?",
    "Hvor lang tid tager levering?",
    "Hvad koster det at returnere?",
    "Kan jeg betale med MobilePay?",
]
ORDER_QUESTIONS = [
    "Where is order 1003? anna@example.dk",
    "Where is my order 1004? ida@example.dk",
    "Status on order 1009, clara@example.com",
    "has order 1013 shipped? anna@example.dk",
    "When will order 1021 arrive? karin@example.se",
    "where is my parcel, order 1022 ida@example.dk",
    "Hvor er ordre 1002? sofie@example.dk",
    "Hvornår kommer ordre 1001? mikkel@example.dk",
]
ORDER_SHARE = 0.25
HELLO = {"type": "hello", "v": 1, "session": None, "locale": None, "page": None, "customer": None}
# What `shopdesk serve` passes to uvicorn; the echo baseline runs with the same.
from serving import cpu_seconds, event_loop_runner, free_port, raise_fd_limit, stop, wait_healthy
from shopdesk.cli import UVICORN_OPTIONS

# ---------------------------------------------------------------- the echo baseline

def echo_app() -> Any:
    """Protocol v1 at its cheapest: welcome, then ack + one-piece reply of every message."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        replies = 0
        try:
            while True:
                frame = await websocket.receive_json()
                kind = frame.get("type")
                if kind == "hello":
                    await websocket.send_json({"type": "welcome", "v": 1, "session": "echo",
                                               "conversation": "echo", "status": "bot", "history": []})
                elif kind == "message":
                    replies += 1
                    reply = f"r{replies}"
                    await websocket.send_json({"type": "ack", "id": frame["id"]})
                    await websocket.send_json({"type": "reply_start", "reply": reply})
                    await websocket.send_json({"type": "reply_delta", "reply": reply, "text": frame["text"]})
                    await websocket.send_json({"type": "reply_end", "reply": reply, "text": frame["text"],
                                               "quick_replies": []})
                elif kind == "ping":
                    await websocket.send_json({"type": "pong"})
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws", chat)])


def serve_echo(port: int) -> None:
    import uvicorn

    uvicorn.run(echo_app(), host="127.0.0.1", port=port, **UVICORN_OPTIONS)


# ---------------------------------------------------------------- the load client

@dataclass(slots=True)
class Sent:
    id: str
    at: float
    ack: float | None = None
    first_delta: float | None = None
    end: float | None = None
    outcome: str = "pending"  # pending | answered | handoff | refused | lost


@dataclass
class Load:
    timeout: float
    messages: list[Sent] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    closed: int = 0
    close_reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    connect_failed: int = 0
    welcome_s: list[float] = field(default_factory=list)


class Shopper:
    """One chat: sends on schedule, reads frames in a task of its own."""

    def __init__(self, number: int, url: str, load: Load, rng: random.Random) -> None:
        self.number, self.url, self.load, self.rng = number, url, load, rng
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.session: str | None = None
        self.unacked: collections.deque[Sent] = collections.deque()
        self.unanswered: collections.deque[Sent] = collections.deque()
        self.answering: Sent | None = None
        self.handed_off = False
        self.closing = False
        self.sent = 0

    async def open(self, session: str | None = None) -> bool:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        started = time.perf_counter()
        try:
            self.ws = await connect(self.url, open_timeout=self.load.timeout, ping_interval=None,
                                    max_queue=None)
            await self.ws.send(json.dumps({**HELLO, "session": session}))
            welcome = json.loads(await asyncio.wait_for(self.ws.recv(), self.load.timeout))
        except (OSError, TimeoutError, WebSocketException):
            self.load.connect_failed += 1
            self.ws = None
            return False
        self.load.welcome_s.append(time.perf_counter() - started)
        self.session = welcome.get("session")
        self.handed_off = False
        self.reader = asyncio.create_task(self.read(self.ws))
        return True

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader
        self.ws = self.reader = None
        self.closing = False

    def text(self) -> str:
        pool = ORDER_QUESTIONS if self.rng.random() < ORDER_SHARE else QUESTIONS
        return self.rng.choice(pool)

    async def send(self) -> None:
        if self.ws is None or self.handed_off:
            # A handed-over chat is a person's now; the next shopper starts a new one.
            await self.close()
            if not await self.open():
                return
        self.sent += 1
        message = Sent(f"c{self.number}m{self.sent}", time.perf_counter())
        self.load.messages.append(message)
        self.unacked.append(message)
        # On a closed connection the reader sees the close and resumes the chat.
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps({"type": "message", "id": message.id, "text": self.text()}))

    async def reconnect(self) -> None:
        """A closed connection: what was sent and not answered is lost; resume the chat."""
        for message in [*self.unacked, *self.unanswered, *([self.answering] if self.answering else [])]:
            message.outcome = "lost"
        self.unacked.clear()
        self.unanswered.clear()
        self.answering = None
        self.load.closed += 1
        self.ws = self.reader = None
        await self.open(None if self.handed_off else self.session)

    async def read(self, ws: Any) -> None:
        try:
            async for raw in ws:
                self.on_frame(json.loads(raw), time.perf_counter())
        except ConnectionClosed:
            pass
        if self.ws is ws and not self.closing:
            self.load.close_reasons[f"{ws.close_code} {ws.close_reason or ''}".strip()] += 1
            await self.reconnect()

    def on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame["type"]
        if kind == "ack":
            if self.unacked and self.unacked[0].id == frame["id"]:
                message = self.unacked.popleft()
                message.ack = now
                self.unanswered.append(message)
        elif kind == "reply_start":
            self.answering = self.unanswered.popleft() if self.unanswered else None
        elif kind == "reply_delta":
            if self.answering is not None and self.answering.first_delta is None:
                self.answering.first_delta = now
        elif kind == "reply_end":
            if self.answering is not None:
                self.answering.end, self.answering.outcome = now, "answered"
            self.answering = None
        elif kind == "handoff":
            message = self.answering or (self.unanswered.popleft() if self.unanswered else None)
            if message is not None:
                message.end, message.outcome = now, "handoff"
            self.answering = None
            self.handed_off = True
            for waiting in self.unanswered:  # stored for the person, never answered by the agent
                waiting.outcome = "handoff"
            self.unanswered.clear()
            self.load.errors["handoff"] += 1
        elif kind == "error":
            code = frame.get("code", "?")
            self.load.errors[code] += 1
            if code in ("rate_limited", "too_large", "bad_frame") and self.unacked:
                self.unacked.popleft().outcome = "refused"


async def drive(url: str, conversations: int, seconds: float, timeout: float, server_pid: int) -> dict[str, Any]:
    load = Load(timeout)
    shoppers = [Shopper(i, url, load, random.Random(i)) for i in range(conversations)]
    # Connect everyone first (a few hundred at a time, as a browser fleet would trickle in).
    gate = asyncio.Semaphore(100)

    async def open_one(s: Shopper) -> None:
        async with gate:
            await s.open()

    started = time.perf_counter()
    await asyncio.gather(*(open_one(s) for s in shoppers))
    connect_s = time.perf_counter() - started

    server_cpu0, client_cpu0 = cpu_seconds(server_pid), time.process_time()
    t0 = time.perf_counter() + 0.2
    stop = t0 + seconds

    async def schedule(s: Shopper) -> None:
        due = t0 + s.number / conversations  # spread the chats evenly over each second
        while due < stop:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await s.send()
            due += 1.0

    await asyncio.gather(*(schedule(s) for s in shoppers))
    window = time.perf_counter() - t0
    server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu0, time.process_time() - client_cpu0

    # Let what is in flight finish, up to the timeout.
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and any(m.outcome == "pending" for m in load.messages):
        await asyncio.sleep(0.1)
    await asyncio.gather(*(s.close() for s in shoppers), return_exceptions=True)
    return summarize(load, window, connect_s, server_cpu, client_cpu)


def summarize(load: Load, window: float, connect_s: float, server_cpu: float, client_cpu: float) -> dict[str, Any]:
    ms = 1000.0
    acks = [(m.ack - m.at) * ms for m in load.messages if m.ack is not None]
    firsts = [(m.first_delta - m.at) * ms for m in load.messages if m.first_delta is not None]
    ends = [(m.end - m.at) * ms for m in load.messages if m.end is not None and m.outcome == "answered"]
    limit = load.timeout * ms
    ack_timeouts = sum(1 for m in load.messages if m.outcome in ("pending", "answered", "handoff")
                       and (m.ack is None or (m.ack - m.at) * ms > limit))
    reply_timeouts = sum(1 for m in load.messages if m.ack is not None and m.outcome in ("pending", "answered")
                         and (m.end is None or (m.end - m.at) * ms > limit))
    answered = [m for m in load.messages if m.outcome == "answered"]
    last = max((m.end for m in answered if m.end is not None), default=0.0)
    first = min((m.at for m in load.messages), default=0.0)
    outcomes = collections.Counter(m.outcome for m in load.messages)
    return {
        "sent": len(load.messages), "acked": len(acks), "answered": len(answered),
        "outcomes": dict(outcomes), "errors": dict(load.errors), "closed": load.closed,
        "close_reasons": dict(load.close_reasons),
        "connect_failed": load.connect_failed, "ack_timeouts": ack_timeouts, "reply_timeouts": reply_timeouts,
        "ack_ms": percentiles(acks), "first_delta_ms": percentiles(firsts), "end_ms": percentiles(ends),
        "welcome_ms": percentiles([w * ms for w in load.welcome_s]),
        "offered_per_s": len(load.messages) / window if window else 0.0,
        "answered_per_s": len(answered) / (last - first) if last > first else 0.0,
        "window_s": window, "connect_s": connect_s,
        "server_cpu_pct": 100 * server_cpu / window, "client_cpu_pct": 100 * client_cpu / window,
    }


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": ordered[-1]}


def run_client(url: str, conversations: int, seconds: float, timeout: float, server_pid: int) -> None:
    raise_fd_limit()
    with event_loop_runner() as runner:
        result = runner.run(drive(url, conversations, seconds, timeout, server_pid))
    print(json.dumps(result))


# ---------------------------------------------------------------- orchestration

def measure(name: str, server: list[str], env: dict[str, str], args: argparse.Namespace,
            log: Path) -> dict[str, Any]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([*server, "--port", str(port)], env=env, stdout=out, stderr=out)
        try:
            wait_healthy(proc, f"http://127.0.0.1:{port}")
            print(f"{name}: {args.conversations} chats x {args.seconds:g} s ...", file=sys.stderr, flush=True)
            client = subprocess.run(
                [sys.executable, __file__, "--role", "client", "--url", f"ws://127.0.0.1:{port}/ws",
                 "--server-pid", str(proc.pid), "--conversations", str(args.conversations),
                 "--seconds", str(args.seconds), "--timeout", str(args.timeout)],
                stdout=subprocess.PIPE, check=True,
            )
        finally:
            stop(proc)
    return json.loads(client.stdout)


def table(echo: dict[str, Any], shop: dict[str, Any], args: argparse.Namespace) -> str:
    def row(label: str, key: str, stat: str) -> str:
        return f"{label:<22}{echo[key][stat]:>12.1f}{shop[key][stat]:>16.1f}"

    def count(label: str, a: Any, b: Any, fmt: str = "") -> str:
        return f"{label:<22}{a:>12{fmt}}{b:>16{fmt}}"

    def lost(r: dict[str, Any]) -> str:
        return f"{r['closed']}/{r['connect_failed']}/{r['outcomes'].get('lost', 0)}"

    def problems(r: dict[str, Any]) -> int:
        return sum(v for k, v in r["errors"].items() if k != "handoff")

    ratio = shop["first_delta_ms"]["p50"] / echo["first_delta_ms"]["p50"]
    lines = [
        (f"many_shoppers: {args.conversations} chats, 1 message/s each, {args.seconds:g} s, "
         f"timeout {args.timeout:g} s (server and client: one process each)"),
        f"{'':<22}{'echo':>12}{'shopdesk':>16}",
        row("ack p50 ms", "ack_ms", "p50"), row("ack p95 ms", "ack_ms", "p95"),
        row("ack p99 ms", "ack_ms", "p99"),
        row("first delta p50 ms", "first_delta_ms", "p50"), row("first delta p95 ms", "first_delta_ms", "p95"),
        row("first delta p99 ms", "first_delta_ms", "p99"), row("first delta max ms", "first_delta_ms", "max"),
        row("reply end p50 ms", "end_ms", "p50"),
        row("welcome p50 ms", "welcome_ms", "p50"),
        count("sent / answered", f"{echo['sent']}/{echo['answered']}", f"{shop['sent']}/{shop['answered']}"),
        count("offered msg/s", echo["offered_per_s"], shop["offered_per_s"], ".1f"),
        count("answered msg/s", echo["answered_per_s"], shop["answered_per_s"], ".1f"),
        count("handoffs", echo["errors"].get("handoff", 0), shop["errors"].get("handoff", 0)),
        count("error frames", problems(echo), problems(shop)),
        count("ack / reply timeouts", f"{echo['ack_timeouts']}/{echo['reply_timeouts']}",
              f"{shop['ack_timeouts']}/{shop['reply_timeouts']}"),
        count("closed/no connect/lost", lost(echo), lost(shop)),
        count("server CPU %", echo["server_cpu_pct"], shop["server_cpu_pct"], ".0f"),
        count("client CPU %", echo["client_cpu_pct"], shop["client_cpu_pct"], ".0f"),
        f"first delta p50, shopdesk / echo: {ratio:.1f}x",
    ]
    for name, r in (("echo", echo), ("shopdesk", shop)):
        if r["answered_per_s"] < 0.95 * r["offered_per_s"]:
            lines.append(f"{name} is over capacity: it answered {r['answered_per_s']:.0f} of "
                         f"{r['offered_per_s']:.0f} messages/s; latencies are queueing")
    errors = {k: v for k, v in shop["errors"].items() if k != "handoff"}
    if errors:
        lines.append(f"shopdesk error frames by code: {errors}")
    if shop["close_reasons"]:
        lines.append(f"shopdesk closed connections by code: {shop['close_reasons']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds an ack or answer may take")
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--role", choices=["bench", "client", "echo"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "echo":
        raise_fd_limit()
        serve_echo(args.port)
        return
    if args.role == "client":
        run_client(args.url, args.conversations, args.seconds, args.timeout, args.server_pid)
        return

    raise_fd_limit()  # inherited by both servers and the clients
    workdir = Path(tempfile.mkdtemp(prefix="shopdesk-bench-"))
    try:
        echo = measure("echo", [sys.executable, __file__, "--role", "echo"], dict(os.environ), args,
                       workdir / "echo.log")
        env = {**os.environ,
               "SHOPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/shopdesk.db",
               # every chat sends one a second: far below this, so no message is refused
               "SHOPDESK_RATE_LIMIT_MESSAGES": "1000",
               "SHOPDESK_AGENT": "offline"}
        env.pop("SHOPDESK_STORE", None)  # the demo store
        shop = measure("shopdesk", [sys.executable, "-m", "shopdesk", "serve", "--host", "127.0.0.1"],
                       env, args, workdir / "shopdesk.log")
        print(table(echo, shop, args))
        if args.json:
            print(json.dumps({"echo": echo, "shopdesk": shop}, indent=2))
        log = (workdir / "shopdesk.log").read_text(errors="replace")
        failures = [line for line in log.splitlines() if '"level": "error"' in line]
        if failures:
            print(f"shopdesk logged {len(failures)} errors; first: {failures[0][:400]}", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
