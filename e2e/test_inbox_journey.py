"""A hand-over from start to end, in two browsers: a shopper asks for a person in the widget,
an operator answers from the built-in inbox, and each sees the other's words arrive live."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from conftest import ROOT
from playwright.sync_api import Page, expect
from test_widget_journeys import CHAT, ask, open_chat

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "mette@havtorn.dk", "havtorn-inbox-1"


@pytest.fixture
def operator(browser: Any, server: Any) -> Any:
    """An operator made with ``shopdesk admin create``, in a browser of their own."""
    subprocess.run([sys.executable, "-m", "shopdesk", "admin", "create", "--email", EMAIL,
                    "--name", "Mette", "--role", "agent"], input=PASSWORD + "\n", text=True,
                   cwd=ROOT, env=server.env, check=True, capture_output=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_a_person_answers_a_handed_over_shopper_live(page: Page, operator: Page, server: Any,
                                                     screenshot: Any) -> None:
    problems: list[str] = []  # script errors and refused content (the pages have a strict CSP)
    operator.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    operator.on("pageerror", lambda e: problems.append(str(e)))

    # The operator signs in; nothing is waiting yet.
    operator.goto(server.url + "/admin/inbox")
    expect(operator).to_have_url(server.url + "/admin/login?next=/admin/inbox")
    screenshot(operator, "inbox-sign-in")
    operator.get_by_label("Email").fill(EMAIL)
    operator.get_by_label("Password").fill(PASSWORD)
    operator.get_by_role("button", name="Sign in").click()
    expect(operator).to_have_url(server.url + "/admin/inbox")
    expect(operator.locator(".empty")).to_contain_text("Nothing is waiting")
    expect(operator.locator("[data-live-state]")).to_have_attribute("data-live-state", "live")

    # The shopper asks for a person; the hand-over appears in the open inbox by itself.
    open_chat(page, server.url + "/?lang=da")
    ask(page, "Hej, min pakke fra ordre 1003 er ikke kommet. Kan jeg tale med et menneske?")
    expect(page.locator(f"{CHAT} .m.system")).to_contain_text("medarbejder")
    item = operator.locator(".queue .item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Asked for a person")
    expect(item.locator(".waiting")).to_contain_text("waiting")
    expect(item).to_contain_text("Order 1003")
    expect(item).to_contain_text("IN-", timeout=10_000)  # the ticket follows from the outbox
    screenshot(operator, "inbox-list")

    # The operator opens it and reads the whole story.
    item.click()
    transcript = operator.locator("ol.transcript")
    expect(transcript.locator(".msg-shopper").first).to_contain_text("Kan jeg tale med et menneske?")
    expect(transcript.locator(".msg-agent")).not_to_have_count(0)
    expect(operator.locator("aside.case")).to_contain_text("Asked for a person")
    expect(operator.locator("[data-live-state]")).to_have_attribute("data-live-state", "live")
    operator.evaluate("window.notReloaded = true")

    # The shopper writes again: it arrives in the open transcript without a reload.
    ask(page, "Jeg er hjemme hele dagen, hvis det hjælper <3")
    expect(transcript.locator(".msg-shopper .msg-text").last).to_have_text(
        "Jeg er hjemme hele dagen, hvis det hjælper <3", timeout=10_000)
    assert operator.evaluate("window.notReloaded") is True

    # The operator replies; the shopper's widget shows it live, signed with her name.
    reply = "Hej! Jeg hedder Mette. Jeg har bedt PostNord undersøge pakken og skriver til dig i dag."
    operator.get_by_label("Reply to the shopper").fill(reply)
    operator.get_by_role("button", name="Send reply").click()
    expect(transcript.locator(".msg-human .msg-text").last).to_have_text(reply)
    human = page.locator(f"{CHAT} .m.human")
    expect(human).to_have_count(1, timeout=10_000)
    expect(human).to_contain_text(reply)
    expect(human.locator(".au")).to_have_text("Mette")
    screenshot(operator, "inbox-conversation")
    screenshot(page, "storefront-chat-human-reply")

    # Done: closing it moves it from the waiting list to the closed one.
    operator.get_by_role("button", name="Close conversation").click()
    expect(operator).to_have_url(server.url + "/admin/inbox")
    expect(operator.locator(".empty")).to_contain_text("Nothing is waiting")
    operator.get_by_role("link", name="Closed").click()
    expect(operator.locator(".queue .item")).to_have_count(1)
    assert problems == []
