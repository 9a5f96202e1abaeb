"""Hand-over figures against the fake Zendesk: handoff -> ticket, and webhook -> widget.

Starts the fake Zendesk (tests/fake_zendesk.py, answering every call ``--latency`` late,
100 ms by default, as a real Zendesk does) and a real ``shopdesk serve`` (demo store, a
fresh SQLite database unless ``--postgres``, the offline agent) with Zendesk as its desk.

(a) ``--handoffs`` shoppers (100) open a chat and ask for a person, all at once. Per
    shopper: ask -> ``handoff`` frame (ticket null), and ``handoff`` frame -> the second
    ``handoff`` frame with the ticket number (the ticket made: create + internal note).
    Tickets/s is hand-overs over the time from the first ``handoff`` frame to the last
    ticket number. Checks: exactly one ticket per conversation.
(b) ``--webhooks`` agent replies (200), spread over those conversations: each a signed
    trigger webhook POSTed to the server, timed from the POST to the ``human_message``
    frame on the shopper's socket; once one at a time, once ``--concurrency`` at a time.
    With ``--cross`` the webhooks go to a second server process on the same database and
    the reply reaches the socket on the first through Redis (needs --postgres, --redis).

    python bench/handoff.py [--handoffs 100] [--webhooks 200] [--latency 0.1]
                            [--postgres] [--redis redis://127.0.0.1:6379/0] [--cross]

Target: webhook to widget p95 under 50 ms on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from serving import cpu_seconds, free_port, stop

from tests.fake_zendesk import FakeZendesk, running_fake_zendesk

DEMO_STORE = ROOT / "server" / "shopdesk" / "store" / "demo-store.json"
PG_URL = os.environ.get("SHOPDESK_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
WEBHOOK = "/integrations/zendesk/webhook"
ASK = ("Can I talk to a person?", "Kan jeg tale med et menneske?")
TARGET_P95_MS = 50.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    if not values:
        return "no samples"
    v = [x * scale for x in values]
    return (f"p50 {pct(v, 50):7.1f} {unit}   p95 {pct(v, 95):7.1f} {unit}   "
            f"max {max(v):7.1f} {unit}   mean {statistics.fmean(v):7.1f} {unit}   n={len(v)}")


class Server:
    """``shopdesk serve`` in a process of its own, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shopdesk", "serve", "--store", str(DEMO_STORE),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"shopdesk serve exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise SystemExit("shopdesk serve did not become healthy")

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)


