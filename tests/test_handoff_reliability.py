"""Hand-over reliability against real server processes and the fake Zendesk.

- An outage: 50 shoppers hand over while Zendesk answers 503, the server is killed
  (SIGKILL) in the middle of it and started again on the same database; once Zendesk is
  back there is exactly one ticket per hand-over, none lost, and the shoppers (back on
  their resumed sessions) get the ticket number. Then a 429 with Retry-After.
- Messages a shopper sends after the hand-over land in the same ticket as public
  comments from the requester (and the webhook for those comments is not echoed back).
- Webhook to widget across processes: two ``shopdesk serve`` processes on one PostgreSQL
  database; the socket is on A, the webhook lands on B, the reply reaches A live through
  Redis; without Redis it does not arrive live but is in the history on the next visit.
- Exactly once where it is easy to get twice: a message written while the ticket is
  still pending (the create body must not change under its Idempotency-Key), and two
  processes whose outbox workers share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from shopdesk.db.migrate import upgrade
from shopdesk.handoff.webhook import sign
from shopdesk.settings import DEMO_STORE
from sqlalchemy.engine import make_url

from .conftest import REDIS_URL, free_port, fresh_postgres_database, hello
from .fake_zendesk import FakeZendesk, running_fake_zendesk
from .server_process import ServerProcess

SHOPPERS = 50
ASK_FOR_A_PERSON = ("Can I talk to a person?", "Kan jeg tale med et menneske?")
HANDOFF_AT_ONCE_S = 5.0    # the handoff frame (ticket null) after the message, 50 at a time
RECOVERY_BOUND_S = 25.0    # Zendesk back -> every ticket made and every shopper told
WEBHOOK = "/integrations/zendesk/webhook"


# ---------------------------------------------------------------- server processes

class LoggedServer(ServerProcess):
    """A demo-store server whose log file the test names (read when a test fails)."""

    def __init__(self, port: int, db_url: str, log: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(DEMO_STORE, port, db_url, env, log=log)


def zendesk_env(zd: FakeZendesk, **extra: str) -> dict[str, str]:
    env = {"SHOPDESK_ZENDESK_URL": zd.url, "SHOPDESK_ZENDESK_EMAIL": zd.email,
           "SHOPDESK_ZENDESK_TOKEN": zd.token, "SHOPDESK_ZENDESK_WEBHOOK_SECRET": zd.webhook_secret,
           "SHOPDESK_RATE_LIMIT_MESSAGES": "1000",
           # A row's retries back off up to 60 s by default: after a long outage the last
           # tickets could come a minute after Zendesk is back. Bounded here, by settings.
           "SHOPDESK_OUTBOX_MAX_BACKOFF_S": "5", "SHOPDESK_OUTBOX_POLL_S": "1",
           "SHOPDESK_OUTBOX_LEASE_S": "5"}
    return env | extra


def without_redis() -> dict[str, str]:
    """The test's own environment may carry a SHOPDESK_REDIS_URL: not for these servers."""
    return {k: v for k, v in os.environ.items() if k != "SHOPDESK_REDIS_URL"}


def server_on(db_url: str, zd: FakeZendesk, log: Path, **extra: str) -> LoggedServer:
    server = LoggedServer(free_port(), db_url, log)
    server.env = {**without_redis(), "SHOPDESK_DATABASE_URL": db_url, **zendesk_env(zd, **extra)}
    return server


@pytest.fixture
def fake_zendesk() -> Iterator[FakeZendesk]:
    with running_fake_zendesk() as zd:
        yield zd


@pytest.fixture
def servers() -> Iterator[list[LoggedServer]]:
    """Every server a test starts, stopped at the end whatever happened."""
    started: list[LoggedServer] = []
    yield started
    for server in started:
        server.stop()


async def start(servers: list[LoggedServer], *new: LoggedServer) -> None:
    """Start servers side by side (each takes seconds to import and migrate)."""
    for server in new:
        if server not in servers:
            servers.append(server)
    await asyncio.gather(*(asyncio.to_thread(s.start) for s in new))


