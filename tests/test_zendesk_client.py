"""The Zendesk client against a fake Zendesk over real HTTP (outside-apis.md section 1)."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from shopdesk.handoff.zendesk import (
    ZendeskAuthError,
    ZendeskClient,
    ZendeskError,
    ZendeskIdempotencyConflict,
    ZendeskInvalid,
    ZendeskNotFound,
    ZendeskUnavailable,
    build_internal_note,
    build_ticket,
    retry_after_seconds,
    verify_webhook,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.fake_zendesk import TEST_WEBHOOK_SECRET, FakeZendesk, running_fake_zendesk


@pytest.fixture(scope="module")
def served() -> Iterator[FakeZendesk]:
    with running_fake_zendesk() as fake:
        yield fake


@pytest.fixture
def zd(served: FakeZendesk) -> FakeZendesk:
    served.reset()
    return served


def make_client(zd: FakeZendesk, **options: object) -> ZendeskClient:
    settings: dict[str, object] = {"timeout": 0.3, "max_attempts": 3, "backoff_base": 0.01,
                                   "backoff_max": 0.05}
    settings.update(options)
    return ZendeskClient(zd.url, zd.email, zd.token, **settings)  # type: ignore[arg-type]


@pytest.fixture
async def client(zd: FakeZendesk) -> AsyncIterator[ZendeskClient]:
    async with make_client(zd) as c:
        yield c


def anna_ticket(**changes: str) -> dict[str, object]:
    inputs = {
        "conversation_id": "c_7f3c2a9e", "reason": "negative_sentiment", "scenario": "order_status",
        "first_message": "Where is my order #1042? It should have arrived last week and "
                         "nobody answers my emails at all",
        "last_message": "This is ridiculous, I want to talk to a person",
        "name": "Anna Jensen", "email": "anna@example.dk",
    }
    inputs.update(changes)
    return build_ticket(**inputs)  # type: ignore[arg-type]


async def test_a_hand_over_opens_a_ticket_with_everything_an_agent_needs(zd, client) -> None:
    ticket = await client.create_ticket(anna_ticket(), idempotency_key="handoff-c_7f3c2a9e-1")

    assert ticket.created and ticket.status == "new" and ticket.id.isdigit()
    assert ticket.url == f"{zd.url}/api/v2/tickets/{ticket.id}.json"
    assert ticket.external_id == "c_7f3c2a9e"
    assert ticket.requester_id == zd.users["anna@example.dk"]
    (sent,) = zd.requests_for("POST")
    expected_auth = base64.b64encode(b"bot@shop.example/token:zd-test-token").decode()
    assert sent.headers["authorization"] == f"Basic {expected_auth}"
    assert sent.headers["idempotency-key"] == "handoff-c_7f3c2a9e-1"
    assert sent.headers["content-type"] == "application/json"
    body = sent.json["ticket"]
    assert body["subject"].startswith("Order status: Where is my order #1042?")
    assert len(body["subject"]) <= 80 and body["subject"].endswith("…")
    assert body["requester"] == {"name": "Anna Jensen", "email": "anna@example.dk"}
    assert body["comment"] == {"body": "This is ridiculous, I want to talk to a person",
                               "public": True}
    assert body["tags"] == ["shopdesk", "order_status", "negative_sentiment"]
    assert body["priority"] == "high"
    assert body["external_id"] == "c_7f3c2a9e"
    stored = zd.tickets[int(ticket.id)]
    assert stored["description"] == "This is ridiculous, I want to talk to a person"


async def test_an_anonymous_shopper_gets_a_placeholder_requester(zd, client) -> None:
    spec = anna_ticket(name="", email="", reason="customer_request", scenario="returns")
    assert spec["requester"]["name"].startswith("Chat visitor ")  # type: ignore[index]
    assert spec["requester"]["email"] == "chat-c_7f3c2a9e@visitors.shopdesk.invalid"  # type: ignore[index]
    assert spec["priority"] == "normal"

    ticket = await client.create_ticket(spec, idempotency_key="anon-1")

    assert ticket.created
    assert zd.requests_for("POST")[0].json["ticket"]["requester"] == spec["requester"]


async def test_retrying_with_the_same_key_never_makes_a_second_ticket(zd, client) -> None:
    first = await client.create_ticket(anna_ticket(), idempotency_key="k-1")
    again = await client.create_ticket(anna_ticket(), idempotency_key="k-1")

    assert again.id == first.id and first.created and not again.created
    assert len(zd.tickets) == 1
    with pytest.raises(ZendeskIdempotencyConflict):
        await client.create_ticket(anna_ticket(last_message="Something else"), idempotency_key="k-1")
    assert len(zd.tickets) == 1


async def test_the_internal_note_and_replies_land_on_the_ticket(zd, client) -> None:
    ticket = await client.create_ticket(anna_ticket(), idempotency_key="k-note")
    note = build_internal_note(
        [("shopper", "Where is my order #1042?", "2026-11-28T10:00:00Z"),
         ("agent", "It left our warehouse on Monday.", "2026-11-28T10:00:02Z"),
         ("shopper", "This is ridiculous, I want to talk to a person", "2026-11-28T10:01:00Z")],
        {"reason": "negative_sentiment", "order": "#1042"},
        "https://shop.example/admin/inbox/c_7f3c2a9e",
    )
    await client.add_comment(ticket.id, note, public=False)
    await client.add_comment(ticket.id, "I can send a photo of the parcel.",
                             author_id=ticket.requester_id)

    _first, internal, relayed = zd.comments[int(ticket.id)]
    assert not internal["public"] and internal["author_id"] == 1900000000099
    assert "[2026-11-28T10:00:02Z] AI assistant: It left our warehouse on Monday." in internal["body"]
    assert "https://shop.example/admin/inbox/c_7f3c2a9e" in internal["body"]
    assert relayed["public"] and relayed["author_id"] == ticket.requester_id
    assert (await client.latest_public_comment(ticket.id))["id"] == relayed["id"]

    zd.agent_reply(ticket.id, "Hej Anna, vi har sendt en ny pakke i dag.")
    latest = await client.latest_public_comment(ticket.id)
    assert latest is not None and latest["body"] == "Hej Anna, vi har sendt en ny pakke i dag."
    assert latest["via"]["channel"] == "web"


async def test_find_by_external_id_returns_every_match(zd, client) -> None:
    await client.create_ticket(anna_ticket(), idempotency_key="a")
    await client.create_ticket(anna_ticket(last_message="Hello?"), idempotency_key="b")
    await client.create_ticket(anna_ticket(conversation_id="c_other"), idempotency_key="c")

    found = await client.find_by_external_id("c_7f3c2a9e")

    assert len(found) == 2 and {t.external_id for t in found} == {"c_7f3c2a9e"}
    assert await client.find_by_external_id("c_nobody") == []
    assert zd.requests_for("GET")[0].query == {"external_id": "c_7f3c2a9e"}


async def test_a_503_is_retried_until_zendesk_answers(zd, client) -> None:
    zd.fail_next(2, 503)

    ticket = await client.create_ticket(anna_ticket(), idempotency_key="k-503")

    assert ticket.created and len(zd.requests_for("POST")) == 3 and len(zd.tickets) == 1


async def test_a_429_waits_as_long_as_retry_after_says(zd, client) -> None:
    zd.rate_limit_next(1, retry_after="1")
    started = time.monotonic()

    ticket = await client.create_ticket(anna_ticket(), idempotency_key="k-429")

    assert time.monotonic() - started >= 1.0
    assert ticket.created and len(zd.requests_for("POST")) == 2 and len(zd.tickets) == 1


async def test_a_retry_after_too_long_to_wait_in_process_goes_back_to_the_outbox(zd) -> None:
    zd.rate_limit_next(1, retry_after="120")
    async with make_client(zd, max_retry_after=30) as client:
        with pytest.raises(ZendeskUnavailable) as caught:
            await client.find_by_external_id("c_7f3c2a9e")
    assert caught.value.status == 429 and caught.value.retry_after == 120
    assert len(zd.requests) == 1


async def test_wrong_credentials_raise_at_once(zd) -> None:
    async with ZendeskClient(zd.url, zd.email, "wrong-token", backoff_base=0.01) as client:
        with pytest.raises(ZendeskAuthError) as caught:
            await client.create_ticket(anna_ticket(), idempotency_key="k-401")
    assert caught.value.status == 401 and caught.value.error == "Couldn't authenticate you"
    assert len(zd.requests) == 1


async def test_an_invalid_ticket_raises_with_zendesks_details_and_no_retry(zd, client) -> None:
    spec = anna_ticket()
    spec["requester"] = {"name": "Anna", "email": "anna@example"}
    spec["comment"] = {"body": "  ", "public": True}

    with pytest.raises(ZendeskInvalid) as caught:
        await client.create_ticket(spec, idempotency_key="k-422")

    assert caught.value.status == 422 and caught.value.error == "RecordInvalid"
    assert set(caught.value.details) == {"requester", "description"}
    assert "Requester: anna@example is invalid" in str(caught.value)
    assert len(zd.requests) == 1 and zd.tickets == {}


async def test_an_unknown_ticket_is_not_found(zd, client) -> None:
    with pytest.raises(ZendeskNotFound) as caught:
        await client.add_comment("999999", "Hello")
    assert caught.value.error == "RecordNotFound" and len(zd.requests) == 1


async def test_a_plain_text_error_body_is_read_as_text(zd, client) -> None:
    zd.fail_next(1, 400, "Bad request: unparseable header")

    with pytest.raises(ZendeskError) as caught:
        await client.find_by_external_id("c_7f3c2a9e")

    assert caught.value.status == 400 and "unparseable header" in caught.value.description
    assert len(zd.requests) == 1


async def test_a_slow_create_is_retried_and_still_counts_as_ours(zd, client) -> None:
    # The first attempt is carried out but answered after the client gave up; the
    # retry is answered from the idempotency store: one ticket, and it is new to us.
    zd.slow_next(1, 0.6)

    ticket = await client.create_ticket(anna_ticket(), idempotency_key="k-slow")

    assert ticket.created and len(zd.tickets) == 1 and len(zd.requests_for("POST")) == 2


async def test_zendesk_too_slow_every_time_is_unavailable(zd, client) -> None:
    zd.latency = 0.6

    with pytest.raises(ZendeskUnavailable) as caught:
        await client.create_ticket(anna_ticket(), idempotency_key="k-timeout")

    assert caught.value.status is None and caught.value.error == "ReadTimeout"
    assert len(zd.requests_for("POST")) == 3 and len(zd.tickets) == 1


async def test_zendesk_down_is_unavailable(zd, client) -> None:
    zd.down = True

    with pytest.raises(ZendeskUnavailable) as caught:
        await client.latest_public_comment("35436")

    assert caught.value.status == 503 and caught.value.description.startswith("Service Unavailable")
    assert len(zd.requests) == 3


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 28, 10, 15, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Sat, 28 Nov 2026 10:15:07 GMT", now) == 7.0
    assert retry_after_seconds("Sat, 28 Nov 2026 10:14:00 GMT", now) == 0.0
    assert retry_after_seconds(None) == retry_after_seconds("soon") == 1.0


def test_the_subject_fits_and_the_body_is_stable() -> None:
    assert anna_ticket() == anna_ticket()  # an idempotent retry sends the very same body
    spec = build_ticket(conversation_id="c1", reason="unknown_defect", scenario=None,
                        first_message="Hi", last_message="The zip broke")
    assert spec["subject"] == "Chat: Hi" and spec["tags"] == ["shopdesk", "unknown_defect"]


def test_a_long_transcript_keeps_its_newest_lines() -> None:
    transcript = [("shopper", f"message {i} " + "x" * 90, f"2026-11-28T10:{i % 60:02d}:00Z")
                  for i in range(200)]
    note = build_internal_note(transcript, "Wants a refund over the limit.", None, max_chars=2000)
    assert len(note) <= 2000
    assert "message 199" in note and "message 0 " not in note
    assert "earlier messages left out" in note and "Wants a refund over the limit." in note


SAMPLE_BODY = (b'{"event":"agent_public_comment","ticket_id":"35436","external_id":"chat_7f3c2a9e",'
               b'"comment":"Hej Anna, vi har sendt en ny pakke i dag.","comment_html":"<p>Hej Anna, '
               b'vi har sendt en ny pakke i dag.</p>","author_name":"Mette Support",'
               b'"author_id":"1900000000001"}')
GROUP_MEMBERSHIP_BODY = (
    b'{\n\t"type": "zen:event-type:user.group_membership_created",\n\t"account_id": 12514403,\n'
    b'\t"id": "6b9bbadf-5725-4e92-bebe-7b71011bf5f1",\n\t"subject": "zen:user:6596848315901",\n'
    b'\t"time": "2099-07-04T05:33:18Z",\n\t"zendesk_event_version": "2022-06-20",\n\t"detail": {\n'
    b'\t\t"created_at": "2099-07-04T05:27:58Z",\n\t\t"default_group_id": "0",\n'
    b'\t\t"email": "user.name@example.com",\n\t\t"external_id": "",\n\t\t"id": "6596848315901",\n'
    b'\t\t"organization_id": "0",\n\t\t"role": "end-user",\n\t\t"updated_at": "2099-07-04T05:33:18Z"\n'
    b'\t},\n\t"event": { "group": { "id": "1" } }\n}\n'
)


def test_webhook_signatures_match_zendesks_vectors() -> None:
    assert len(SAMPLE_BODY) == 260 and len(GROUP_MEMBERSHIP_BODY) == 534
    assert verify_webhook(TEST_WEBHOOK_SECRET, "2026-11-28T10:15:00Z", SAMPLE_BODY,
                          "AMTDxJHjgujfdWqDyzylcPwyNatRLIXAlo8B7RQypMo=")
    assert verify_webhook(TEST_WEBHOOK_SECRET, "1234", GROUP_MEMBERSHIP_BODY,
                          "10IqYzYTLHRftNsNE+im0DeOM6/JactIRuy0XCHJ9B8=")
    assert not verify_webhook(TEST_WEBHOOK_SECRET, "2026-11-28T10:15:01Z", SAMPLE_BODY,
                              "AMTDxJHjgujfdWqDyzylcPwyNatRLIXAlo8B7RQypMo=")
    assert not verify_webhook("another secret", "2026-11-28T10:15:00Z", SAMPLE_BODY,
                              "AMTDxJHjgujfdWqDyzylcPwyNatRLIXAlo8B7RQypMo=")
    assert not verify_webhook(TEST_WEBHOOK_SECRET, "1234", SAMPLE_BODY, "ünïcode")


async def test_an_agents_reply_arrives_as_a_signed_webhook(zd, client) -> None:
    received: list[tuple[str, dict]] = []

    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        ok = verify_webhook(TEST_WEBHOOK_SECRET,
                            request.headers["x-zendesk-webhook-signature-timestamp"], body,
                            request.headers["x-zendesk-webhook-signature"])
        if not ok:
            return JSONResponse({"error": "bad signature"}, 401)
        received.append((request.headers["x-zendesk-webhook-invocation-id"], await request.json()))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hooks/zendesk", hook, methods=["POST"])])
    ticket = await client.create_ticket(anna_ticket(), idempotency_key="k-hook")

    with TestClient(app) as shop:
        answers = zd.agent_replies(ticket.id, "Hej Anna, vi har sendt en ny pakke i dag.",
                                   "/hooks/zendesk", client=shop, twice=True)
        forged = zd.agent_replies(ticket.id, "Pay here", "/hooks/zendesk", client=shop,
                                  secret="not the secret")

    assert [a.status_code for a in answers + forged] == [200, 200, 401]
    (first_id, first), (second_id, _) = received
    assert first_id == second_id  # the same invocation, delivered twice
    assert first == {"event": "agent_public_comment", "ticket_id": ticket.id,
                     "external_id": "c_7f3c2a9e",
                     "comment": "Hej Anna, vi har sendt en ny pakke i dag.",
                     "comment_html": "<p>Hej Anna, vi har sendt en ny pakke i dag.</p>",
                     "author_name": "Mette Support", "author_id": "1900000000001"}
    headers = zd.webhooks_sent[0].headers
    assert headers["x-zendesk-account-id"] == "123456"
    assert headers["x-zendesk-webhook-id"] == "01GK8E6BKWMJZD2TEXAMPLE"
