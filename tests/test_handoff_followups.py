"""After the ticket is made: the internal note, and an email the shopper writes later.

Against the fake Zendesk over HTTP (the real client, the real outbox), in-process:

- The note (transcript and summary) is the call after the create. If it fails, the
  ticket stays as it is and the next try adds the note alone; if Zendesk stored it but
  the answer was lost, the next try finds it and does not add it again.
- An anonymous shopper's ticket has a placeholder requester. An email address written
  after the hand-over becomes the requester (the end user made or found, then the
  ticket's ``requester_id``), in order with the comments, through outages: the comment
  that carried it and every later one are the new requester's.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from shopdesk.app import create_app
from shopdesk.conversations import sign_identity
from shopdesk.handoff.zendesk import NOTE_HEADING, PLACEHOLDER_DOMAIN
from shopdesk.settings import Settings
from starlette.testclient import TestClient

from .conftest import ScriptedAgent, hello, receive_until
from .fake_zendesk import FakeZendesk, RecordedRequest, running_fake_zendesk

WEBHOOK = "/integrations/zendesk/webhook"


@pytest.fixture
def zd() -> Iterator[FakeZendesk]:
    with running_fake_zendesk() as fake:
        yield fake


@pytest.fixture
def client(settings: Settings, zd: FakeZendesk) -> Iterator[TestClient]:
    settings.zendesk_url, settings.zendesk_email, settings.zendesk_token = zd.url, zd.email, zd.token
    settings.zendesk_webhook_secret = zd.webhook_secret
    settings.outbox_poll_s, settings.outbox_max_backoff_s = 0.1, 0.5
    with TestClient(create_app(settings, agent=ScriptedAgent())) as c:
        c.sockets = []  # type: ignore[attr-defined]
        try:
            yield c
        finally:  # a socket left open (a failed test) would hold up the client's shutdown
            for ws in c.sockets:  # type: ignore[attr-defined]
                ws.__exit__(None, None, None)
            

def handed_over(client: TestClient, zd: FakeZendesk, customer: dict[str, str] | None = None,
                first: str = "person please, the parcel never came") -> tuple[Any, str, dict[str, Any]]:
    """A shopper who asked for a person and was told the ticket number; the ticket."""
    ws = client.websocket_connect("/ws").__enter__()
    client.sockets.append(ws)  # type: ignore[attr-defined]
    ws.send_json(hello(customer=customer))
    conversation = ws.receive_json()["conversation"]
    ws.send_json({"type": "message", "id": "m1", "text": first})
    assert receive_until(ws, "handoff")[-1]["ticket"] is None  # at once, in the same turn
    numbered = ws.receive_json()
    assert numbered["type"] == "handoff" and numbered["ticket"].isdigit()
    return ws, conversation, zd.tickets[int(numbered["ticket"])]


def say(ws: Any, message_id: str, text: str) -> None:
    ws.send_json({"type": "message", "id": message_id, "text": text})
    assert ws.receive_json() == {"type": "ack", "id": message_id}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def db_rows(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.database_url.split("///", 1)[1]) as db:
        return db.execute(query).fetchall()


def is_note(request: RecordedRequest) -> bool:
    comment = ((request.json or {}).get("ticket") or {}).get("comment") if request.body else None
    return request.method == "PUT" and isinstance(comment, dict) and comment.get("public") is False


def notes(zd: FakeZendesk, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in zd.comments[ticket["id"]] if not c["public"]]


def public_after_first(zd: FakeZendesk, ticket: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["body"], c["author_id"]) for c in zd.comments[ticket["id"]][1:] if c["public"]]


# ---------------------------------------------------------------- the internal note

def test_a_note_that_failed_is_added_alone_on_the_next_try(client, settings, zd):
    zd.fail_next(1, 503, match=is_note)
    ws, _, ticket = handed_over(client, zd)  # the shopper is told the number all the same
    say(ws, "m2", "Are you there?")  # written while the note waits for its next try
    wait_until(lambda: len(public_after_first(zd, ticket)) == 1, "the shopper's message in the ticket")
    time.sleep(0.5)
    assert len(zd.requests_for("POST", "/api/v2/tickets")) == 1 and len(zd.tickets) == 1
    (note,) = notes(zd, ticket)
    assert note["body"].startswith(NOTE_HEADING) and "person please, the parcel never came" in note["body"]
    assert len([r for r in zd.requests if is_note(r)]) == 2  # the refused one, then the one that landed
    bodies = [c["body"] for c in zd.comments[ticket["id"]]]
    assert bodies.index(note["body"]) < bodies.index("Are you there?")  # the story first
    ((delivered, noted),) = db_rows(settings, "SELECT delivered_at, note_added_at FROM handoff")
    assert delivered is not None and noted is not None


def test_a_note_whose_answer_was_lost_is_not_added_twice(client, settings, zd):
    zd.fail_next(1, 504, "Gateway Timeout", match=is_note, applied=True)  # stored, answer lost
    _, _, ticket = handed_over(client, zd)
    wait_until(lambda: db_rows(settings, "SELECT note_added_at FROM handoff")[0][0] is not None,
               "the note recorded as added")
    time.sleep(0.5)
    assert len(notes(zd, ticket)) == 1
    assert len([r for r in zd.requests if is_note(r)]) == 1
    assert zd.requests_for("GET", f"/api/v2/tickets/{ticket['id']}/comments")  # it looked


# ---------------------------------------------------------------- an email written later

def test_an_email_written_after_the_handoff_becomes_the_requester(client, settings, zd):
    ws, _, ticket = handed_over(client, zd)
    placeholder = ticket["requester_id"]
    assert zd.user_records[placeholder]["email"].endswith("@" + PLACEHOLDER_DOMAIN)
    say(ws, "m2", "You can write to me at Anna.Jensen@example.dk")
    say(ws, "m3", "I am home all day.")
    wait_until(lambda: len(public_after_first(zd, ticket)) == 2, "both messages in the ticket")

    anna = zd.users["anna.jensen@example.dk"]
    assert ticket["requester_id"] == anna != placeholder
    assert zd.user_records[anna]["role"] == "end-user" and zd.user_records[anna]["name"] == "Anna.Jensen"
    assert public_after_first(zd, ticket) == [
        ("You can write to me at Anna.Jensen@example.dk", anna), ("I am home all day.", anna)]
    calls = [(r.method, r.path, r.json) for r in zd.requests if r.method != "GET"][-4:]
    assert [c[:2] for c in calls] == [
        ("POST", "/api/v2/users.json"), ("PUT", f"/api/v2/tickets/{ticket['id']}.json"),
        ("PUT", f"/api/v2/tickets/{ticket['id']}.json"), ("PUT", f"/api/v2/tickets/{ticket['id']}.json")]
    assert calls[1][2] == {"ticket": {"requester_id": anna}}  # the requester before the comments
    assert db_rows(settings, "SELECT contact_email FROM conversation") == [("Anna.Jensen@example.dk",)]

    # Anna's own comment on the ticket (the relayed chat message) is not echoed to the chat.
    (response,) = zd.agent_replies(ticket["id"], "I am home all day.", WEBHOOK, client=client,
                                   author_id=anna, author_name="Anna")
    assert response.json() == {"status": "ignored"}
    (response,) = zd.agent_replies(ticket["id"], "Thank you Anna, it is on its way.", WEBHOOK, client=client)
    assert response.json() == {"status": "delivered"}
    assert ws.receive_json()["text"] == "Thank you Anna, it is on its way."


def test_the_new_requester_waits_out_an_outage_and_keeps_the_order(client, settings, zd):
    ws, _, ticket = handed_over(client, zd)
    users = "/api/v2/users/search"
    zd.fail_next(5, 503, match=lambda r: r.path.startswith(users))  # longer than one try's retries
    say(ws, "m2", "anna@example.dk")
    say(ws, "m3", "Second message")
    wait_until(lambda: len(public_after_first(zd, ticket)) == 2, "both messages in the ticket", 20)
    anna = zd.users["anna@example.dk"]
    assert ticket["requester_id"] == anna
    assert public_after_first(zd, ticket) == [("anna@example.dk", anna), ("Second message", anna)]
    assert len(zd.requests_for("GET", users)) == 6  # five refused, one found no such user
    assert len(zd.requests_for("POST", "/api/v2/users")) == 1  # made once
    assert db_rows(settings, "SELECT attempts > 0, delivered_at IS NOT NULL FROM outbox_comment "
                             "ORDER BY id") == [(1, 1), (0, 1)]


def test_a_logged_in_shoppers_requester_stays_when_they_write_another_address(client, settings, zd):
    customer = {"email": "sofie@example.dk", "name": "Sofie",
                "signature": sign_identity("sofie@example.dk", settings.identity_secret)}
    ws, _, ticket = handed_over(client, zd, customer=customer)
    sofie = zd.users["sofie@example.dk"]
    assert ticket["requester_id"] == sofie
    say(ws, "m2", "or write to my work address sofie@work.example")
    wait_until(lambda: len(public_after_first(zd, ticket)) == 1, "the message in the ticket")
    assert ticket["requester_id"] == sofie and "sofie@work.example" not in zd.users
    assert zd.requests_for("POST", "/api/v2/users") == []
    assert public_after_first(zd, ticket) == [("or write to my work address sofie@work.example", sofie)]


def test_an_address_given_before_the_handoff_is_the_requester_from_the_start(client, settings, zd):
    ws, _, ticket = handed_over(client, zd, first="person please, I am anna@example.dk")
    anna = zd.users["anna@example.dk"]
    assert ticket["requester_id"] == anna
    say(ws, "m2", "my husband's is jens@example.dk")
    wait_until(lambda: len(public_after_first(zd, ticket)) == 1, "the message in the ticket")
    assert ticket["requester_id"] == anna and zd.requests_for("POST", "/api/v2/users") == []


def test_zendesk_refusing_the_new_requester_does_not_hold_up_the_messages(client, settings, zd):
    ws, _, ticket = handed_over(client, zd)
    placeholder = ticket["requester_id"]
    forbidden = '{"error":"Forbidden","description":"You do not have access to this page."}'
    zd.fail_next(1, 403, forbidden, content_type="application/json",
                 match=lambda r: r.path.startswith("/api/v2/users"))
    say(ws, "m2", "anna@example.dk")
    say(ws, "m3", "Hello?")
    wait_until(lambda: len(public_after_first(zd, ticket)) == 2, "both messages in the ticket")
    assert ticket["requester_id"] == placeholder
    assert public_after_first(zd, ticket) == [("anna@example.dk", placeholder), ("Hello?", placeholder)]
    users = [r for r in zd.requests if r.path.startswith("/api/v2/users")]
    assert len(users) == 1  # the look-up refused for good: not again, and nobody made
    assert db_rows(settings, "SELECT contact_email FROM conversation") == [("anna@example.dk",)]


def test_an_address_zendesk_knows_keeps_its_owners_name_and_role(client, settings, zd):
    """A shopper may type anybody's address, an agent's even: that user is found, not renamed."""
    agent = zd._user("mette@havtorn.example", "Mette Support", role="agent")["id"]
    ws, _, ticket = handed_over(client, zd)
    say(ws, "m2", "mette@havtorn.example")
    wait_until(lambda: len(public_after_first(zd, ticket)) == 1, "the message in the ticket")
    assert zd.user_records[agent]["name"] == "Mette Support" and zd.user_records[agent]["role"] == "agent"
    assert zd.requests_for("POST", "/api/v2/users") == []  # found, so nobody was made or changed
