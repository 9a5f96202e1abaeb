"""The Claude agent's own latency: what the server adds on top of the model's.

Starts the fake Messages API (``tests/fake_anthropic.py``, its own process) with a model
that sends its first token 300 ms after a request and then a token every 20 ms, and a
real ``shopdesk serve`` (demo store, fresh SQLite database, ``SHOPDESK_AGENT=claude``,
``ANTHROPIC_BASE_URL`` at the fake). Shoppers chat through protocol v1 over real
WebSockets; per message the figure is send -> first ``reply_delta`` at the widget minus
the model's 300 ms: the escalation checks, storing the message, building the prompt and
redacting it, the SDK's request and stream parsing, mapping placeholders back, and the
frames. It runs with 1 conversation (one message at a time) and with 200 concurrent
conversations (each: a message, its answer, a pause of a few seconds, again), and prints
p50/p95/p99 against the 15 ms p50 target.

As a floor it also measures a bare SDK client against the fake (first token minus
300 ms): what the fake and the SDK cost before shopdesk does anything.

    python bench/claude_overhead.py [--conversations 200] [--seconds 40] [--think 3 9]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

With ``--postgres`` the server stores conversations in a fresh PostgreSQL database (made
and dropped on that server) instead of the default SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving import cpu_seconds, free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
FIRST_TOKEN_MS = 300.0
TOKEN_MS = 20.0
TARGET_P50_MS = 15.0
QUESTIONS = [
    "How long does shipping to Denmark take?",
    "Do you ship to Sweden?",
    "What is your return policy?",
    "Which payment methods do you accept?",
    "What size should I take in the Røsnæs cardigan? I usually wear M",
    "What is the Skagen merino sweater made of?",
    "Hvor lang tid tager levering?",
    "Hvad koster det at returnere?",
    "Where is order 1003? anna@example.dk",
    "Kan jeg betale med MobilePay?",
]
HELLO = {"type": "hello", "v": 1, "session": None, "locale": None, "page": None, "customer": None}


@dataclass
class Figures:
    overhead_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    after_ack_ms: list[float] = field(default_factory=list)
    answered: int = 0
    handoffs: int = 0
    errors: int = 0
    timeouts: int = 0


class Shopper:
    def __init__(self, url: str, figures: Figures, rng: random.Random, timeout: float = 15.0) -> None:
        self.url, self.figures, self.rng, self.timeout = url, figures, rng, timeout
        self.ws: Any = None
        self.sent = 0

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, ping_interval=None, max_queue=None, open_timeout=30)
        await self.ws.send(json.dumps(HELLO))
        welcome = json.loads(await self.ws.recv())
        assert welcome["type"] == "welcome", welcome

    async def turn(self, record: bool = True) -> None:
        """One message; its first delta's time; read to reply_end or handoff."""
        if self.ws is None:
            await self.open()
        self.sent += 1
        text = self.rng.choice(QUESTIONS)
        started = time.perf_counter()
        await self.ws.send(json.dumps({"type": "message", "id": f"m{self.sent}", "text": text}))
        first = acked = None
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    frame = json.loads(await self.ws.recv())
                    kind = frame["type"]
                    if kind == "ack":
                        acked = time.perf_counter()
                    elif kind == "reply_delta" and first is None:
                        first = time.perf_counter()
                    elif kind == "reply_end":
                        self.figures.answered += record
                        break
                    elif kind == "handoff":
                        self.figures.handoffs += record
                        await self.ws.close()
                        self.ws = None  # a person has this chat now: the next message opens another
                        break
                    elif kind == "error":
                        self.figures.errors += record
        except TimeoutError:
            self.figures.timeouts += record
            await self.ws.close()
            self.ws = None
            return
        if record and first is not None:
            self.figures.overhead_ms.append((first - started) * 1000 - FIRST_TOKEN_MS)
            if acked is not None:
                self.figures.ack_ms.append((acked - started) * 1000)
                self.figures.after_ack_ms.append((first - acked) * 1000 - FIRST_TOKEN_MS)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def one_conversation(url: str, messages: int) -> Figures:
    figures = Figures()
    shopper = Shopper(url, figures, random.Random(1))
    for _ in range(3):  # warm-up: connections, caches
        await shopper.turn(record=False)
    for _ in range(messages):
        await shopper.turn()
        await asyncio.sleep(0.05)
    await shopper.close()
    return figures


async def many_conversations(url: str, conversations: int, seconds: float,
                             think: tuple[float, float]) -> Figures:
    figures = Figures()
    rng = random.Random(7)
    shoppers = [Shopper(url, figures, random.Random(i)) for i in range(conversations)]
    for i in range(0, conversations, 25):  # open the chats first, a batch at a time
        await asyncio.gather(*(s.open() for s in shoppers[i:i + 25]))
    stop = time.perf_counter() + seconds

    async def chat(shopper: Shopper) -> None:
        await asyncio.sleep(rng.uniform(0, think[1]))  # spread the first messages
        while time.perf_counter() < stop:
            await shopper.turn()
            await asyncio.sleep(rng.uniform(*think))

    await asyncio.gather(*(chat(s) for s in shoppers))
    await asyncio.gather(*(s.close() for s in shoppers))
    return figures


