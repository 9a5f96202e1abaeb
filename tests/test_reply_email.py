"""A person's reply in the built-in inbox reaches a shopper who left the chat, by email.

Through the real pages and protocol, with a fake SMTP server (aiosmtpd): the reply is
emailed after the grace delay only when the shopper's widget did not show it (live, or
in the history of a new visit), to the address they gave, in their language, with a
link back to the page; the inbox says what became of it; nothing personal is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from shopdesk.app import create_app
from shopdesk.conversations import sign_identity
from shopdesk.db.engine import create_engine, session_factory
from shopdesk.handoff.desk import BuiltinInbox
from shopdesk.handoff.outbox import OutboxWorker
from shopdesk.handoff.reply_mail import ReplyEmails
from shopdesk.mail import MailConfigError, SmtpConfig, SmtpMailer
from shopdesk.settings import Settings
from starlette.testclient import TestClient

from .conftest import ScriptedAgent, hello, receive_until
from .fake_smtp import FakeSmtp, running_fake_smtp
from .test_admin_inbox import add_operator, page_token, sign_in

GRACE_S = 0.6
PAGE = "https://shop.example/products/merino-crew-neck"
REPLY = "Hej Anna, pakken er sendt igen i dag."


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with running_fake_smtp() as fake:
        yield fake


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Every log event, whatever level another test's configuration left."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with structlog.testing.capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)


def mail_settings(settings: Settings, smtp: FakeSmtp | None) -> Settings:
    settings.smtp_url = smtp.url if smtp else None
    settings.mail_from = "Havtorn kundeservice <kundeservice@havtorn.example>"
    settings.mail_grace_s = GRACE_S
    settings.outbox_poll_s = 0.1
    settings.public_url = "http://support.havtorn.example"  # https would make the cookie Secure
    settings.allowed_origins = ["https://shop.example"]
    return settings


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[TestClient]:
    """The app, signed in to the inbox; the shoppers' sockets are closed at the end (one
    left open by a failed test would hold up the shutdown)."""
    with TestClient(create_app(settings, agent=ScriptedAgent())) as c:
        c.sockets = []  # type: ignore[attr-defined]
        add_operator(c)
        sign_in(c)
        try:
            yield c
        finally:
            for ws in c.sockets:  # type: ignore[attr-defined]
                ws.__exit__(None, None, None)


@pytest.fixture
def client(settings: Settings, smtp: FakeSmtp) -> Iterator[TestClient]:
    with running(mail_settings(settings, smtp)) as c:
        yield c


def handed_over(client: TestClient, *, locale: str = "da", customer: dict[str, str] | None = None,
                first: str = "person please") -> tuple[Any, str, str]:
    """A shopper on the product page who asked for a person: (socket, token, conversation)."""
    ws = client.websocket_connect("/ws").__enter__()
    client.sockets.append(ws)  # type: ignore[attr-defined]
    ws.send_json(hello(locale=locale, page={"url": PAGE, "product": "merino-crew-neck"}, customer=customer))
    welcome = ws.receive_json()
    ws.send_json({"type": "message", "id": "m1", "text": first})
    receive_until(ws, "handoff")
    assert ws.receive_json()["ticket"].startswith("IN-")
    return ws, welcome["session"], welcome["conversation"]


def say(ws: Any, message_id: str, text: str) -> None:
    ws.send_json({"type": "message", "id": message_id, "text": text})
    assert ws.receive_json() == {"type": "ack", "id": message_id}


def leave(client: TestClient, ws: Any) -> None:
    """The shopper closes the page."""
    client.sockets.remove(ws)  # type: ignore[attr-defined]
    ws.__exit__(None, None, None)


def reply(client: TestClient, conversation_id: str, text: str = REPLY) -> None:
    response = client.post(f"/admin/inbox/{conversation_id}/reply", follow_redirects=False,
                           data={"csrf": page_token(client, conversation_id), "text": text})
    assert response.status_code == 303


def rows(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.database_url.split("///", 1)[1]) as db:
        return db.execute(query).fetchall()


def settled(settings: Settings, timeout: float = 10.0) -> list[tuple[Any, ...]]:
    """The email rows once the worker has decided each: (outcome, attempts)."""
    deadline = time.monotonic() + timeout
    while True:
        found = rows(settings, "SELECT outcome, attempts FROM outbox_email ORDER BY id")
        if found and all(outcome is not None for outcome, _ in found):
            return found
        assert time.monotonic() < deadline, f"email rows not settled: {found}"
        time.sleep(0.05)


def test_a_reply_the_shopper_did_not_see_is_emailed_to_the_address_they_wrote(client, settings, smtp, logs):
    ws, _, conversation_id = handed_over(client)
    say(ws, "m2", "Min mail er anna@example.dk, jeg skal ud nu")
    leave(client, ws)
    reply(client, conversation_id)
    page = client.get(f"/admin/inbox/{conversation_id}").text
    assert "emailed to the shopper if they do not come back" in page
    assert "anna@example.dk" in page and "given in the chat" in page
    (mail,) = smtp.wait_for(1)
    assert settled(settings) == [("sent", 0)]

    assert mail.recipients == ["anna@example.dk"]
    assert mail.message["To"] == "anna@example.dk"
    assert mail.message["From"] == "Havtorn kundeservice <kundeservice@havtorn.example>"
    assert mail.message["Subject"] == "Mette fra Havtorn har svaret dig"  # the shopper's language
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert REPLY in mail.text and PAGE in mail.text and "chatboblen" in mail.text
    assert "emailed to the shopper" in client.get(f"/admin/inbox/{conversation_id}").text
    time.sleep(3 * GRACE_S)
    assert len(smtp.received) == 1  # once
    logged = repr(logs)
    assert "outbox.reply_email" in logged
    assert "anna@example.dk" not in logged and "pakken" not in logged  # nothing personal


def test_a_reply_seen_live_in_the_widget_is_not_emailed(client, settings, smtp):
    ws, _, conversation_id = handed_over(client, locale="en")
    say(ws, "m2", "anna@example.dk")
    reply(client, conversation_id, "Hi Anna, I am on it.")
    frame = ws.receive_json()
    assert frame["type"] == "human_message" and frame["text"] == "Hi Anna, I am on it."
    assert settled(settings) == [("seen", 0)]
    leave(client, ws)
    assert smtp.attempts == 0
    assert "Seen in the chat" in client.get(f"/admin/inbox/{conversation_id}").text


def test_a_reply_shown_on_the_shoppers_return_is_not_emailed(client, settings, smtp):
    settings.mail_grace_s = 3.0
    client.app.state.services.conversations.mail_grace_s = 3.0
    ws, token, conversation_id = handed_over(client)
    say(ws, "m2", "anna@example.dk")
    leave(client, ws)
    reply(client, conversation_id)
    with client.websocket_connect("/ws") as again:  # back within the grace delay
        again.send_json(hello(session=token))
        history = again.receive_json()["history"]
        assert (history[-1]["role"], history[-1]["text"]) == ("human", REPLY)
    assert settled(settings) == [("seen", 0)]
    assert smtp.attempts == 0
    assert rows(settings, "SELECT count(*) FROM message WHERE role = 'human' AND seen_at IS NOT NULL") == [(1,)]


def test_a_logged_in_shopper_is_emailed_at_their_verified_address(client, settings, smtp):
    customer = {"email": "sofie@example.dk", "name": "Sofie",
                "signature": sign_identity("sofie@example.dk", settings.identity_secret)}
    ws, _, conversation_id = handed_over(client, locale="en", customer=customer)
    leave(client, ws)
    reply(client, conversation_id, "Hi Sofie, your refund is on its way.")
    (mail,) = smtp.wait_for(1)
    assert mail.recipients == ["sofie@example.dk"]
    assert mail.message["Subject"] == "Mette from Havtorn answered you"
    assert "your refund is on its way" in mail.text


def test_without_an_address_the_reply_waits_for_the_next_visit(client, settings, smtp):
    ws, token, conversation_id = handed_over(client)
    leave(client, ws)
    reply(client, conversation_id)
    assert settled(settings) == [("no_address", 0)]
    assert smtp.attempts == 0
    page = client.get(f"/admin/inbox/{conversation_id}").text
    assert "gave no email address; the reply waits for their next visit" in page
    with client.websocket_connect("/ws") as again:
        again.send_json(hello(session=token))
        assert again.receive_json()["history"][-1]["text"] == REPLY


def test_a_mail_server_that_says_try_later_gets_the_email_again(client, settings, smtp):
    smtp.refuse_next("451 4.3.0 Mailbox busy, try again later", n=2)
    ws, _, conversation_id = handed_over(client)
    say(ws, "m2", "anna@example.dk")
    leave(client, ws)
    reply(client, conversation_id)
    (mail,) = smtp.wait_for(1, timeout=15)
    assert REPLY in mail.text
    assert settled(settings) == [("sent", 2)]
    assert smtp.attempts == 3


def test_an_address_the_mail_server_refuses_for_good_is_not_tried_again(client, settings, smtp):
    smtp.refuse_next("550 5.1.1 No such mailbox", n=5)
    ws, _, conversation_id = handed_over(client)
    say(ws, "m2", "nobody@example.dk")
    leave(client, ws)
    reply(client, conversation_id)
    assert settled(settings) == [("refused", 1)]
    time.sleep(1.0)
    assert smtp.attempts == 1 and smtp.received == []
    assert "the email could not be delivered" in client.get(f"/admin/inbox/{conversation_id}").text


def test_without_smtp_the_inbox_says_the_shopper_is_away(settings):
    with running(mail_settings(settings, None)) as client:
        ws, _, conversation_id = handed_over(client)
        say(ws, "m2", "anna@example.dk")
        leave(client, ws)
        reply(client, conversation_id)
        page = client.get(f"/admin/inbox/{conversation_id}").text
    assert "the shopper is away; email is not set up (SHOPDESK_SMTP_URL)" in page
    assert "waits for their next visit" in page
    assert rows(settings, "SELECT count(*) FROM outbox_email") == [(0,)]


def test_a_zendesk_reply_queues_no_email(client, settings, smtp):
    """Zendesk emails its requester itself: only inbox replies are emailed from here."""
    ws, _, conversation_id = handed_over(client)
    say(ws, "m2", "anna@example.dk")
    leave(client, ws)
    conversations = client.app.state.services.conversations
    assert client.portal.call(conversations.add_human_message, conversation_id, "Mette", "From elsewhere")
    time.sleep(2 * GRACE_S)
    assert rows(settings, "SELECT count(*) FROM outbox_email") == [(0,)]
    assert smtp.attempts == 0


async def test_two_workers_on_one_database_send_an_email_once(tmp_path: Path, smtp: FakeSmtp):
    """Server processes share the database: each due email is claimed by one of them."""
    url = f"sqlite+aiosqlite:///{tmp_path}/shop.db"
    settings = mail_settings(Settings(database_url=url, identity_secret="x"), smtp)
    app = create_app(settings, agent=ScriptedAgent())
    engines = [create_engine(url) for _ in range(2)]  # as two processes: an engine each
    async with app.router.lifespan_context(app):
        conversations = app.state.services.conversations
        app.state.outbox.emails = None  # the app's own worker stays out of it
        session = await conversations.open(None, "en", PAGE, None, None)
        stored = await conversations.store_shopper_message(session, "m1", "anna@example.dk")
        async for _ in conversations.answer(session, stored):
            pass
        for n in range(5):
            assert await conversations.add_human_message(session.conversation_id, "Mette", f"Reply {n}",
                                                         email_if_unseen=True)
        await asyncio.sleep(GRACE_S + 0.1)
        workers = []
        for engine in engines:
            sessions = session_factory(engine)
            emails = ReplyEmails(sessions, SmtpMailer.from_url(smtp.url), settings.templates_dir,
                                 sender=settings.mail_from)
            workers.append(OutboxWorker(sessions, BuiltinInbox(), conversations, emails=emails))
        await asyncio.gather(*(w.deliver_due() for w in workers), *(w.deliver_due() for w in workers))
    for engine in engines:
        await engine.dispose()
    sent = sorted(re.search(r"Reply \d", m.text).group(0) for m in smtp.received)  # type: ignore[union-attr]
    assert sent == [f"Reply {n}" for n in range(5)]
    assert [r.recipients for r in smtp.received] == [["anna@example.dk"]] * 5


def test_the_smtp_url_says_how_to_connect():
    plain = SmtpConfig.from_url("smtp://shop%40example.dk:p%40ss@mail.example.dk")
    assert (plain.host, plain.port, plain.username, plain.password) == \
        ("mail.example.dk", 587, "shop@example.dk", "p@ss")
    assert plain.start_tls is True and plain.use_tls is False  # a password never goes in clear
    tls = SmtpConfig.from_url("smtps://u:p@mail.example.dk")
    assert (tls.port, tls.use_tls, tls.start_tls) == (465, True, False)
    relay = SmtpConfig.from_url("smtp://127.0.0.1:25?starttls=off&timeout=5")
    assert (relay.port, relay.start_tls, relay.username, relay.timeout) == (25, False, None, 5.0)
    assert SmtpConfig.from_url("smtp://relay.example.dk").start_tls is None  # when offered
    for bad in ("http://mail.example.dk", "smtp://", "smtp://h?starttls=maybe"):
        with pytest.raises(MailConfigError):
            SmtpConfig.from_url(bad)


def test_a_bad_smtp_url_stops_the_start_with_one_line(settings):
    settings.smtp_url = "mail.example.dk:587"
    with pytest.raises(SystemExit, match="SHOPDESK_SMTP_URL must look like"):
        create_app(settings, agent=ScriptedAgent())
