"""The /ws endpoint through a real WebSocket client (Starlette's TestClient)."""

from __future__ import annotations

import json
import time

import pytest
from shopdesk.app import create_app
from shopdesk.conversations import sign_identity
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from .conftest import ScriptedAgent, hello, receive_until


@pytest.fixture(params=[False, True], ids=["turns-on-a-task", "turns-on-the-socket"])
def agent(request):
    """Every case both ways: an agent that waits on the network gets its turns on a task of
    their own; one that answers at once (the offline agent) on the socket's task."""
    agent = ScriptedAgent()
    agent.answers_at_once = request.param
    return agent


@pytest.fixture
def client(settings, agent):
    with TestClient(create_app(settings, agent=agent)) as c:
        yield c


def connect(client, **headers):
    return client.websocket_connect("/ws", headers=dict(headers))


def test_a_turn_acks_first_then_streams_and_ends(client):
    with connect(client) as ws:
        ws.send_json(hello())
        welcome = ws.receive_json()
        assert welcome["type"] == "welcome" and welcome["status"] == "bot" and welcome["history"] == []
        ws.send_json({"type": "message", "id": "m1", "text": "hello there"})
        frames = receive_until(ws, "reply_end")
        types = [f["type"] for f in frames]
        assert types[0] == "ack" and frames[0]["id"] == "m1"
        assert types[1] == "reply_start" and types[-1] == "reply_end"
        deltas = "".join(f["text"] for f in frames if f["type"] == "reply_delta")
        assert deltas == frames[-1]["text"] == "You said: hello there"
        assert frames[-1]["quick_replies"] == ["Again"]


def test_resume_restores_history_and_state(client, agent):
    with connect(client) as ws:
        ws.send_json(hello())
        token = ws.receive_json()["session"]
        ws.send_json({"type": "message", "id": "m1", "text": "first"})
        receive_until(ws, "reply_end")
    with connect(client) as ws:
        ws.send_json(hello(session=token))
        welcome = ws.receive_json()
        assert welcome["session"] == token
        assert [(h["role"], h["text"]) for h in welcome["history"]] == [
            ("shopper", "first"), ("agent", "You said: first")]
        assert welcome["history"][0]["id"] == "m1" and welcome["history"][0]["at"].endswith("Z")
        ws.send_json({"type": "message", "id": "m2", "text": "second"})
        receive_until(ws, "reply_end")
    assert agent.turns[-1].state == {"count": 2}  # the first turn's state came back
    assert [h.text for h in agent.turns[-1].history] == ["first", "You said: first"]


def test_unknown_session_token_starts_a_new_conversation(client):
    with connect(client) as ws:
        ws.send_json(hello(session="made-up"))
        welcome = ws.receive_json()
        assert welcome["session"] != "made-up" and welcome["history"] == []


def test_duplicate_message_id_is_stored_and_answered_once(client, agent):
    with connect(client) as ws:
        ws.send_json(hello())
        token = ws.receive_json()["session"]
        ws.send_json({"type": "message", "id": "dup", "text": "once"})
        receive_until(ws, "reply_end")
        ws.send_json({"type": "message", "id": "dup", "text": "once"})
        assert ws.receive_json() == {"type": "ack", "id": "dup"}
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # no second answer came before the pong
    with connect(client) as ws:
        ws.send_json(hello(session=token))
        history = ws.receive_json()["history"]
    assert [h["role"] for h in history] == ["shopper", "agent"]
    assert len(agent.turns) == 1


def test_handoff_ends_the_turn_and_later_messages_are_only_stored(client, agent):
    with connect(client) as ws:
        ws.send_json(hello())
        token = ws.receive_json()["session"]
        ws.send_json({"type": "message", "id": "m1", "text": "person please"})
        frames = receive_until(ws, "handoff")
        assert frames[-1] == {"type": "handoff", "reason": "customer_request", "ticket": None,
                              "text": "A colleague takes over."}
        assert ws.receive_json()["ticket"]  # the ticket number follows once the desk has it
        ws.send_json({"type": "message", "id": "m2", "text": "are you there?"})
        assert ws.receive_json() == {"type": "ack", "id": "m2"}
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
    with connect(client) as ws:
        ws.send_json(hello(session=token))
        welcome = ws.receive_json()
    assert welcome["status"] == "handoff"
    assert [h["role"] for h in welcome["history"]] == ["shopper", "agent", "shopper"]
    assert len(agent.turns) == 1


def test_bad_frames_get_errors_and_the_chat_goes_on(client):
    with connect(client) as ws:
        ws.send_json({"type": "message", "id": "m0", "text": "before hello"})
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_json(hello())
        assert ws.receive_json()["type"] == "welcome"
        ws.send_text("{nope")
        assert ws.receive_json() == {"type": "error", "code": "bad_frame", "message": "frame is not valid JSON"}
        ws.send_bytes(b"\x00")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_json({"type": "launch"})
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_json({"type": "message", "id": "big", "text": "x" * 2001})
        assert ws.receive_json()["code"] == "too_large"
        ws.send_json({"type": "message", "id": "ok", "text": "still here"})
        assert receive_until(ws, "reply_end")[-1]["text"] == "You said: still here"