# ---------------------------------------------------------------- shoppers

class Shopper:
    """A widget's socket, with every frame it receives kept in order."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.ws: Any = None
        self.token: str | None = None
        self.conversation: str | None = None
        self.welcome: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None
        self._arrived = asyncio.Condition()

    async def connect(self, port: int) -> dict[str, Any]:
        await self.close()
        self.frames = []
        self.ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=15,
                                           max_queue=None)
        await self.ws.send(json.dumps(hello(session=self.token)))
        welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 15))
        assert welcome["type"] == "welcome", welcome
        self.welcome, self.token = welcome, welcome["session"]
        self.conversation = self.conversation or welcome["conversation"]
        assert welcome["conversation"] == self.conversation
        self._reader = asyncio.create_task(self._read())
        return welcome

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                async with self._arrived:
                    self.frames.append(json.loads(raw))
                    self._arrived.notify_all()
        except websockets.ConnectionClosed:
            pass

    async def say(self, message_id: str, text: str) -> None:
        await self.ws.send(json.dumps({"type": "message", "id": message_id, "text": text}))

    async def frame(self, match: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The first frame received so far or within ``timeout`` that ``match``es."""
        async def first() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    found = next((f for f in self.frames if match(f)), None)
                    if found is not None:
                        return found
                    await self._arrived.wait()
        return await asyncio.wait_for(first(), timeout)

    def received(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None


def is_handoff(ticket: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["type"] == "handoff" and (f["ticket"] is not None) == ticket


async def escalate(shopper: Shopper, port: int, text: str) -> float:
    """Open a chat, ask for a person; seconds until the handoff frame."""
    await shopper.connect(port)
    started = time.monotonic()
    await shopper.say("m1", text)
    first = await shopper.frame(lambda f: f["type"] in ("handoff", "reply_end", "error"), 15)
    assert first["type"] == "handoff", first
    assert first["ticket"] is None and first["reason"] == "customer_request"
    return time.monotonic() - started


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def sqlite_rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


def tickets_by_conversation(zd: FakeZendesk) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for ticket in list(zd.tickets.values()):
        found.setdefault(ticket["external_id"], []).append(ticket)
    return found


# ---------------------------------------------------------------- the outage

async def test_an_outage_with_a_restart_gives_exactly_one_ticket_per_handoff(
    tmp_path: Path, fake_zendesk: FakeZendesk, servers: list[LoggedServer]
) -> None:
    zd = fake_zendesk
    db = tmp_path / "shop.db"
    server = server_on(f"sqlite+aiosqlite:///{db}", zd, tmp_path / "server.log")
    zd.down = True  # 503 Service Unavailable to everything
    await start(servers, server)
    shoppers = [Shopper(i) for i in range(SHOPPERS)]
    try:
        # 50 shoppers ask for a person at once: each is told at once, without a ticket.
        waits = await asyncio.gather(*(escalate(s, server.port, ASK_FOR_A_PERSON[s.number % 2])
                                       for s in shoppers))
        assert max(waits) < HANDOFF_AT_ONCE_S, f"slowest handoff frame after {max(waits):.2f} s"
        conversations = {s.conversation for s in shoppers}
        assert len(conversations) == SHOPPERS

        # The worker really tries, and Zendesk really refuses (the client retries a few
        # times in-process before the outbox row is put off).
        await wait_until(lambda: sqlite_rows(db, "SELECT count(*) FROM handoff WHERE attempts > 0")[0][0] > 0,
                         20, "a failed delivery recorded during the outage")
        assert zd.tickets == {}
        assert all(s.received("handoff")[-1]["ticket"] is None for s in shoppers)

        # SIGKILL in the middle of the outage: nothing is delivered, everything is stored.
        server.kill()
        pending = sqlite_rows(db, "SELECT conversation_id, attempts, last_error FROM handoff "
                                  "WHERE delivered_at IS NULL")
        assert {row[0] for row in pending} == conversations and len(pending) == SHOPPERS
        assert any(row[1] > 0 and "503" in (row[2] or "") for row in pending)
        await asyncio.gather(*(s.close() for s in shoppers))

        # The same database, still during the outage. The shoppers come back on their
        # sessions and write again: those messages are for the ticket, too.
        await start(servers, server)
        welcomes = await asyncio.gather(*(s.connect(server.port) for s in shoppers))
        assert all(w["status"] == "handoff" for w in welcomes)
        for s in shoppers:
            await s.say("m2", f"Follow-up {s.number}: my order is {1000 + s.number}")
        await asyncio.gather(*(s.frame(lambda f: f == {"type": "ack", "id": "m2"}, 10)
                               for s in shoppers))
        await asyncio.sleep(1.0)  # the restarted worker meets the outage as well
        assert zd.tickets == {}

        # Zendesk is back: within a bounded time, every shopper gets the ticket number.
        zd.down = False
        recovered = time.monotonic()
        numbered = await asyncio.wait_for(asyncio.gather(
            *(s.frame(is_handoff(True), RECOVERY_BOUND_S) for s in shoppers)), RECOVERY_BOUND_S + 1)
        recovery_s = time.monotonic() - recovered
        print(f"\nrecovery: {SHOPPERS} tickets and handoff frames {recovery_s:.2f} s after Zendesk came back")

        # Every follow-up is in its ticket too; then nothing more happens.
        def all_follow_ups() -> bool:
            return all(any(c["body"].startswith("Follow-up") for c in zd.comments[t])
                       for t in list(zd.tickets))
        await wait_until(all_follow_ups, 10, "every follow-up message in its ticket")
        await asyncio.sleep(1.5)

        # Exactly one ticket per hand-over: none missing, none doubled.
        by_conversation = tickets_by_conversation(zd)
        assert len(zd.tickets) == SHOPPERS
        assert set(by_conversation) == conversations
        assert {c: len(t) for c, t in by_conversation.items() if len(t) != 1} == {}
        keys = {r.headers.get("idempotency-key") for r in zd.requests_for("POST", "/api/v2/tickets")}
        assert len(keys) == SHOPPERS and None not in keys

        for s in shoppers:
            (ticket,) = by_conversation[s.conversation]
            # The shopper is told the number of their own ticket, once.
            assert numbered[s.number]["ticket"] == str(ticket["id"])
            assert len(s.received("handoff")) == 1, s.received("handoff")  # on this connection
            comments = zd.comments[ticket["id"]]
            notes = [c for c in comments if not c["public"]]
            assert len(notes) == 1, f"ticket {ticket['id']}: {len(notes)} internal notes"
            assert "Transcript" in notes[0]["body"] and ASK_FOR_A_PERSON[s.number % 2] in notes[0]["body"]
            # The message written while the ticket was pending reached it, from the
            # requester (exactly once: test_a_message_written_while_the_ticket_is_pending...).
            follow_up = f"Follow-up {s.number}: my order is {1000 + s.number}"
            assert (follow_up, ticket["requester_id"], True) in [
                (c["body"], c["author_id"], c["public"]) for c in comments[1:]]

        delivered = dict(sqlite_rows(db, "SELECT conversation_id, ticket FROM handoff "
                                         "WHERE delivered_at IS NOT NULL"))
        assert delivered == {c: str(t[0]["id"]) for c, t in by_conversation.items()}
        assert sqlite_rows(db, "SELECT count(*) FROM outbox_comment WHERE delivered_at IS NULL") == [(0,)]

        # Then a rate limit: 429 with Retry-After. The client waits as told; still one each.
        late = [Shopper(SHOPPERS + i) for i in range(5)]
        creates_before = len(zd.requests_for("POST", "/api/v2/tickets"))
        zd.rate_limit_next(2, retry_after="1")
        limited = time.monotonic()
        await asyncio.gather(*(escalate(s, server.port, ASK_FOR_A_PERSON[0]) for s in late))
        await asyncio.gather(*(s.frame(is_handoff(True), 20) for s in late))
        waited = time.monotonic() - limited
        # Deliveries run a few at a time, so the two refused calls may wait side by side.
        assert waited >= 1.0, "the client did not wait for Retry-After"
        by_conversation = tickets_by_conversation(zd)
        assert len(zd.tickets) == SHOPPERS + len(late)
        assert all(len(by_conversation[s.conversation]) == 1 for s in late)
        assert len(zd.requests_for("POST", "/api/v2/tickets")) - creates_before >= len(late) + 1
        for s in late:
            (ticket,) = by_conversation[s.conversation]
            assert s.received("handoff")[-1]["ticket"] == str(ticket["id"])
        print(f"429 phase: {len(late)} tickets in {waited:.2f} s with Retry-After: 1 twice")
        await asyncio.gather(*(s.close() for s in shoppers + late))
    except BaseException:
        print(server.tail(40))
        raise


# ---------------------------------------------------------------- after the hand-over

async def test_messages_after_the_handoff_are_requester_comments_on_the_same_ticket(
    tmp_path: Path, fake_zendesk: FakeZendesk, servers: list[LoggedServer]
) -> None:
    zd = fake_zendesk
    server = server_on(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", zd, tmp_path / "server.log")
    await start(servers, server)
    shopper = Shopper(1)
    await escalate(shopper, server.port, "Can I talk to a person? I am anna@example.dk")
    numbered = await shopper.frame(is_handoff(True), 10)
    (ticket,) = tickets_by_conversation(zd)[shopper.conversation]
    assert numbered["ticket"] == str(ticket["id"])
    requester = ticket["requester_id"]
    assert requester not in (None, 1900000000099)  # the shopper, not the API user
    assert zd.users.get("anna@example.dk") == requester

    later = ["The parcel from order 1003 never came.", "I am home all day, if that helps.",
             "Tak! 🙏 <b>not markup</b>"]
    for i, text in enumerate(later, start=2):
        await shopper.say(f"m{i}", text)
        await shopper.frame(lambda f, i=i: f == {"type": "ack", "id": f"m{i}"}, 10)

    def requester_comments() -> list[dict[str, Any]]:
        return [c for c in zd.comments[ticket["id"]][1:] if c["public"]]
    await wait_until(lambda: len(requester_comments()) >= len(later), 15, "the comments in the ticket")
    await asyncio.sleep(1.0)  # and no more
    assert len(zd.tickets) == 1
    assert [(c["body"], c["author_id"], c["public"]) for c in requester_comments()] == [
        (text, requester, True) for text in later]
    # Zendesk's trigger would not fire for these (not agent comments); should a webhook for
    # one arrive anyway, it is not echoed back to the shopper as a person's reply.
    call = zd.agent_reply(ticket["id"], later[0], author_id=requester, author_name="Anna")
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(server.url + WEBHOOK, content=call.body, headers=call.headers)
    assert response.status_code == 200 and response.json() == {"status": "ignored"}
    await asyncio.sleep(0.5)
    assert shopper.received("human_message") == []
    await shopper.close()


async def test_a_message_written_while_the_ticket_is_pending_is_in_the_ticket_once(
    tmp_path: Path, fake_zendesk: FakeZendesk, servers: list[LoggedServer]
) -> None:
    """The ticket is the hand-over: its description is the message that asked for a person,
    its body the same on every attempt (one Idempotency-Key, one body); what the shopper
    writes after the hand-over follows as comments, each once."""
    zd = fake_zendesk
    db = tmp_path / "shop.db"
    server = server_on(f"sqlite+aiosqlite:///{db}", zd, tmp_path / "server.log")
    await start(servers, server)
    zd.down = True
    shopper = Shopper(1)
    asked = "Can I talk to a person? The parcel from order 1003 never came."
    await escalate(shopper, server.port, asked)
    await wait_until(lambda: sqlite_rows(db, "SELECT attempts FROM handoff")[0][0] > 0, 20,
                     "a failed delivery during the outage")
    later = "My email is anna@example.dk"
    await shopper.say("m2", later)
    await shopper.frame(lambda f: f == {"type": "ack", "id": "m2"}, 10)
    zd.down = False
    numbered = await shopper.frame(is_handoff(True), RECOVERY_BOUND_S)
    ticket = zd.tickets[int(numbered["ticket"])]
    await wait_until(lambda: sqlite_rows(db, "SELECT count(*) FROM outbox_comment WHERE delivered_at IS NULL")
                     == [(0,)], 10, "the comment delivered")
    bodies = {json.dumps(r.json, sort_keys=True) for r in zd.requests_for("POST", "/api/v2/tickets")}
    assert len(bodies) == 1, "the create call changed its body between attempts of one Idempotency-Key"
    public = [c["body"] for c in zd.comments[ticket["id"]] if c["public"]]
    assert ticket["description"] == asked
    assert public == [asked, later]
    await shopper.close()


# ---------------------------------------------------------------- across processes



@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A database of its own, at the schema's head (so two servers can start side by side)."""
    async with fresh_postgres_database() as url:
        await asyncio.to_thread(upgrade, url)
        yield url


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


async def _handed_over_on(a: LoggedServer, zd: FakeZendesk) -> tuple[Shopper, dict[str, Any]]:
    shopper = Shopper(1)
    await escalate(shopper, a.port, "Kan jeg tale med et menneske? anna@example.dk")
    await wait_until(lambda: shopper.conversation in tickets_by_conversation(zd), 15,
                     "the ticket in Zendesk")
    await asyncio.sleep(0.5)  # both workers had their go at it
    tickets = tickets_by_conversation(zd)[shopper.conversation]
    assert len(tickets) == 1, tickets
    return shopper, tickets[0]


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_webhook_on_one_process_reaches_the_socket_on_another_through_redis(
    tmp_path: Path, fake_zendesk: FakeZendesk, servers: list[LoggedServer], postgres_url: str
) -> None:
    if not redis_available():
        pytest.fail(f"Redis not reachable at {REDIS_URL}")
    zd = fake_zendesk
    a = server_on(postgres_url, zd, tmp_path / "a.log", SHOPDESK_REDIS_URL=REDIS_URL)
    b = server_on(postgres_url, zd, tmp_path / "b.log", SHOPDESK_REDIS_URL=REDIS_URL)
    await start(servers, a, b)
    shopper, ticket = await _handed_over_on(a, zd)
    # Whichever process's worker made the ticket, the number reaches the socket on A.
    numbered = await shopper.frame(is_handoff(True), 10)
    assert numbered["ticket"] == str(ticket["id"])

    replies = ["Hej Anna, jeg hedder Mette og kigger på din pakke.", "Den er fundet: den kommer i morgen."]
    for text in replies:
        received = time.monotonic()
        (response,) = await zd.agent_replies_async(ticket["id"], text, b.url + WEBHOOK)
        assert response.status_code == 200 and response.json() == {"status": "delivered"}
        frame = await shopper.frame(lambda f, text=text: f["type"] == "human_message" and f["text"] == text, 5)
        assert frame["author"] == "Mette Support"
        print(f"\nwebhook on B -> human_message on A: {1000 * (time.monotonic() - received):.1f} ms")
    assert [f["text"] for f in shopper.received("human_message")] == replies

    # Stored too: the next visit (on B this time) shows the replies.
    await shopper.close()
    welcome = await shopper.connect(b.port)
    assert welcome["status"] == "handoff"
    assert [(h["role"], h["text"]) for h in welcome["history"][-2:]] == [("human", t) for t in replies]

    # The last reply solves the ticket (webhook on A, socket now on B): the reply arrives
    # live and the conversation is closed for the next visit.
    call = zd.agent_reply(ticket["id"], "Tak for i dag!")
    raw = json.dumps(json.loads(call.body) | {"status": "solved"}).encode()
    timestamp = call.headers["x-zendesk-webhook-signature-timestamp"]
    headers = call.headers | {"x-zendesk-webhook-invocation-id": "solved-1",
                              "x-zendesk-webhook-signature": sign(zd.webhook_secret, timestamp, raw)}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(a.url + WEBHOOK, content=raw, headers=headers)
    assert response.json() == {"status": "delivered"}
    await shopper.frame(lambda f: f["type"] == "human_message" and f["text"] == "Tak for i dag!", 5)
    await shopper.close()
    welcome = await shopper.connect(a.port)
    assert welcome["status"] == "closed"
    await shopper.close()


async def pg_scalar(url: str, query: str) -> Any:
    parsed = make_url(url)
    conn = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                 password=parsed.password, database=parsed.database, timeout=5)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_processes_deliver_each_handoff_and_each_message_once(
    tmp_path: Path, fake_zendesk: FakeZendesk, servers: list[LoggedServer], postgres_url: str
) -> None:
    """Every process runs the outbox worker on the shared database: a row must be
    delivered by one of them, not by both (one ticket, one note, one comment each)."""
    zd = fake_zendesk
    a = server_on(postgres_url, zd, tmp_path / "a.log", SHOPDESK_REDIS_URL=REDIS_URL)
    b = server_on(postgres_url, zd, tmp_path / "b.log", SHOPDESK_REDIS_URL=REDIS_URL)
    await start(servers, a, b)
    zd.latency = 0.2  # a Zendesk call takes a while, as a real one does
    shoppers = [Shopper(i) for i in range(10)]
    await asyncio.gather(*(escalate(s, (a, b)[s.number % 2].port, ASK_FOR_A_PERSON[0]) for s in shoppers))
    await asyncio.gather(*(s.frame(is_handoff(True), 30) for s in shoppers))
    for n in range(3):
        for s in shoppers:
            await s.say(f"x{n}", f"Message {n} from shopper {s.number}")
        await asyncio.sleep(0.5)
    started = time.monotonic()
    while await pg_scalar(postgres_url, "SELECT count(*) FROM outbox_comment WHERE delivered_at IS NULL"):
        assert time.monotonic() - started < 30, "comments not delivered"
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)

    by_conversation = tickets_by_conversation(zd)
    assert {s.conversation: len(by_conversation[s.conversation]) for s in shoppers} == {
        s.conversation: 1 for s in shoppers}
    doubled: dict[str, int] = {}
    for s in shoppers:
        (ticket,) = by_conversation[s.conversation]
        bodies = Counter(c["body"] for c in zd.comments[ticket["id"]] if c["public"])
        doubled.update({body: n for body, n in bodies.items() if n > 1})
        assert sum(1 for c in zd.comments[ticket["id"]] if not c["public"]) == 1
    assert doubled == {}, f"{len(doubled)} of 30 shopper messages reached Zendesk more than once"
    assert [len(s.received("handoff")) for s in shoppers] == [2] * len(shoppers), \
        "a shopper was told the ticket number more than once (both workers delivered it)"
    await asyncio.gather(*(s.close() for s in shoppers))


@pytest.mark.postgres
async def test_without_redis_a_reply_on_another_process_is_not_live_but_in_the_history(
    tmp_path: Path, fake_zendesk: FakeZendesk, servers: list[LoggedServer], postgres_url: str
) -> None:
    zd = fake_zendesk
    a = server_on(postgres_url, zd, tmp_path / "a.log")
    b = server_on(postgres_url, zd, tmp_path / "b.log")
    await start(servers, a, b)
    shopper, ticket = await _handed_over_on(a, zd)

    text = "Hej Anna, jeg kigger på det nu."
    (response,) = await zd.agent_replies_async(ticket["id"], text, b.url + WEBHOOK)
    assert response.status_code == 200 and response.json() == {"status": "delivered"}
    with pytest.raises(TimeoutError):  # the in-process hub of B knows no socket on A
        await shopper.frame(lambda f: f["type"] == "human_message", 2)

    await shopper.close()
    welcome = await shopper.connect(a.port)
    assert welcome["history"][-1]["role"] == "human" and welcome["history"][-1]["text"] == text
    await shopper.close()

