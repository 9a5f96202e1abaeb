"""The built-in inbox through its real pages: sign-in, roles, CSRF, reply, close, live events."""

from __future__ import annotations

import io
import re
import sqlite3

import pytest
from shopdesk import cli
from shopdesk.admin import create_user
from shopdesk.admin.passwords import hash_password, verify_password
from shopdesk.app import create_app
from starlette.testclient import TestClient, WebSocketDenialResponse

from .conftest import ScriptedAgent, hello, receive_until

PASSWORD = "korrekt-hest-batteri"


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, agent=ScriptedAgent())) as c:
        yield c


def add_operator(client, email="mette@havtorn.dk", role="agent", name="Mette"):
    sessions = client.app.state.services.sessions
    client.portal.call(create_user, sessions, email, PASSWORD, name, role)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client, email="mette@havtorn.dk", password=PASSWORD):
    token = csrf_of(client.get("/admin/login").text)
    return client.post("/admin/login", data={"csrf": token, "email": email, "password": password,
                                             "next": "/admin/inbox"}, follow_redirects=False)


def handed_over(client, text="person please"):
    """A shopper's open chat, handed over to a person and holding its ticket number."""
    ws = client.websocket_connect("/ws").__enter__()
    ws.send_json(hello())
    welcome = ws.receive_json()
    ws.send_json({"type": "message", "id": "m1", "text": text})
    receive_until(ws, "handoff")
    assert ws.receive_json()["ticket"].startswith("IN-")
    return ws, welcome["session"], welcome["conversation"]


def db(settings):
    return sqlite3.connect(settings.database_url.split("///", 1)[1])


def page_token(client, conversation_id):
    return csrf_of(client.get(f"/admin/inbox/{conversation_id}").text)


def test_every_inbox_page_needs_a_signed_in_operator(client):
    for path in ("/admin/inbox", "/admin/inbox?tab=closed", "/admin/inbox/abc", "/admin/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/")
    assert client.get("/admin/inbox", follow_redirects=False).headers["location"] == \
        "/admin/login?next=/admin/inbox"
    assert client.post("/admin/inbox/abc/reply", data={"text": "hi"},
                       follow_redirects=False).headers["location"].startswith("/admin/login")
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/admin/live"):
        pass
    assert denied.value.status_code == 403
    login = client.get("/admin/login")
    assert login.status_code == 200 and 'type="password"' in login.text


def test_a_wrong_password_or_unknown_email_is_refused(client):
    add_operator(client)
    for email, password in [("mette@havtorn.dk", "wrong-password"), ("nobody@havtorn.dk", PASSWORD)]:
        response = sign_in(client, email, password)
        assert response.status_code == 400
        assert "Wrong email or password" in response.text
        assert client.get("/admin/inbox", follow_redirects=False).status_code == 303


def test_signing_in_and_out(client):
    add_operator(client)
    response = sign_in(client, "  Mette@Havtorn.dk ")  # as typed, in any case
    assert response.status_code == 303 and response.headers["location"] == "/admin/inbox"
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "path=/admin" in cookie.lower()
    inbox = client.get("/admin/inbox")
    assert inbox.status_code == 200 and "Mette" in inbox.text
    assert inbox.headers["x-frame-options"] == "DENY"
    client.post("/admin/logout", data={"csrf": csrf_of(inbox.text)})
    assert client.get("/admin/inbox", follow_redirects=False).status_code == 303