async def sdk_floor(base_url: str, n: int) -> list[float]:
    """First token at a bare SDK client, minus the model's 300 ms."""
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=base_url, max_retries=0)
    out = []
    for i in range(n + 2):
        started = time.perf_counter()
        async with client.messages.stream(model="claude-bench", max_tokens=64,
                                          messages=[{"role": "user", "content": "hi"}]) as stream:
            first = None
            async for event in stream:
                if event.type == "text" and first is None:
                    first = time.perf_counter()
        if i >= 2 and first is not None:
            out.append((first - started) * 1000 - FIRST_TOKEN_MS)
    await client.close()
    return out


async def postgres_database(url: str, drop: str | None = None) -> str:
    """A fresh database on the server of ``url`` (or drop the one named ``drop``)."""
    import secrets

    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    base = make_url(url)
    admin = await asyncpg.connect(host=base.host, port=base.port or 5432, user=base.username,
                                  password=base.password, database=base.database, timeout=5)
    try:
        if drop:
            await admin.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            return drop
        name = f"shopdesk_bench_{secrets.token_hex(4)}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        return base.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<34} no samples"
    return (f"{label:<34} n={len(values):<5} p50 {statistics.median(values):6.1f} ms   "
            f"p95 {percentile(values, 95):6.1f} ms   p99 {percentile(values, 99):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--think", type=float, nargs=2, default=(3.0, 9.0),
                        help="pause between a reply and the next message, seconds (min max)")
    parser.add_argument("--messages", type=int, default=60, help="messages of the single conversation")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per answer")
    parser.add_argument("--postgres", help="a PostgreSQL URL: store in a fresh database there")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shopdesk-claude-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    database_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    if args.postgres:
        database_url = asyncio.run(postgres_database(args.postgres))
    try:
        fake_port = free_port()
        fake = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "fake_anthropic.py"), "--port", str(fake_port),
             "--first-token-ms", str(FIRST_TOKEN_MS), "--token-ms", str(TOKEN_MS),
             "--tokens", str(args.tokens)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(fake)
        assert fake.stdout is not None
        fake.stdout.readline()  # its port: it is listening
        fake_url = f"http://127.0.0.1:{fake_port}"
        time.sleep(0.3)

        port = free_port()
        env = {**os.environ, "SHOPDESK_AGENT": "claude", "ANTHROPIC_API_KEY": "sk-bench",
               "ANTHROPIC_BASE_URL": fake_url, "SHOPDESK_DATABASE_URL": database_url,
               "SHOPDESK_RATE_LIMIT_MESSAGES": "1000", "PYTHONPATH": str(ROOT / "server")}
        server = subprocess.Popen(
            [sys.executable, "-m", "shopdesk", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(server)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(server, url)
        ws_url = f"ws://127.0.0.1:{port}/ws"

        print(f"fake model: first token after {FIRST_TOKEN_MS:.0f} ms, then a token every "
              f"{TOKEN_MS:.0f} ms, {args.tokens} tokens; {os.cpu_count()} CPUs shared by the "
              f"server, the fake and this client; database {database_url.split(':', 1)[0]}")
        floor = asyncio.run(sdk_floor(fake_url, 20))
        print(line("bare SDK client -> fake (floor)", floor))

        cpu0 = cpu_seconds(server.pid)
        one = asyncio.run(one_conversation(ws_url, args.messages))
        cpu1 = cpu_seconds(server.pid)
        print(line("1 conversation", one.overhead_ms)
              + f"   server CPU {1000 * (cpu1 - cpu0) / max(1, len(one.overhead_ms) + 3):.1f} ms/turn")
        print(line("  send -> ack (message stored)", one.ack_ms))
        print(line("  ack -> first delta, minus 300", one.after_ack_ms))

        started = time.perf_counter()
        cpu0, fake0, own0 = cpu_seconds(server.pid), cpu_seconds(fake.pid), time.process_time()
        many = asyncio.run(many_conversations(ws_url, args.conversations, args.seconds, tuple(args.think)))
        wall = time.perf_counter() - started
        cpu1, fake1, own1 = cpu_seconds(server.pid), cpu_seconds(fake.pid), time.process_time()
        turns = many.answered + many.handoffs
        print(line(f"{args.conversations} conversations", many.overhead_ms)
              + f"   {turns / wall:.0f} turns/s; CPU: server {100 * (cpu1 - cpu0) / wall:.0f}%, "
              f"fake {100 * (fake1 - fake0) / wall:.0f}%, client {100 * (own1 - own0) / wall:.0f}%")
        print(line("  send -> ack (message stored)", many.ack_ms))
        print(line("  ack -> first delta, minus 300", many.after_ack_ms))
        print(f"{'':<34} answered {many.answered}, handoffs {many.handoffs}, errors {many.errors}, "
              f"timeouts {many.timeouts}")
        for label, figures in (("1 conversation", one), (f"{args.conversations} conversations", many)):
            if figures.overhead_ms:
                p50 = statistics.median(figures.overhead_ms)
                verdict = "meets" if p50 <= TARGET_P50_MS else "MISSES"
                own = p50 - statistics.median(floor) if floor else p50
                print(f"{label}: p50 added {p50:.1f} ms {verdict} the {TARGET_P50_MS:.0f} ms target"
                      f" ({own:.1f} ms above the bare SDK floor measured in this run)")
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if args.postgres:
            from sqlalchemy.engine import make_url

            asyncio.run(postgres_database(args.postgres, drop=make_url(database_url).database))


if __name__ == "__main__":
    main()