class Shopper:
    def __init__(self, number: int) -> None:
        self.number = number
        self.ws: Any = None
        self.conversation = ""
        self.asked_at = self.handoff_at = self.ticket_at = 0.0
        self.ticket: str | None = None
        self.arrivals: dict[str, float] = {}   # human_message text -> when it arrived
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.handed_over = asyncio.Event()
        self.numbered = asyncio.Event()

    async def open(self, port: int) -> None:
        self.ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=30,
                                           max_queue=None, ping_interval=None)
        await self.ws.send(json.dumps({"type": "hello", "v": 1, "session": None, "locale": "en",
                                       "page": None, "customer": None}))
        welcome = json.loads(await self.ws.recv())
        self.conversation = welcome["conversation"]
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                if frame["type"] == "handoff" and frame["ticket"] is None and not self.handoff_at:
                    self.handoff_at = now
                    self.handed_over.set()
                elif frame["type"] == "handoff" and frame["ticket"] and not self.ticket_at:
                    self.ticket_at, self.ticket = now, frame["ticket"]
                    self.handed_over.set()
                    self.numbered.set()
                elif frame["type"] == "human_message":
                    self.arrivals[frame["text"]] = now
                    waiter = self.waiters.pop(frame["text"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(now)

    async def ask(self) -> None:
        self.asked_at = time.perf_counter()
        await self.ws.send(json.dumps({"type": "message", "id": "m1", "text": ASK[self.number % 2]}))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def handoffs(zd: FakeZendesk, port: int, n: int, timeout: float) -> list[Shopper]:
    shoppers = [Shopper(i) for i in range(n)]
    for start in range(0, n, 50):  # connect in waves: no SYN backlog trouble
        await asyncio.gather(*(s.open(port) for s in shoppers[start:start + 50]))
    began = time.perf_counter()
    await asyncio.gather(*(s.ask() for s in shoppers))
    await asyncio.wait_for(asyncio.gather(*(s.handed_over.wait() for s in shoppers)), 60)
    try:
        await asyncio.wait_for(asyncio.gather(*(s.numbered.wait() for s in shoppers)), timeout)
    except TimeoutError:
        pass
    done = [s for s in shoppers if s.ticket_at]
    frame_s = [s.handoff_at - s.asked_at for s in shoppers if s.handoff_at]
    ticket_s = [s.ticket_at - s.handoff_at for s in done if s.handoff_at]
    first = min(s.handoff_at for s in shoppers if s.handoff_at)
    span = max(s.ticket_at for s in done) - first if done else float("nan")
    per_conversation = Counter(t["external_id"] for t in zd.tickets.values())
    print(f"\n(a) hand-over -> ticket: {n} shoppers at once, Zendesk answering {zd.latency * 1000:.0f} ms late")
    print(f"    ask -> handoff frame (ticket null)   {summary(frame_s)}")
    print(f"    handoff frame -> ticket number      {summary(ticket_s, 's', 1.0)}")
    print(f"    throughput                           {len(done) / span:6.2f} tickets/s "
          f"({len(done)} tickets in {span:.1f} s after the first handoff frame; "
          f"{(time.perf_counter() - began):.1f} s from the first ask)")
    print(f"    Zendesk requests                     {len(zd.requests)} "
          f"({Counter(r.method for r in zd.requests)})")
    lost = n - len(done)
    doubled = sum(1 for c in per_conversation.values() if c > 1)
    print(f"    tickets                              {len(zd.tickets)} for {n} hand-overs; "
          f"{lost} without a ticket number within {timeout:.0f} s; {doubled} conversations with >1 ticket")
    return shoppers


async def webhooks(zd: FakeZendesk, servers: list[Server], shoppers: list[Shopper], total: int,
                   concurrency: int, label: str) -> list[float]:
    url = servers[-1].url
    cpu_before = [cpu_seconds(s.proc.pid) for s in servers if s.proc]
    began = time.perf_counter()
    ready = [s for s in shoppers if s.ticket]
    latencies: list[float] = []
    responses: list[float] = []
    statuses: Counter[int] = Counter()
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=10,
                                 limits=httpx.Limits(max_keepalive_connections=concurrency)) as http:
        await http.get("/healthz")  # a warm connection

        async def one(i: int) -> None:
            shopper = ready[i % len(ready)]
            text = f"{label} reply {i} to shopper {shopper.number}"
            call = zd.agent_reply(shopper.ticket or "", text)  # the agent's comment; not timed
            async with sem:
                waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
                shopper.waiters[text] = waiter
                sent = time.perf_counter()
                response = await http.post(WEBHOOK, content=call.body, headers=call.headers)
                responded = time.perf_counter()
                statuses[response.status_code] += 1
                try:
                    arrived = await asyncio.wait_for(waiter, 5)
                except TimeoutError:
                    shopper.waiters.pop(text, None)
                    return
                latencies.append(arrived - sent)
                responses.append(responded - sent)

        await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - began
    cpu = [cpu_seconds(s.proc.pid) - before for s, before in zip(servers, cpu_before) if s.proc]
    print(f"    {label:<28} webhook POST -> human_message   {summary(latencies)}")
    print(f"    {'':<28} webhook POST -> 200 answer      {summary(responses)}")
    print(f"    {'':<28} {total / elapsed:6.1f} webhooks/s; server CPU per webhook "
          + " + ".join(f"{1000 * c / total:.1f} ms" for c in cpu))
    if len(latencies) < total or set(statuses) != {200}:
        print(f"    {'':<28} !! {total - len(latencies)} not delivered live; statuses {dict(statuses)}")
    return latencies


async def run(args: argparse.Namespace, zd: FakeZendesk, servers: list[Server]) -> bool:
    zd.latency = args.latency
    shoppers = await handoffs(zd, servers[0].port, args.handoffs, args.ticket_timeout)
    zd.latency = 0.0
    where = "on a second process (Redis)" if args.cross else "on the same process"
    print(f"\n(b) webhook -> widget: {args.webhooks} agent replies, webhook {where}")
    sequential = await webhooks(zd, servers, shoppers, args.webhooks, 1, "one at a time")
    concurrent = await webhooks(zd, servers, shoppers, args.webhooks, args.concurrency,
                                f"{args.concurrency} at a time")
    await asyncio.gather(*(s.close() for s in shoppers))
    worst = max(pct(v, 95) * 1000 for v in (sequential, concurrent) if v) if sequential else float("inf")
    ok = worst < TARGET_P95_MS
    print(f"\n    target: webhook -> widget p95 < {TARGET_P95_MS:.0f} ms: "
          f"{'met' if ok else 'NOT met'} (worst p95 {worst:.1f} ms)")
    return ok


async def _admin() -> Any:
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(PG_URL)
    return await asyncpg.connect(host=base.host, port=base.port or 5432, user=base.username,
                                 password=base.password, database=base.database)


async def create_database() -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    name = f"shopdesk_bench_{secrets.token_hex(4)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


async def drop_database(name: str) -> None:
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=100)
    parser.add_argument("--webhooks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10, help="webhooks in flight, second round")
    parser.add_argument("--latency", type=float, default=0.1, help="fake Zendesk answer delay, s")
    parser.add_argument("--ticket-timeout", type=float, default=120.0)
    parser.add_argument("--postgres", action="store_true", help=f"a fresh database on {PG_URL}")
    parser.add_argument("--redis", help="SHOPDESK_REDIS_URL for the server(s)")
    parser.add_argument("--cross", action="store_true",
                        help="webhooks to a second process (needs --postgres and --redis)")
    args = parser.parse_args()
    if args.cross and not (args.postgres and args.redis):
        parser.error("--cross needs --postgres and --redis")

    workdir = Path(tempfile.mkdtemp(prefix="shopdesk-bench-handoff-"))
    handle = None
    if args.postgres:
        db_url, handle = asyncio.run(create_database())
        from shopdesk.db.migrate import upgrade

        upgrade(db_url)  # before the servers start, side by side
    else:
        db_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    servers: list[Server] = []
    try:
        with running_fake_zendesk() as zd:
            env = {k: v for k, v in os.environ.items() if k != "SHOPDESK_REDIS_URL"}
            env.update({
                "SHOPDESK_DATABASE_URL": db_url, "SHOPDESK_ZENDESK_URL": zd.url,
                "SHOPDESK_ZENDESK_EMAIL": zd.email, "SHOPDESK_ZENDESK_TOKEN": zd.token,
                "SHOPDESK_ZENDESK_WEBHOOK_SECRET": zd.webhook_secret,
            })
            if args.redis:
                env["SHOPDESK_REDIS_URL"] = args.redis
            servers = [Server(env, workdir / f"server{i}.log") for i in range(2 if args.cross else 1)]
            for server in servers:
                server.start()
            print(f"shopdesk serve x{len(servers)} ({'PostgreSQL' if args.postgres else 'SQLite'}"
                  f"{', Redis' if args.redis else ''}), fake Zendesk at {zd.url}; logs in {workdir}")
            ok = asyncio.run(run(args, zd, servers))
    finally:
        for server in servers:
            server.stop()
        if handle is not None:
            asyncio.run(drop_database(handle))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
