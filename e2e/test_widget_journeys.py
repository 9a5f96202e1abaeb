"""What a shopper does with the widget on the demo storefront, in a real browser.

The demo store's order 1003 (anna@example.dk) is in transit with PostNord, tracking number
00370730254400031007 (see server/shopdesk/store/DEMO.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

ORDER_QUESTION = "Where is order 1003? anna@example.dk"
TRACKING = "00370730254400031007"
CHAT = "shopdesk-chat"


def bubble(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(f"{CHAT} button.b")


def state(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(f"{CHAT} .st")


def answers(page: Page):  # type: ignore[no-untyped-def]
    """Agent messages, not counting the local greeting and replies still streaming."""
    return page.locator(f"{CHAT} .m.agent:not(.hi):not(.stream)")


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    bubble(page).click()
    expect(page.locator(f"{CHAT} [role=dialog]")).to_be_visible()
    expect(state(page)).to_have_attribute("data-state", "online")


def ask(page: Page, text: str) -> None:
    box = page.locator(f"{CHAT} textarea")
    box.fill(text)
    box.press("Enter")


def record_frames(page: Page) -> dict[str, list[dict[str, Any]]]:
    """Frames on the chat socket, both ways, parsed."""
    frames: dict[str, list[dict[str, Any]]] = {"sent": [], "received": []}

    def watch(ws: Any) -> None:
        if not ws.url.endswith("/ws"):
            return
        ws.on("framesent", lambda payload: frames["sent"].append(json.loads(payload)))
        ws.on("framereceived", lambda payload: frames["received"].append(json.loads(payload)))

    page.on("websocket", watch)
    return frames


def test_order_status_streams_and_survives_a_reload(page: Page, server: Any, screenshot: Any) -> None:
    frames = record_frames(page)
    open_chat(page, server.url + "/?lang=en")
    # Focus goes to the message box when the chat opens.
    assert page.evaluate(f"document.querySelector('{CHAT}').shadowRoot.activeElement.tagName") == "TEXTAREA"

    ask(page, ORDER_QUESTION)
    expect(page.locator(f"{CHAT} .m.shopper")).to_have_text(re.compile(re.escape(ORDER_QUESTION)))
    expect(answers(page)).to_have_count(1)
    answer = answers(page).first
    expect(answer).to_contain_text(TRACKING)
    expect(answer).to_contain_text("PostNord")

    kinds = [f["type"] for f in frames["received"]]
    assert "reply_start" in kinds and "reply_end" in kinds
    assert kinds.count("reply_delta") >= 2, "the answer should arrive in pieces"
    hello = next(f for f in frames["sent"] if f["type"] == "hello")
    assert hello["v"] == 1 and hello["locale"] == "en" and hello["session"] is None
    assert hello["page"]["url"].startswith(server.url)
    end = next(f for f in frames["received"] if f["type"] == "reply_end")
    assert TRACKING in end["text"]

    # A tracking link becomes a real link, and only to http(s).
    links = answer.locator("a")
    if links.count():
        assert all(h.startswith(("https://", "http://"))
                   for h in links.evaluate_all("els => els.map(a => a.href)"))

    # Rating is offered once there is an answer, as radio buttons.
    stars = page.locator(f"{CHAT} fieldset.r input[type=radio]")
    expect(stars).to_have_count(5)
    page.locator(f"{CHAT} fieldset.r label").nth(4).click()
    expect(page.locator(f"{CHAT} fieldset.r [role=status]")).not_to_be_empty()
    page.wait_for_timeout(200)
    assert {"type": "rating", "score": 5} in frames["sent"]
    screenshot(page, "storefront-chat-answer")

    # The conversation survives a reload: the panel comes back open with its history.
    page.reload()
    expect(page.locator(f"{CHAT} [role=dialog]")).to_be_visible()
    expect(state(page)).to_have_attribute("data-state", "online")
    expect(page.locator(f"{CHAT} .m.shopper")).to_have_count(1)
    expect(answers(page)).to_have_count(1)
    expect(answers(page).first).to_contain_text(TRACKING)
    resumed = [f for f in frames["sent"] if f["type"] == "hello"][-1]
    assert resumed["session"], "the reload should resume the same conversation"
    screenshot(page, "storefront-chat-after-reload")


def test_widget_reconnects_after_a_server_restart(page: Page, server: Any, screenshot: Any) -> None:
    open_chat(page, server.url + "/products/mols-chinos?lang=en")
    ask(page, ORDER_QUESTION)
    expect(answers(page)).to_have_count(1)

    server.stop()
    expect(state(page)).to_have_attribute("data-state", "reconnecting", timeout=15_000)
    screenshot(page, "storefront-chat-reconnecting")
    # Written while the server is down: kept and sent once the chat is back.
    ask(page, "What are your opening hours?")
    expect(page.locator(f"{CHAT} .m.shopper.pending")).to_have_count(1)

    server.start()
    expect(state(page)).to_have_attribute("data-state", "online", timeout=40_000)
    expect(page.locator(f"{CHAT} .m.shopper.pending")).to_have_count(0)
    expect(answers(page)).to_have_count(2, timeout=20_000)

    ask(page, ORDER_QUESTION)
    expect(answers(page)).to_have_count(3)
    expect(answers(page).last).to_contain_text(TRACKING)
    expect(page.locator(f"{CHAT} .m.shopper")).to_have_count(3)
    screenshot(page, "storefront-chat-reconnected")


def test_markup_from_a_shopper_is_shown_as_text(page: Page, server: Any, screenshot: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_chat(page, server.url + "/?lang=en")
    payload = "<img src=x onerror=alert(1)>"
    ask(page, payload)
    expect(page.locator(f"{CHAT} .m.shopper").last).to_contain_text(payload)
    expect(page.locator(f"{CHAT} .m.agent:not(.hi), {CHAT} .m.system").first).to_be_visible()
    page.wait_for_timeout(500)
    assert page.locator(f"{CHAT} img").count() == 0
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []
    screenshot(page, "storefront-chat-markup-as-text")


def test_keyboard_and_screen_reader_basics(page: Page, server: Any) -> None:
    page.goto(server.url + "/?lang=da")
    button = bubble(page)
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-label", "Åbn chat")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator(f"{CHAT} [role=dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-label", re.compile("kundeservice"))
    expect(page.locator(f"{CHAT} [aria-live=polite][role=log]")).to_have_count(1)
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator(f"{CHAT} textarea")).to_be_focused()
    expect(state(page)).to_have_text("Forbundet")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")


def test_full_screen_on_a_phone(browser: Any, server: Any, screenshot: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        open_chat(phone, server.url + "/products/skagen-merino-sweater?lang=da")
        box = phone.locator(f"{CHAT} [role=dialog]").bounding_box()
        assert box is not None
        assert box["x"] == 0 and box["y"] == 0 and box["width"] == 390 and box["height"] == 780
        screenshot(phone, "storefront-chat-phone")
    finally:
        context.close()
