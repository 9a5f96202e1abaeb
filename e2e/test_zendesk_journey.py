"""A hand-over to Zendesk from start to end, in a real browser: a shopper asks for a person
in the widget on the demo storefront, the ticket appears in the (fake) Zendesk with the
transcript as an internal note, and an agent's reply there (the signed trigger webhook)
appears in the shopper's open widget."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import CHROMIUM, ROOT, ShopdeskServer
from playwright.sync_api import Page, expect
from test_widget_journeys import CHAT, ORDER_QUESTION, TRACKING, ask, open_chat, record_frames

if str(ROOT) not in sys.path:  # the fake Zendesk lives with the unit tests
    sys.path.insert(0, str(ROOT))
from tests.fake_zendesk import FakeZendesk, running_fake_zendesk

pytestmark = pytest.mark.e2e

WEBHOOK = "/integrations/zendesk/webhook"
REPLY = "Hi Anna, this is Mette. I have asked PostNord to trace the parcel and will write to you today."


@pytest.fixture(scope="module")
def zendesk() -> Iterator[FakeZendesk]:
    with running_fake_zendesk() as zd:
        yield zd


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, zendesk: FakeZendesk) -> Iterator[ShopdeskServer]:
    """``shopdesk serve`` with Zendesk as its ticket desk (overrides conftest's ``server``)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    shop = ShopdeskServer(tmp_path_factory.mktemp("e2e-zendesk"))
    shop.env.pop("SHOPDESK_REDIS_URL", None)
    shop.env.update({
        "SHOPDESK_ZENDESK_URL": zendesk.url, "SHOPDESK_ZENDESK_EMAIL": zendesk.email,
        "SHOPDESK_ZENDESK_TOKEN": zendesk.token, "SHOPDESK_ZENDESK_WEBHOOK_SECRET": zendesk.webhook_secret,
        "SHOPDESK_PUBLIC_URL": shop.url,
    })
    shop.start()
    yield shop
    shop.stop()


def wait_for(page: Page, condition: Any, what: str, timeout: float = 15.0) -> Any:
    """Poll ``condition`` while letting the page's events (socket frames) come in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def test_a_handover_becomes_a_zendesk_ticket_and_the_agents_reply_reaches_the_widget(
    page: Page, server: ShopdeskServer, zendesk: FakeZendesk, screenshot: Any
) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    frames = record_frames(page)

    # The shopper asks about an order, then for a person.
    open_chat(page, server.url + "/?lang=en")
    ask(page, ORDER_QUESTION)
    expect(page.locator(f"{CHAT} .m.agent:not(.hi):not(.stream)").first).to_contain_text(TRACKING)
    ask(page, "It has been stuck for a week. Can I talk to a person?")
    expect(page.locator(f"{CHAT} .m.system")).to_contain_text("member of our team")
    welcome = next(f for f in frames["received"] if f["type"] == "welcome")
    conversation = welcome["conversation"]

    # The widget is told at once; the ticket number follows from the outbox.
    handoffs = lambda: [f for f in frames["received"] if f["type"] == "handoff"]
    numbered = wait_for(page, lambda: next((f for f in handoffs() if f["ticket"]), None),
                        "the handoff frame with the ticket number")

    # The ticket in Zendesk: one, for this conversation, with the whole story as a note.
    tickets = [t for t in zendesk.tickets.values() if t["external_id"] == conversation]
    assert len(tickets) == 1
    ticket = tickets[0]
    assert str(ticket["id"]) == numbered["ticket"]
    assert ticket["subject"].startswith("Human request: ")
    assert {"shopdesk", "customer_request"} <= set(ticket["tags"])
    assert zendesk.users["anna@example.dk"] == ticket["requester_id"]  # the e-mail she gave
    comments = zendesk.comments[ticket["id"]]
    assert comments[0]["public"] and comments[0]["body"] == "It has been stuck for a week. Can I talk to a person?"
    (note,) = [c for c in comments if not c["public"]]
    assert "Transcript" in note["body"]
    assert ORDER_QUESTION in note["body"] and TRACKING in note["body"]  # what the agent already said
    assert f"{server.url}/admin/inbox/{conversation}" in note["body"]
    screenshot(page, "zendesk-journey-handed-over")

    # An agent answers in Zendesk; its trigger calls our webhook, signed.
    (response,) = zendesk.agent_replies(ticket["id"], REPLY, webhook_url=server.url + WEBHOOK)
    assert response.status_code == 200 and response.json() == {"status": "delivered"}
    human = page.locator(f"{CHAT} .m.human")
    expect(human).to_have_count(1, timeout=10_000)
    expect(human).to_contain_text(REPLY)
    expect(human.locator(".au")).to_have_text("Mette Support")
    screenshot(page, "zendesk-journey-human-reply")

    # A forged delivery is refused and shows nothing.
    forged = zendesk.agent_reply(ticket["id"], "forged", secret="not-the-secret")
    assert httpx.post(server.url + WEBHOOK, content=forged.body, headers=forged.headers).status_code == 401

    # The shopper answers; it goes to the same ticket, from her.
    ask(page, "Thank you, Mette!")
    wait_for(page, lambda: any(c["body"] == "Thank you, Mette!" for c in zendesk.comments[ticket["id"]]),
             "the shopper's answer in the ticket")
    (thanks,) = [c for c in zendesk.comments[ticket["id"]] if c["body"] == "Thank you, Mette!"]
    assert thanks["public"] and thanks["author_id"] == ticket["requester_id"]

    # The reply is stored: it is still there after a reload.
    page.reload()
    expect(page.locator(f"{CHAT} [role=dialog]")).to_be_visible()
    expect(page.locator(f"{CHAT} .m.human")).to_contain_text(REPLY)
    expect(page.locator(f"{CHAT} .m.human")).not_to_contain_text("forged")
    assert len(zendesk.tickets) == 1
    assert problems == []