def test_after_signing_in_only_inbox_paths_are_followed(client):
    add_operator(client)
    token = csrf_of(client.get("/admin/login").text)
    response = client.post("/admin/login", follow_redirects=False, data={
        "csrf": token, "email": "mette@havtorn.dk", "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["location"] == "/admin/inbox"


def test_forms_without_their_csrf_token_are_refused(client, settings):
    add_operator(client)
    no_token = client.post("/admin/login", data={"email": "mette@havtorn.dk", "password": PASSWORD})
    assert no_token.status_code == 403
    assert client.get("/admin/inbox", follow_redirects=False).status_code == 303

    assert sign_in(client).status_code == 303
    ws, _, conversation_id = handed_over(client)
    for data in ({"text": "no token"}, {"text": "bad token", "csrf": "forged"}):
        assert client.post(f"/admin/inbox/{conversation_id}/reply", data=data).status_code == 403
    assert client.post(f"/admin/inbox/{conversation_id}/close", data={}).status_code == 403
    ws.__exit__(None, None, None)
    with db(settings) as con:
        assert con.execute("select count(*) from message where role='human'").fetchone() == (0,)
        assert con.execute("select status from conversation").fetchone() == ("handoff",)


def test_a_viewer_reads_but_cannot_reply_or_close(client, settings):
    add_operator(client, "viewer@havtorn.dk", role="viewer", name="Vera")
    sign_in(client, "viewer@havtorn.dk")
    ws, _, conversation_id = handed_over(client)
    page = client.get(f"/admin/inbox/{conversation_id}")
    assert page.status_code == 200 and "person please" in page.text
    assert "<textarea" not in page.text and "Close conversation" not in page.text
    token = csrf_of(page.text)  # the sign-out form's
    reply = client.post(f"/admin/inbox/{conversation_id}/reply", data={"csrf": token, "text": "hi"})
    close = client.post(f"/admin/inbox/{conversation_id}/close", data={"csrf": token})
    assert reply.status_code == close.status_code == 403
    ws.__exit__(None, None, None)
    with db(settings) as con:
        assert con.execute("select count(*) from message where role='human'").fetchone() == (0,)
        assert con.execute("select status from conversation").fetchone() == ("handoff",)


def test_an_agents_reply_reaches_the_open_widget_and_is_stored(client, settings):
    add_operator(client)
    sign_in(client)
    ws, token, conversation_id = handed_over(client)
    response = client.post(f"/admin/inbox/{conversation_id}/reply", follow_redirects=False,
                           data={"csrf": page_token(client, conversation_id), "text": "Hej! Jeg kigger på det."})
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/admin/inbox/{conversation_id}")
    frame = ws.receive_json()
    assert frame["type"] == "human_message"
    assert frame["author"] == "Mette" and frame["text"] == "Hej! Jeg kigger på det."
    ws.__exit__(None, None, None)

    with db(settings) as con:
        assert con.execute("select author, text from message where role='human'").fetchall() == \
            [("Mette", "Hej! Jeg kigger på det.")]
        assert con.execute("select actor, action from audit_entry where action='human_reply'").fetchall() \
            == [("human:mette@havtorn.dk", "human_reply")]
    with client.websocket_connect("/ws") as again:
        again.send_json(hello(session=token))
        last = again.receive_json()["history"][-1]
    assert (last["role"], last["text"]) == ("human", "Hej! Jeg kigger på det.")
    assert "Hej! Jeg kigger på det." in client.get(f"/admin/inbox/{conversation_id}").text


def test_an_empty_reply_is_not_sent(client, settings):
    add_operator(client)
    sign_in(client)
    ws, _, conversation_id = handed_over(client)
    response = client.post(f"/admin/inbox/{conversation_id}/reply",
                           data={"csrf": page_token(client, conversation_id), "text": "   "})
    assert response.status_code == 400 and "Write a reply first" in response.text
    ws.__exit__(None, None, None)
    with db(settings) as con:
        assert con.execute("select count(*) from message where role='human'").fetchone() == (0,)


def test_closing_closes_the_conversation(client, settings):
    add_operator(client)
    sign_in(client)
    ws, token, conversation_id = handed_over(client)
    response = client.post(f"/admin/inbox/{conversation_id}/close", follow_redirects=False,
                           data={"csrf": page_token(client, conversation_id)})
    assert response.status_code == 303 and response.headers["location"] == "/admin/inbox"
    ws.__exit__(None, None, None)
    with db(settings) as con:
        assert con.execute("select status from conversation").fetchone() == ("closed",)
    assert conversation_id not in client.get("/admin/inbox").text
    assert conversation_id in client.get("/admin/inbox?tab=closed").text
    page = client.get(f"/admin/inbox/{conversation_id}").text
    assert "This conversation is closed" in page and "<textarea" not in page
    with client.websocket_connect("/ws") as again:
        again.send_json(hello(session=token))
        assert again.receive_json()["status"] == "closed"


def test_the_inbox_lists_a_handed_over_conversation_with_its_reason(client):
    add_operator(client)
    sign_in(client)
    with client.websocket_connect("/ws") as bot_only:  # never handed over: not in the inbox
        bot_only.send_json(hello())
        bot_only_id = bot_only.receive_json()["conversation"]
        bot_only.send_json({"type": "message", "id": "b1", "text": "hello there"})
        receive_until(bot_only, "reply_end")
    ws, _, conversation_id = handed_over(client)
    ws.send_json({"type": "message", "id": "m2", "text": "Are you there? My order is late."})
    assert ws.receive_json() == {"type": "ack", "id": "m2"}
    ws.__exit__(None, None, None)

    inbox = client.get("/admin/inbox").text
    assert f"/admin/inbox/{conversation_id}" in inbox
    assert bot_only_id not in inbox
    assert "Asked for a person" in inbox
    assert "IN-1" in inbox
    assert "Are you there? My order is late." in inbox  # the last message
    assert "waiting" in inbox
    page = client.get(f"/admin/inbox/{conversation_id}").text
    assert "Asked for a person" in page and "Scenario:" in page  # reason and hand-over summary
    assert page.index("person please") < page.index("A colleague takes over.") < page.index("Are you there?")
    for role in ("msg-shopper", "msg-agent"):
        assert role in page


def test_markup_from_a_shopper_is_shown_as_text(client):
    add_operator(client)
    sign_in(client)
    payload = "person <script>alert(1)</script><img src=x onerror=alert(2)>"
    ws, _, conversation_id = handed_over(client, payload)
    ws.__exit__(None, None, None)
    for page in (client.get(f"/admin/inbox/{conversation_id}"), client.get("/admin/inbox")):
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    page = client.get(f"/admin/inbox/{conversation_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_live_socket_brings_new_shopper_messages_and_handovers(client):
    add_operator(client)
    sign_in(client)
    with client.websocket_connect("/admin/live") as live:
        ws, _, conversation_id = handed_over(client)
        event = live.receive_json()
        assert event["kind"] == "handoff" and event["conversation"] == conversation_id
        assert event["reason"] == "customer_request"
        event = live.receive_json()  # the ticket number, once the desk has it
        assert event["kind"] == "ticket" and event["conversation"] == conversation_id
        ws.send_json({"type": "message", "id": "m2", "text": "<b>still</b> here"})
        event = live.receive_json()
        assert event["kind"] == "message" and event["role"] == "shopper"
        assert event["text"] == "<b>still</b> here" and event["conversation"] == conversation_id
        ws.__exit__(None, None, None)


def test_the_live_socket_refuses_another_site(client):
    add_operator(client)
    sign_in(client)
    with pytest.raises(WebSocketDenialResponse), \
            client.websocket_connect("/admin/live", headers={"origin": "https://evil.example"}):
        pass


def test_passwords_are_scrypt_with_a_random_salt():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and len(first.split("$")) == 6
    assert first != second  # salted
    assert verify_password(PASSWORD, first) and not verify_password("wrong-password", first)
    assert not verify_password(PASSWORD, "not-a-hash")


def test_shopdesk_admin_create_then_sign_in(client, settings, monkeypatch, capsys):
    url = settings.database_url
    assert cli.main(["admin", "create", "--email", "Ole@Havtorn.dk", "--name", "Ole", "--role", "agent",
                     "--password", PASSWORD, "--database-url", url]) == 0
    assert "ole@havtorn.dk" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-password-1\n"))  # not a tty: one line
    assert cli.main(["admin", "create", "--email", "vera@havtorn.dk", "--role", "viewer",
                     "--database-url", url]) == 0
    assert cli.main(["admin", "create", "--email", "ole@havtorn.dk", "--password", PASSWORD,
                     "--database-url", url]) == 1  # exists already
    assert cli.main(["admin", "create", "--email", "kort@havtorn.dk", "--password", "short",
                     "--database-url", url]) == 1  # too short
    assert "at least 8" in capsys.readouterr().err
    with db(settings) as con:
        stored = dict(con.execute("select email, role from admin_user").fetchall())
        (hashed,) = con.execute("select password_hash from admin_user where email='ole@havtorn.dk'").fetchone()
    assert stored == {"ole@havtorn.dk": "agent", "vera@havtorn.dk": "viewer"}
    assert hashed.startswith("scrypt$") and PASSWORD not in hashed

    assert sign_in(client, "ole@havtorn.dk").status_code == 303
    assert "Ole" in client.get("/admin/inbox").text
    client.cookies.clear()
    assert sign_in(client, "vera@havtorn.dk", "piped-password-1").status_code == 303
