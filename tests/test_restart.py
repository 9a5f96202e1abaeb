"""A server killed mid-conversation (SIGKILL) and restarted on the same SQLite database
loses no acked message, and answers the acked messages whose answers never went out."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from shopdesk.settings import DEMO_STORE
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from .conftest import free_port, hello
from .server_process import ServerProcess

# Questions the offline agent answers from the store's policies, whatever came before.
QUESTIONS = [
    "What is your return policy?",
    "How long does shipping to Denmark take?",
    "Which payment methods do you accept?",
]
BURST = 40
HOLD = "(held)"

# Loaded at start-up by a server process that has this folder on PYTHONPATH: the offline
# agent then never finishes a turn whose text contains HOLD, as if the model behind it
# were still thinking when the process dies. The restarted server runs without it.
HELD_AGENT = f'''
import asyncio
from shopdesk.agent.offline import agent

_respond = agent.OfflineAgent.respond

async def respond(self, turn):
    if {HOLD!r} in turn.text:
        await asyncio.sleep(3600)
    async for event in _respond(self, turn):
        yield event

agent.OfflineAgent.respond = respond
agent.OfflineAgent.answers_at_once = property(lambda self: False)  # its turns wait, as on a network
'''


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


def server_on(db_path: Path, **env: str) -> ServerProcess:
    # The bursts below go over the default 10 messages in 10 s.
    return ServerProcess(DEMO_STORE, free_port(), f"sqlite+aiosqlite:///{db_path}",
                         env={"SHOPDESK_RATE_LIMIT_MESSAGES": "1000", **env})


@pytest.fixture
def server(db_path: Path) -> Iterator[ServerProcess]:
    proc = server_on(db_path).start()
    yield proc
    proc.stop()


@contextmanager
def open_chat(server: ServerProcess, session: str | None = None) -> Iterator[tuple[ClientConnection, dict]]:
    with connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10) as ws:
        ws.send(json.dumps(hello(session=session)))
        welcome = json.loads(ws.recv(timeout=10))
        assert welcome["type"] == "welcome"
        yield ws, welcome


def send(ws: ClientConnection, message_id: str, text: str) -> None:
    ws.send(json.dumps({"type": "message", "id": message_id, "text": text}))


def frames(ws: ClientConnection, timeout: float = 15.0) -> Iterator[dict]:
    while True:
        frame = json.loads(ws.recv(timeout=timeout))
        assert frame["type"] not in ("error", "handoff"), frame
        yield frame


def until_reply_end(ws: ClientConnection) -> dict:
    return next(f for f in frames(ws) if f["type"] == "reply_end")


def assert_quiet(ws: ClientConnection) -> None:
    """Nothing more comes: no turn is answered twice or replayed."""
    with pytest.raises(TimeoutError):
        ws.recv(timeout=1)


def unanswered_in_db(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT client_id FROM message WHERE role = 'shopper' AND NOT answered")
        return [r[0] for r in rows]


def test_acked_message_whose_answer_never_came_is_answered_after_restart(
    tmp_path: Path, db_path: Path
) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HELD_AGENT)
    pythonpath = os.pathsep.join(p for p in [str(hook), os.environ.get("PYTHONPATH", "")] if p)
    server = server_on(db_path, PYTHONPATH=pythonpath).start()
    try:
        with open_chat(server) as (ws, welcome):
            token = welcome["session"]
            send(ws, "m1", "Do you ship to Sweden?")
            assert until_reply_end(ws)["text"]
            send(ws, "m2", f"What is your return policy? {HOLD}")
            send(ws, "m3", "Which payment methods do you accept?")  # queued behind m2
            assert [next(frames(ws)) for _ in range(2)] == [{"type": "ack", "id": "m2"},
                                                             {"type": "ack", "id": "m3"}]
            assert_quiet(ws)  # m2 is being answered, and m3 waits for it
            assert unanswered_in_db(db_path) == ["m2", "m3"]
            server.kill()

        server = server_on(db_path).start()  # the same database, a plain offline agent
        with open_chat(server, token) as (ws, welcome):
            assert welcome["status"] == "bot"
            assert [h["id"] for h in welcome["history"] if h["role"] == "shopper"] == ["m1", "m2", "m3"]
            assert [h["role"] for h in welcome["history"]].count("agent") == 1
            # Both stored messages are answered on resume, in order, without being sent again.
            first, second = until_reply_end(ws), until_reply_end(ws)
            assert "30 days" in first["text"]  # the return policy, answered after all
            assert "MobilePay" in second["text"]
            assert_quiet(ws)
    finally:
        server.stop()
    assert unanswered_in_db(db_path) == []


def test_sigkill_mid_burst_loses_no_acked_message(server: ServerProcess, db_path: Path) -> None:
    sent = [f"b{i}" for i in range(BURST)]
    acked: list[str] = []
    with open_chat(server) as (ws, welcome):
        token = welcome["session"]
        send(ws, "m0", "Do you ship to Sweden?")
        until_reply_end(ws)

        # A burst of messages; the server is killed once half of them are acked.
        for i, message_id in enumerate(sent):
            send(ws, message_id, QUESTIONS[i % len(QUESTIONS)])
        for frame in frames(ws):
            if frame["type"] == "ack":
                acked.append(frame["id"])
            if len(acked) >= BURST // 2:
                server.kill()
                break
        with pytest.raises(ConnectionClosed):  # what was on its way before the kill, then the end
            for frame in frames(ws, timeout=10):
                if frame["type"] == "ack":
                    acked.append(frame["id"])
    assert acked == sent[: len(acked)]  # acks come in the order the messages went out

    server.start()  # the same port and database
    with open_chat(server, token) as (ws, welcome):
        assert welcome["session"] == token and welcome["status"] == "bot"
        history = welcome["history"]
        stored = [h["id"] for h in history if h["role"] == "shopper"]
        assert {"m0", *acked} <= set(stored), "an acked message was lost"
        assert len(stored) == len(set(stored))
        waiting = len(stored) - [h["role"] for h in history].count("agent")

        # As a client does after a reconnect: resend what was never acked, under the same ids.
        not_acked = sent[len(acked):]
        for i, message_id in enumerate(not_acked, start=len(acked)):
            send(ws, message_id, QUESTIONS[i % len(QUESTIONS)])
        expected_answers = waiting + sum(1 for m in not_acked if m not in stored)
        acks, answers = [], 0
        while answers < expected_answers or len(acks) < len(not_acked):
            frame = next(frames(ws))
            if frame["type"] == "ack":
                acks.append(frame["id"])
            elif frame["type"] == "reply_end":
                answers += 1
        assert acks == not_acked
        assert_quiet(ws)

    # Every message is stored once and answered once.
    assert unanswered_in_db(db_path) == []
    with open_chat(server, token) as (ws, welcome):
        roles = [h["role"] for h in welcome["history"]]
        shopper_ids = [h["id"] for h in welcome["history"] if h["role"] == "shopper"]
    assert sorted(shopper_ids) == sorted(["m0", *sent])
    assert roles.count("agent") == roles.count("shopper") == BURST + 1


def test_sigkill_after_the_answers_answers_nothing_twice(server: ServerProcess, db_path: Path) -> None:
    with open_chat(server) as (ws, welcome):
        token = welcome["session"]
        for i, question in enumerate(QUESTIONS):
            send(ws, f"q{i}", question)
            until_reply_end(ws)
    server.kill()
    server.start()

    with open_chat(server, token) as (ws, welcome):
        assert_quiet(ws)
    history = welcome["history"]
    assert [h["role"] for h in history] == ["shopper", "agent"] * len(QUESTIONS)
    assert [h["id"] for h in history if h["role"] == "shopper"] == ["q0", "q1", "q2"]
    assert unanswered_in_db(db_path) == []
