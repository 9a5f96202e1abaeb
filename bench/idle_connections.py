"""What an idle chat costs: server memory per open, welcomed, silent connection.

Starts a real ``shopdesk serve`` (demo store, a fresh SQLite database), warms it up with a
few chats, reads its resident memory (VmRSS), then opens ``--connections`` chats from
``--clients`` client processes (each chat: connect, hello, welcome, then silence) and
reads VmRSS again once every chat is open. Target: at most 50 KB per idle chat.

    python bench/idle_connections.py [--connections 5000] [--clients 2] [--no-deflate]

Clients offer permessage-deflate as browsers do (the server then keeps a zlib
compressor and decompressor per connection); ``--no-deflate`` shows the cost without.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from serving import event_loop_runner, free_port, raise_fd_limit, stop, wait_healthy

TARGET_KB = 50
HELLO = {"type": "hello", "v": 1, "session": None, "locale": "en", "page": None, "customer": None}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


# ---------------------------------------------------------------- client process

async def hold(url: str, count: int, deflate: bool, in_flight: int) -> None:
    """Open ``count`` chats, report, then keep them open until stdin closes."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    gate = asyncio.Semaphore(in_flight)
    chats: list[Any] = []
    failed = 0

    async def open_one() -> None:
        nonlocal failed
        async with gate:
            try:
                ws = await connect(url, open_timeout=60, ping_interval=None, max_queue=4,
                                   compression="deflate" if deflate else None)
                await ws.send(json.dumps(HELLO))
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if welcome.get("type") != "welcome":
                    raise RuntimeError(welcome)
                chats.append(ws)
            except (OSError, TimeoutError, WebSocketException, RuntimeError) as err:  # counted
                failed += 1
                if failed <= 3:
                    print(f"connect failed: {err!r}", file=sys.stderr, flush=True)

    await asyncio.gather(*(open_one() for _ in range(count)))
    print(json.dumps({"opened": len(chats), "failed": failed}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the bench closes our stdin when done
    for ws in chats:
        ws.transport.abort()  # no closing handshakes: a crowd of tabs going away


def run_client(url: str, count: int, deflate: bool) -> None:
    raise_fd_limit()
    with event_loop_runner() as runner:
        runner.run(hold(url, count, deflate, in_flight=100))


# ---------------------------------------------------------------- the bench

def settled_rss(pid: int, seconds: float = 3.0) -> int:
    """VmRSS once it stops moving (the server finishes the last hellos' work)."""
    last, deadline = rss_kb(pid), time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(seconds)
        now = rss_kb(pid)
        if abs(now - last) < 256:
            return now
        last = now
    return last


def clients(url: str, total: int, processes: int, deflate: bool) -> list[subprocess.Popen[str]]:
    share = [total // processes + (1 if i < total % processes else 0) for i in range(processes)]
    flags = [] if deflate else ["--no-deflate"]
    return [subprocess.Popen([sys.executable, __file__, "--role", "client", "--url", url,
                              "--connections", str(n), *flags],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for n in share if n]


def open_chats(url: str, total: int, processes: int, deflate: bool) -> tuple[list[subprocess.Popen[str]], int, int]:
    procs = clients(url, total, processes, deflate)
    opened = failed = 0
    for proc in procs:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise SystemExit(f"a client process exited early ({proc.wait()})")
        report = json.loads(line)
        opened, failed = opened + report["opened"], failed + report["failed"]
    return procs, opened, failed


def close_chats(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.stdin:
            proc.stdin.close()
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=2, help="client processes to spread the chats over")
    parser.add_argument("--no-deflate", dest="deflate", action="store_false",
                        help="clients do not offer permessage-deflate")
    parser.add_argument("--role", choices=["bench", "client"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "client":
        run_client(args.url, args.connections, args.deflate)
        return

    limit = raise_fd_limit()  # the server and the clients inherit it
    if limit < args.connections + 1000:
        raise SystemExit(f"open-file limit {limit} is too low for {args.connections} chats")
    workdir = Path(tempfile.mkdtemp(prefix="shopdesk-idle-"))
    port = free_port()
    env = {**os.environ, "SHOPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/shopdesk.db"}
    env.pop("SHOPDESK_STORE", None)  # the demo store
    url = f"ws://127.0.0.1:{port}/ws"
    with (workdir / "server.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "shopdesk", "serve", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        wait_healthy(server, f"http://127.0.0.1:{port}")
        # Warm-up: the first chats load what is imported or compiled lazily.
        warm, _, _ = open_chats(url, 50, 1, args.deflate)
        close_chats(warm)
        before = settled_rss(server.pid)
        started = time.monotonic()
        procs, opened, failed = open_chats(url, args.connections, args.clients, args.deflate)
        took = time.monotonic() - started
        after = settled_rss(server.pid)
        alive = server.poll() is None
        close_chats(procs)
    finally:
        stop(server)
        shutil.rmtree(workdir, ignore_errors=True)

    per_chat = (after - before) / opened if opened else float("nan")
    verdict = "ok" if per_chat <= TARGET_KB else "OVER TARGET"
    print(f"idle_connections: {opened} idle chats open ({failed} failed) in {took:.1f} s, "
          f"{args.clients} client processes, permessage-deflate {'on' if args.deflate else 'off'}")
    print(f"server RSS before  {before / 1024:8.1f} MB")
    print(f"server RSS after   {after / 1024:8.1f} MB{'' if alive else '  (server died)'}")
    print(f"per idle chat      {per_chat:8.1f} KB   (target <= {TARGET_KB} KB: {verdict})")


if __name__ == "__main__":
    main()
