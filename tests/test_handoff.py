"""Hand-over journey through the real protocol: ticket number, human replies, webhook rules."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from shopdesk.app import create_app
from shopdesk.handoff.desk import BuiltinInbox
from shopdesk.handoff.webhook import sign
from starlette.testclient import TestClient

from .conftest import ScriptedAgent, hello, receive_until

SECRET = "webhook-test-secret"


@pytest.fixture
def client(settings):
    settings.zendesk_webhook_secret = SECRET
    with TestClient(create_app(settings, agent=ScriptedAgent())) as c:
        yield c


def handed_over(client):
    """Open a chat, ask for a person, and wait for the ticket number."""
    ws = client.websocket_connect("/ws").__enter__()
    ws.send_json(hello())
    token = ws.receive_json()["session"]
    ws.send_json({"type": "message", "id": "m1", "text": "person please"})
    first = receive_until(ws, "handoff")[-1]
    assert first["ticket"] is None  # shown at once, before the desk has a ticket
    second = ws.receive_json()
    assert second["type"] == "handoff" and second["ticket"].startswith("IN-")
    return ws, token, second["ticket"]


def post_webhook(client, body, *, secret=SECRET, at=None, invocation="inv-1", raw=None):
    timestamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = raw if raw is not None else json.dumps(body).encode()
    return client.post("/integrations/zendesk/webhook", content=data, headers={
        "content-type": "application/json",
        "x-zendesk-webhook-signature-timestamp": timestamp,
        "x-zendesk-webhook-signature": sign(secret, timestamp, data),
        "x-zendesk-webhook-invocation-id": invocation,
    })


def human_messages(settings):
    db = settings.database_url.split("///", 1)[1]
    return sqlite3.connect(db).execute("select author, text from message where role='human'").fetchall()


def test_a_human_reply_reaches_the_open_widget_and_stays_in_history(client, settings):
    ws, token, ticket = handed_over(client)
    body = {"event": "agent_public_comment", "ticket_id": ticket, "comment": "Hej! Vi kigger på det nu.",
            "author_name": "Mette", "author_id": "42"}
    assert post_webhook(client, body).json() == {"status": "delivered"}
    frame = ws.receive_json()
    assert frame["type"] == "human_message" and frame["author"] == "Mette"
    assert frame["text"] == "Hej! Vi kigger på det nu."
    ws.__exit__(None, None, None)
    with client.websocket_connect("/ws") as again:
        again.send_json(hello(session=token))
        welcome = again.receive_json()
    assert welcome["status"] == "handoff"
    assert welcome["history"][-1]["role"] == "human"
    assert welcome["history"][-1]["text"] == "Hej! Vi kigger på det nu."


def test_messages_after_the_handoff_go_to_the_ticket_not_the_agent(client, settings):
    ws, _, _ = handed_over(client)
    ws.send_json({"type": "message", "id": "m2", "text": "my email is anna@example.dk"})
    assert ws.receive_json() == {"type": "ack", "id": "m2"}
    ws.__exit__(None, None, None)
    db = settings.database_url.split("///", 1)[1]
    rows = sqlite3.connect(db).execute("select text from outbox_comment").fetchall()
    assert rows == [("my email is anna@example.dk",)]


@pytest.mark.parametrize("case", ["bad_signature", "stale", "malformed", "unsigned"])
def test_bad_webhooks_are_refused_and_nothing_is_stored(client, settings, case):
    ws, _, ticket = handed_over(client)
    body = {"ticket_id": ticket, "comment": "forged", "author_name": "Mallory"}
    if case == "bad_signature":
        response = post_webhook(client, body, secret="wrong")
        assert response.status_code == 401
    elif case == "stale":
        response = post_webhook(client, body, at=datetime.now(UTC) - timedelta(hours=1))
        assert response.status_code == 401 and response.json()["error"] == "stale timestamp"
    elif case == "malformed":
        response = post_webhook(client, None, raw=b'{"ticket_id": "1", "comment": ')
        assert response.status_code == 400
    else:
        response = client.post("/integrations/zendesk/webhook", json=body)
        assert response.status_code == 401
    ws.__exit__(None, None, None)
    assert human_messages(settings) == []


def test_a_replayed_delivery_is_refused(client, settings):
    ws, _, ticket = handed_over(client)
    body = {"ticket_id": ticket, "comment": "once", "author_name": "Mette", "author_id": "42"}
    assert post_webhook(client, body, invocation="same").status_code == 200
    assert post_webhook(client, body, invocation="same").status_code == 409
    ws.__exit__(None, None, None)
    assert human_messages(settings) == [("Mette", "once")]


def test_a_solved_ticket_closes_the_conversation(client):
    ws, token, ticket = handed_over(client)
    assert post_webhook(client, {"ticket_id": ticket, "status": "solved"}).json() == {"status": "closed"}
    ws.__exit__(None, None, None)
    with client.websocket_connect("/ws") as again:
        again.send_json(hello(session=token))
        assert again.receive_json()["status"] == "closed"


def test_webhook_is_off_without_a_secret(settings):
    with TestClient(create_app(settings, agent=ScriptedAgent())) as c:
        assert c.post("/integrations/zendesk/webhook", json={}).status_code == 404


def test_writing_again_after_a_close_gets_the_agent_back(client):
    ws, token, ticket = handed_over(client)
    post_webhook(client, {"ticket_id": ticket, "status": "closed"})
    ws.__exit__(None, None, None)
    with client.websocket_connect("/ws") as again:
        again.send_json(hello(session=token))
        assert again.receive_json()["status"] == "closed"
        again.send_json({"type": "message", "id": "m9", "text": "one more question"})
        assert receive_until(again, "reply_end")[-1]["text"] == "You said: one more question"


def test_a_webhook_the_database_fails_is_taken_when_zendesk_sends_it_again(settings):
    """Nothing of a failed delivery is kept, its invocation id neither: Zendesk's retry of
    the same invocation gets the reply to the shopper instead of a 409."""
    settings.zendesk_webhook_secret = SECRET
    with TestClient(create_app(settings, agent=ScriptedAgent()), raise_server_exceptions=False) as client:
        ws, _, ticket = handed_over(client)
        db = settings.database_url.split("///", 1)[1]
        with sqlite3.connect(db) as con:
            con.execute("CREATE TRIGGER refuse BEFORE INSERT ON message WHEN NEW.role = 'human' "
                        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        body = {"ticket_id": ticket, "comment": "Vi sender en ny pakke i dag.", "author_name": "Mette",
                "author_id": "42", "status": "solved"}
        assert post_webhook(client, body, invocation="inv-7").status_code == 500
        with sqlite3.connect(db) as con:
            assert con.execute("select count(*) from webhook_delivery").fetchone() == (0,)
            assert con.execute("select status from conversation").fetchone() == ("handoff",)
            con.execute("DROP TRIGGER refuse")
        assert post_webhook(client, body, invocation="inv-7").json() == {"status": "delivered"}
        frame = ws.receive_json()
        assert (frame["type"], frame["text"]) == ("human_message", "Vi sender en ny pakke i dag.")
        assert post_webhook(client, body, invocation="inv-7").status_code == 409
        ws.__exit__(None, None, None)
    assert human_messages(settings) == [("Mette", "Vi sender en ny pakke i dag.")]
    with sqlite3.connect(db) as con:
        assert con.execute("select status from conversation").fetchone() == ("closed",)


class SlowDesk(BuiltinInbox):
    """The built-in inbox behind a desk that takes a moment to make a ticket."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.opened: list[str] = []

    async def open_ticket(self, case):
        self.started.set()
        await asyncio.sleep(0.5)
        ticket = await super().open_ticket(case)
        self.opened.append(ticket.id)
        return ticket


def test_a_ticket_being_made_when_the_server_stops_is_made_and_recorded(settings):
    app = create_app(settings, agent=ScriptedAgent())
    desk = app.state.outbox.desk = SlowDesk()
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_json(hello())
        ws.receive_json()
        ws.send_json({"type": "message", "id": "m1", "text": "person please"})
        receive_until(ws, "handoff")
        assert desk.started.wait(5)
    # the server stopped while the desk was at work: the delivery was let finish
    db = sqlite3.connect(settings.database_url.split("///", 1)[1])
    rows = db.execute("select ticket, delivered_at from handoff").fetchall()
    assert len(desk.opened) == 1 and rows == [(desk.opened[0], rows[0][1])] and rows[0][1] is not None
