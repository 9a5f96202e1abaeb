"""The hand-over text asks for an email address only when the shop has none for the shopper.

The real offline agent on the demo store, through the wire protocol. The hand-over is
immediate (the ``handoff`` frame ends the very turn that asked for a person); its text
asks for an address when none is known, and says the answer may come by email when one
is: a verified login, or an address the shopper wrote earlier in the conversation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from shopdesk.app import create_app
from shopdesk.conversations import sign_identity
from shopdesk.settings import DEMO_STORE, Settings
from starlette.testclient import TestClient

from .conftest import hello, receive_until

SECRET = "test-secret"
ASK = {"en": "Please write your email address here", "da": "Skriv gerne din mailadresse her"}
KNOWN = {"en": "or by email if you have left", "da": "eller på mail hvis du er gået"}
PERSON = {"en": "Can I talk to a person?", "da": "Kan jeg tale med et menneske?"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("ask-email") / "chat.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", store=DEMO_STORE, identity_secret=SECRET)
    with TestClient(create_app(settings)) as c:
        yield c


def handover_text(client: TestClient, lang: str, messages: list[str],
                  customer: dict[str, str] | None = None) -> str:
    """Say ``messages`` in one chat; the last must hand over at once."""
    with client.websocket_connect("/ws") as ws:
        ws.send_json(hello(locale=lang, customer=customer))
        ws.receive_json()
        for n, text in enumerate(messages):
            ws.send_json({"type": "message", "id": f"m{n}", "text": text})
            end: dict[str, Any] = receive_until(ws, "reply_end", "handoff")[-1]
        assert end["type"] == "handoff" and end["reason"] == "customer_request", end
        assert end["ticket"] is None  # in the turn itself, before any ticket exists
        return str(end["text"])


@pytest.mark.parametrize("lang", ["en", "da"])
def test_an_anonymous_shopper_is_asked_for_an_email_address(client, lang):
    text = handover_text(client, lang, [PERSON[lang]])
    assert ASK[lang] in text and KNOWN[lang] not in text


@pytest.mark.parametrize("lang", ["en", "da"])
def test_a_logged_in_shopper_is_not_asked(client, lang):
    customer = {"email": "anna@example.dk", "name": "Anna", "signature": sign_identity("anna@example.dk", SECRET)}
    text = handover_text(client, lang, [PERSON[lang]], customer)
    assert ASK[lang] not in text and KNOWN[lang] in text


@pytest.mark.parametrize("lang,before", [
    ("en", "Where is order 1003? anna@example.dk"),
    ("da", "Hvor er ordre 1003? anna@example.dk"),
])
def test_a_shopper_who_wrote_an_address_earlier_is_not_asked(client, lang, before):
    text = handover_text(client, lang, [before, PERSON[lang]])
    assert ASK[lang] not in text and KNOWN[lang] in text


@pytest.mark.parametrize("lang", ["en", "da"])
def test_an_address_in_the_same_message_is_enough(client, lang):
    text = handover_text(client, lang, [f"{PERSON[lang]} anna@example.dk"])
    assert ASK[lang] not in text and KNOWN[lang] in text