def test_a_socket_that_never_says_hello_is_closed_and_one_that_does_is_not(client, monkeypatch):
    monkeypatch.setattr("shopdesk.transport.HELLO_TIMEOUT_S", 0.3)
    with connect(client) as ws:
        ws.send_json({"type": "ping"})  # not a hello: the wait for it goes on
        assert ws.receive_json() == {"type": "pong"}
        assert ws.receive_json() == {"type": "error", "code": "bad_frame", "message": "expected hello"}
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008
    with connect(client) as ws:
        ws.send_json(hello())
        assert ws.receive_json()["type"] == "welcome"
        time.sleep(0.5)  # past the hello's deadline: a chat that said hello may stay quiet
        ws.send_json({"type": "message", "id": "m1", "text": "later"})
        assert receive_until(ws, "reply_end")[-1]["text"] == "You said: later"


def test_oversized_frame_is_refused_and_closed_with_1009(client):
    with connect(client) as ws:
        ws.send_json(hello())
        ws.receive_json()
        ws.send_text(json.dumps({"type": "message", "id": "m", "text": "x" * 20000}))
        assert ws.receive_json()["code"] == "too_large"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1009


def test_oversized_message_is_not_stored(client):
    with connect(client) as ws:
        ws.send_json(hello())
        token = ws.receive_json()["session"]
        ws.send_json({"type": "message", "id": "big", "text": "x" * 2500})
        assert ws.receive_json()["code"] == "too_large"
    with connect(client) as ws:
        ws.send_json(hello(session=token))
        assert ws.receive_json()["history"] == []


def test_message_flood_is_rate_limited_and_nothing_is_lost_that_was_acked(client, agent):
    acked, limited = [], 0
    with connect(client) as ws:
        ws.send_json(hello())
        token = ws.receive_json()["session"]
        for i in range(15):
            ws.send_json({"type": "message", "id": f"f{i}", "text": f"flood {i}"})
        ends = 0
        while ends < len(acked) or len(acked) + limited < 15:
            frame = ws.receive_json()
            if frame["type"] == "ack":
                acked.append(frame["id"])
            elif frame["type"] == "error":
                assert frame["code"] == "rate_limited"
                limited += 1
            elif frame["type"] == "reply_end":
                ends += 1
    assert len(acked) == 10 and limited == 5
    with connect(client) as ws:
        ws.send_json(hello(session=token))
        history = ws.receive_json()["history"]
    assert [h["id"] for h in history if h["role"] == "shopper"] == acked


def test_foreign_origin_is_refused_before_the_upgrade(client):
    with pytest.raises(WebSocketDenialResponse) as info, connect(client, origin="https://evil.example"):
        pass
    assert info.value.status_code == 403 and info.value.json()["code"] == "not_allowed"
    with connect(client, origin="http://testserver") as ws:  # the server's own origin
        ws.send_json(hello())
        assert ws.receive_json()["type"] == "welcome"


def test_configured_origins_are_allowed(settings, agent):
    settings.allowed_origins = ["https://shop.example"]
    with TestClient(create_app(settings, agent=agent)) as c, \
            c.websocket_connect("/ws", headers={"origin": "https://shop.example"}) as ws:
        ws.send_json(hello())
        assert ws.receive_json()["type"] == "welcome"


def test_signed_customer_is_verified_and_bad_signature_is_anonymous(client, agent, settings):
    email = "anna@example.dk"
    with connect(client) as ws:
        ws.send_json(hello(customer={"email": email, "name": "Anna",
                                     "signature": sign_identity(email, settings.identity_secret)}))
        assert ws.receive_json()["type"] == "welcome"
        ws.send_json({"type": "message", "id": "m1", "text": "hi"})
        receive_until(ws, "reply_end")
    assert agent.turns[-1].customer.email == email
    with connect(client) as ws:
        ws.send_json(hello(customer={"email": email, "name": "Anna", "signature": "00" * 32}))
        assert ws.receive_json()["type"] == "welcome"
        assert ws.receive_json()["code"] == "bad_signature"
        ws.send_json({"type": "message", "id": "m1", "text": "hi"})
        receive_until(ws, "reply_end")
    assert agent.turns[-1].customer is None


def test_rating_is_stored(client, settings):
    import sqlite3
    with connect(client) as ws:
        ws.send_json(hello())
        ws.receive_json()
        ws.send_json({"type": "rating", "score": 5, "comment": "quick!"})
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
    db = settings.database_url.split("///", 1)[1]
    assert sqlite3.connect(db).execute("select score, comment from rating").fetchall() == [(5, "quick!")]


def test_an_agent_failure_gets_an_internal_error_and_a_handoff(client):
    with connect(client) as ws:
        ws.send_json(hello())
        ws.receive_json()
        ws.send_json({"type": "message", "id": "m1", "text": "boom"})
        frames = receive_until(ws, "handoff")
        assert frames[0]["type"] == "ack"
        assert any(f["type"] == "error" and f["code"] == "internal" for f in frames)
        assert frames[-1]["reason"] == "low_confidence"


def test_healthz_reports_ready(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["agent"] == "scripted"
