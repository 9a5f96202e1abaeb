"""A fake Zendesk Support API that speaks the real wire contract over HTTP.

It follows /work/shared/contracts/outside-apis.md section 1.11: tickets with
``{ticket, audit}`` and a ``Location``, idempotency keys (miss / hit /
``400 IdempotentRequestError``), comments, the ``external_id`` filter, the real error
bodies (401 / 404 / 422) and rate-limit headers on every answer. Beyond that contract,
end users as the Users API has them: ``GET /api/v2/users/search.json?query=email:X``
(``{"users": [...]}``), ``POST /api/v2/users.json`` (201 with ``{"user"}``; a new user is
an ``end-user`` unless a role is sent, needs a name, and an email already taken is a 422)
and ``requester_id`` on a ticket update. Which
422 wording Zendesk uses for a bad email or an unknown requester is [inferred].

Test controls: a queue of scripted failures (for any request, or only the ones a
predicate picks; answered instead of the real answer, or after carrying the request out,
as when the answer is lost), a latency, a ``down`` switch, a record of every request,
and an agent who replies: a public comment plus the signed trigger webhook.

    with running_fake_zendesk() as zd:
        client = ZendeskClient(zd.url, zd.email, zd.token)
        zd.fail_next(2, 503)
        ...
        zd.agent_replies(ticket_id, "Hej Anna", webhook_url=f"{app_url}/hooks/zendesk")
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import html
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

# Zendesk's fixed secret for test sends from the webhook builder (outside-apis.md §1.9).
TEST_WEBHOOK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
API_USER_ID = 1900000000099
AGENT_ID = 1900000000001
RATE_LIMIT = 700
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PRIORITIES = {"urgent", "high", "normal", "low"}
TYPES = {"problem", "incident", "question", "task"}
STATUSES = {"new", "open", "pending", "hold", "solved", "closed"}
MAX_COMMENTS = 5000


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(slots=True)
class Scripted:
    """One scripted answer, served instead of the real one (``applied``: after the
    request was carried out all the same) to the next request ``match`` picks."""

    status: int
    body: str = ""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    match: Callable[[RecordedRequest], bool] | None = None
    applied: bool = False


@dataclass(frozen=True, slots=True)
class WebhookCall:
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class _Remembered:
    fingerprint: str
    at: float
    ticket_id: int
    body: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _via(channel: str) -> dict[str, Any]:
    return {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}}


def _html(comment: dict[str, Any]) -> str:
    inner = comment.get("html_body") or f'<p dir="auto">{html.escape(comment.get("body") or "")}</p>'
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def _plain(comment: dict[str, Any]) -> str:
    return comment.get("body") or re.sub(r"<[^>]+>", "", comment.get("html_body") or "")


def _problem(description: str, error: str = "InvalidValue") -> list[dict[str, str]]:
    return [{"description": description, "error": error}]


class FakeZendesk:
    def __init__(self, *, subdomain: str = "acme", email: str = "bot@shop.example",
                 token: str = "zd-test-token", oauth_token: str | None = None,
                 account_id: str = "123456", webhook_id: str = "01GK8E6BKWMJZD2TEXAMPLE",
                 webhook_secret: str = TEST_WEBHOOK_SECRET,
                 idempotency_ttl: float = 2 * 3600) -> None:
        self.subdomain, self.email, self.token, self.oauth_token = subdomain, email, token, oauth_token
        self.account_id, self.webhook_id, self.webhook_secret = account_id, webhook_id, webhook_secret
        self.idempotency_ttl = idempotency_ttl
        self.url = "http://testserver"  # set by running_fake_zendesk()
        self._lock = threading.RLock()
        self.reset()
        route = self._route
        self.app = Starlette(routes=[
            *route("/api/v2/tickets", self._tickets, ["GET", "POST"]),
            *route("/api/v2/tickets/{ticket_id:int}", self._ticket, ["GET", "PUT"]),
            *route("/api/v2/tickets/{ticket_id:int}/comments", self._comments, ["GET"]),
            *route("/api/v2/users", self._create_user, ["POST"]),
            *route("/api/v2/users/search", self._search_users, ["GET"]),
            Route("/{rest:path}", self._guard(self._no_endpoint),
                  methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ])

    # -- test controls --

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.down = False
            self.requests: list[RecordedRequest] = []
            self.tickets: dict[int, dict[str, Any]] = {}
            self.comments: dict[int, list[dict[str, Any]]] = {}
            self.users: dict[str, int] = {}  # email -> user id
            self.user_records: dict[int, dict[str, Any]] = {}
            self.webhooks_sent: list[WebhookCall] = []
            self._scripted: deque[Scripted] = deque()
            self._slow: deque[float] = deque()
            self._idempotency: dict[str, _Remembered] = {}
            self._ids = itertools.count(35436)
            self._user_ids = itertools.count(1900000000002)
            self._object_ids = itertools.count(653915434212)
            self._invocations = itertools.count(8350205582)
            self._minute, self._used = 0, 0

    def fail_next(self, n: int = 1, status: int = 503, body: str = "Service Unavailable", *,
                  content_type: str = "text/plain", headers: dict[str, str] | None = None,
                  delay: float = 0.0, match: Callable[[RecordedRequest], bool] | None = None,
                  applied: bool = False) -> None:
        """The next ``n`` requests (that ``match`` picks, if given) get this answer;
        ``applied``: the request is carried out first, and only its answer fails."""
        with self._lock:
            for _ in range(n):
                self._scripted.append(Scripted(status, body, content_type, dict(headers or {}), delay,
                                               match, applied))

    def slow_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """The next ``n`` requests are carried out, then answered ``seconds`` late."""
        with self._lock:
            self._slow.extend([seconds] * n)

    def rate_limit_next(self, n: int = 1, retry_after: str | None = "1") -> None:
        """The next ``n`` requests get Zendesk's plain-text 429."""
        headers = {"X-Rate-Limit-Remaining": "0"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        self.fail_next(n, 429, "Number of allowed API requests per minute exceeded",
                       headers=headers)

    def requests_for(self, method: str, path_prefix: str = "/api/v2/") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- the agent's side --

    def agent_reply(self, ticket_id: int | str, text: str, *, author_name: str = "Mette Support",
                    author_id: int = AGENT_ID, secret: str | None = None) -> WebhookCall:
        """An agent's public reply in the Agent Workspace, and the webhook it triggers."""
        with self._lock:
            ticket = self.tickets[int(ticket_id)]
            self._append_comment(ticket, {"body": text, "public": True}, author_id, "web")
            invocation = str(next(self._invocations))
        body = json.dumps({
            "event": "agent_public_comment", "ticket_id": str(ticket["id"]),
            "external_id": ticket.get("external_id") or "", "comment": text,
            "comment_html": f"<p>{html.escape(text)}</p>", "author_name": author_name,
            "author_id": str(author_id),
        }, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = _now()
        key = (secret if secret is not None else self.webhook_secret).encode()
        signature = base64.b64encode(
            hmac.new(key, timestamp.encode() + body, hashlib.sha256).digest()).decode()
        call = WebhookCall({
            "content-type": "application/json",
            "x-zendesk-account-id": self.account_id,
            "x-zendesk-webhook-id": self.webhook_id,
            "x-zendesk-webhook-invocation-id": invocation,
            "x-zendesk-webhook-signature": signature,
            "x-zendesk-webhook-signature-timestamp": timestamp,
        }, body)
        self.webhooks_sent.append(call)
        return call

    def agent_replies(self, ticket_id: int | str, text: str, webhook_url: str, *,
                      client: httpx.Client | None = None, twice: bool = False,
                      **reply: Any) -> list[httpx.Response]:
        """``agent_reply`` and POST its webhook; ``twice`` re-delivers the same invocation.
        ``client`` may be a Starlette ``TestClient`` (then ``webhook_url`` may be a path)."""
        call = self.agent_reply(ticket_id, text, **reply)
        with contextlib.ExitStack() as stack:
            http = client or stack.enter_context(httpx.Client(timeout=10))
            return [http.post(webhook_url, content=call.body, headers=call.headers)
                    for _ in range(2 if twice else 1)]

    async def agent_replies_async(self, ticket_id: int | str, text: str, webhook_url: str, *,
                                  client: httpx.AsyncClient | None = None, twice: bool = False,
                                  **reply: Any) -> list[httpx.Response]:
        call = self.agent_reply(ticket_id, text, **reply)
        async with contextlib.AsyncExitStack() as stack:
            http = client or await stack.enter_async_context(httpx.AsyncClient(timeout=10))
            return [await http.post(webhook_url, content=call.body, headers=call.headers)
                    for _ in range(2 if twice else 1)]

    # -- plumbing shared by every endpoint --

    def _route(self, path: str, handler: Callable[..., Response], methods: list[str]) -> list[Route]:
        endpoint = self._guard(handler)
        return [Route(path, endpoint, methods=methods), Route(path + ".json", endpoint, methods=methods)]

    def _guard(self, handler: Callable[..., Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            recorded = RecordedRequest(request.method, request.url.path, dict(request.query_params),
                                       {k.lower(): v for k, v in request.headers.items()}, body)
            with self._lock:
                self.requests.append(recorded)
                scripted = self._take_scripted(recorded)
                down = self.down
                delay = self._slow.popleft() if self._slow and not (down or scripted) else self.latency
            if down:
                return self._limited(PlainTextResponse("Service Unavailable", 503))
            if scripted is not None and not scripted.applied:
                return await self._scripted_answer(scripted)
            if not self._authorized(request):
                return self._limited(JSONResponse({"error": "Couldn't authenticate you"}, 401))
            try:
                payload = json.loads(body) if body else None
            except ValueError:
                return self._limited(PlainTextResponse("Bad Request: invalid JSON", 400))
            with self._lock:
                response = handler(request, payload)
            if scripted is not None:  # carried out; the answer is lost
                return await self._scripted_answer(scripted)
            # Slow answers happen after the work is done: a client that times out has
            # still made the change (as a real, slow server would).
            if delay:
                await asyncio.sleep(delay)
            return self._limited(response)

        return endpoint

    def _take_scripted(self, request: RecordedRequest) -> Scripted | None:
        """The first scripted answer meant for this request (called under the lock)."""
        for i, scripted in enumerate(self._scripted):
            if scripted.match is None or scripted.match(request):
                del self._scripted[i]
                return scripted
        return None

    async def _scripted_answer(self, scripted: Scripted) -> Response:
        await asyncio.sleep(scripted.delay)
        return self._limited(Response(scripted.body, scripted.status, scripted.headers,
                                      media_type=scripted.content_type))

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self.oauth_token is not None and hmac.compare_digest(value, self.oauth_token)
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return user == f"{self.email}/token" and password == self.token

    def _limited(self, response: Response) -> Response:
        minute = int(time.time() // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._used = minute, 0
            self._used += 1
            remaining = max(0, RATE_LIMIT - self._used)
        reset = str(60 - int(time.time()) % 60)
        response.headers.setdefault("X-Rate-Limit", str(RATE_LIMIT))
        response.headers.setdefault("X-Rate-Limit-Remaining", str(remaining))
        response.headers.setdefault("ratelimit-limit", str(RATE_LIMIT))
        response.headers.setdefault("ratelimit-remaining", str(remaining))
        response.headers.setdefault("ratelimit-reset", reset)
        return response

    # -- endpoints (called under the lock, never awaiting) --

    def _no_endpoint(self, request: Request, payload: Any) -> Response:
        return JSONResponse({"error": "InvalidEndpoint", "description": "Not found"}, 404)

    def _tickets(self, request: Request, payload: Any) -> Response:
        if request.method == "GET":
            wanted = request.query_params.get("external_id")
            tickets = [t for t in self.tickets.values()
                       if wanted is None or t.get("external_id") == wanted]
            response = JSONResponse({"tickets": tickets, "next_page": None,
                                     "previous_page": None, "count": len(tickets)})
            response.headers["zendesk-ratelimit-tickets-index"] = "total=100; remaining=99; resets=41"
            return response
        return self._create(request, payload)

    def _create(self, request: Request, payload: Any) -> Response:
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if key is not None:
            seen = self._idempotency.get(key)
            if seen is not None and time.monotonic() - seen.at > self.idempotency_ttl:
                del self._idempotency[key]
                seen = None
            if seen is not None and seen.fingerprint != fingerprint:
                return JSONResponse({"error": "IdempotentRequestError", "description":
                                     "Request parameters don't match the given idempotency key"},
                                    400, {"x-idempotency-lookup": "hit"})
            if seen is not None:
                return self._created(seen.ticket_id, seen.body, "hit")
        ticket_in = payload.get("ticket") if isinstance(payload, dict) else None
        if not isinstance(ticket_in, dict):
            return JSONResponse({"error": "InvalidValue",
                                 "description": "ticket parameter is missing"}, 400)
        details = self._invalid(ticket_in)
        if details:
            return JSONResponse({"error": "RecordInvalid", "description": "Record validation errors",
                                 "details": details}, 422)
        body = self._new_ticket(ticket_in)
        if key is not None:
            self._idempotency[key] = _Remembered(fingerprint, time.monotonic(),
                                                 body["ticket"]["id"], json.loads(json.dumps(body)))
        return self._created(body["ticket"]["id"], body, "miss" if key is not None else None)

    def _created(self, ticket_id: int, body: dict[str, Any], lookup: str | None) -> Response:
        headers = {"Location": f"{self.url}/api/v2/tickets/{ticket_id}.json"}
        if lookup:
            headers["x-idempotency-lookup"] = lookup
        return JSONResponse(body, 201, headers)

    def _invalid(self, ticket: dict[str, Any]) -> dict[str, Any]:
        details: dict[str, Any] = {}
        comment = ticket.get("comment")
        if not isinstance(comment, dict) or not str(
                comment.get("body") or comment.get("html_body") or "").strip():
            details["description"] = _problem("Description: cannot be blank", "BlankValue")
        requester = ticket.get("requester")
        if requester is not None:
            email = requester.get("email") if isinstance(requester, dict) else None
            if not email:  # [inferred wording]: a new end-user needs an address here
                details["requester"] = _problem("Requester: Email is required", "BlankValue")
            elif not EMAIL.match(str(email)):
                details["requester"] = _problem(f"Requester: {email} is invalid")
        for name, allowed in (("priority", PRIORITIES), ("type", TYPES), ("status", STATUSES)):
            if ticket.get(name) is not None and ticket[name] not in allowed:
                details[name] = _problem(f"{name.capitalize()}: {ticket[name]} is not valid")
        tags = ticket.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            details["tags"] = _problem("Tags: must be a list of strings")
        return details

    def _new_ticket(self, spec: dict[str, Any]) -> dict[str, Any]:
        ticket_id, now = next(self._ids), _now()
        requester = spec.get("requester")
        if isinstance(requester, dict):
            email = str(requester["email"])  # a known user keeps their name [inferred]
            requester_id = self._user(email, None if email.lower() in self.users
                                      else requester.get("name"))["id"]
        else:
            requester_id = int(spec.get("requester_id") or API_USER_ID)
        comment = spec["comment"]
        ticket: dict[str, Any] = {
            "url": f"{self.url}/api/v2/tickets/{ticket_id}.json", "id": ticket_id,
            "external_id": spec.get("external_id"), "via": _via("api"),
            "created_at": now, "updated_at": now, "type": spec.get("type"),
            "subject": spec.get("subject"), "raw_subject": spec.get("subject"),
            "description": _plain(comment), "priority": spec.get("priority"),
            "status": spec.get("status") or "new", "recipient": None,
            "requester_id": requester_id, "submitter_id": API_USER_ID,
            "assignee_id": spec.get("assignee_id"), "organization_id": None,
            "group_id": spec.get("group_id"), "collaborator_ids": [], "follower_ids": [],
            "email_cc_ids": [], "forum_topic_id": None, "problem_id": None,
            "has_incidents": False, "is_public": bool(comment.get("public", True)),
            "due_at": None, "tags": sorted(set(spec.get("tags") or [])),
            "custom_fields": spec.get("custom_fields") or [],
            "satisfaction_rating": None, "sharing_agreement_ids": [],
            "fields": spec.get("custom_fields") or [], "followup_ids": [],
            "ticket_form_id": None, "brand_id": None, "allow_channelback": False,
            "allow_attachments": True,
        }
        self.tickets[ticket_id] = ticket
        self.comments[ticket_id] = []
        # [inferred] the requester authors the first comment.
        audit = self._append_comment(ticket, comment, comment.get("author_id") or requester_id, "api")
        audit["events"] += [
            {"id": next(self._object_ids), "type": "Create", "value": ticket["subject"],
             "field_name": "subject"},
            {"id": next(self._object_ids), "type": "Create", "value": ticket["status"],
             "field_name": "status"},
        ]
        return {"ticket": ticket, "audit": audit}

    def _append_comment(self, ticket: dict[str, Any], spec: dict[str, Any], author_id: int,
                        channel: str) -> dict[str, Any]:
        """Store a comment and return the audit that carries it."""
        now, audit_id = _now(), next(self._object_ids)
        comment = {
            "id": next(self._object_ids), "type": "Comment", "author_id": int(author_id),
            "body": _plain(spec), "html_body": _html(spec), "plain_body": _plain(spec),
            "public": bool(spec.get("public", True)), "attachments": [], "audit_id": audit_id,
            "via": _via(channel), "created_at": now, "metadata": {"system": {}, "custom": {}},
        }
        self.comments[ticket["id"]].append(comment)
        ticket["updated_at"] = now
        return {"id": audit_id, "ticket_id": ticket["id"], "created_at": now,
                "author_id": int(author_id), "metadata": {"system": {}, "custom": {}},
                "events": [{k: comment[k] for k in ("id", "type", "author_id", "body", "html_body",
                                                     "plain_body", "public", "attachments",
                                                     "audit_id")}],
                "via": _via(channel)}

    def _ticket(self, request: Request, payload: Any) -> Response:
        ticket = self.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return JSONResponse({"error": "RecordNotFound", "description": "Not found"}, 404)
        if request.method == "GET":
            return JSONResponse({"ticket": ticket})
        change = payload.get("ticket") if isinstance(payload, dict) else None
        if not isinstance(change, dict):
            return JSONResponse({"error": "InvalidValue",
                                 "description": "ticket parameter is missing"}, 400)
        details: dict[str, Any] = {}
        comment = change.get("comment")
        if comment is not None and (not isinstance(comment, dict) or not str(
                comment.get("body") or comment.get("html_body") or "").strip()):
            details["comment"] = _problem("Comment: cannot be blank", "BlankValue")
        if comment is not None and len(self.comments[ticket["id"]]) >= MAX_COMMENTS:
            details["base"] = _problem("Ticket has reached the maximum number of comments")
        for name, allowed in (("priority", PRIORITIES), ("status", STATUSES)):
            if change.get(name) is not None and change[name] not in allowed:
                details[name] = _problem(f"{name.capitalize()}: {change[name]} is not valid")
        if details:
            return JSONResponse({"error": "RecordInvalid", "description": "Record validation errors",
                                 "details": details}, 422)
        if "requester_id" in change and change["requester_id"] not in self.user_records:
            details["requester"] = _problem("Requester: is invalid")  # [inferred wording]
            return JSONResponse({"error": "RecordInvalid", "description": "Record validation errors",
                                 "details": details}, 422)
        for name in ("status", "priority", "subject", "assignee_id", "group_id", "requester_id"):
            if name in change:
                ticket[name] = change[name]
        if "tags" in change:
            ticket["tags"] = sorted(set(change["tags"]))
        if comment is not None:
            audit = self._append_comment(ticket, comment, comment.get("author_id") or API_USER_ID,
                                         "api")
        else:
            ticket["updated_at"] = _now()
            audit = {"id": next(self._object_ids), "ticket_id": ticket["id"],
                     "created_at": ticket["updated_at"], "author_id": API_USER_ID,
                     "metadata": {"system": {}, "custom": {}}, "events": [], "via": _via("api")}
        return JSONResponse({"ticket": ticket, "audit": audit})

    def _user(self, email: str, name: str | None, role: str | None = None) -> dict[str, Any]:
        """The user with this email, made (an end user unless ``role``) when new."""
        key = email.lower()
        if key in self.users:
            user = self.user_records[self.users[key]]
            changed = {k: v for k, v in (("name", name), ("role", role)) if v is not None}
            if changed:
                user.update(changed, updated_at=_now())
            return user
        user_id, now = next(self._user_ids), _now()
        self.users[key] = user_id
        user = self.user_records[user_id] = {
            "id": user_id, "url": f"{self.url}/api/v2/users/{user_id}.json", "name": name,
            "email": email, "created_at": now, "updated_at": now, "time_zone": "Copenhagen",
            "iana_time_zone": "Europe/Copenhagen", "phone": None, "shared_phone_number": None,
            "photo": None, "locale_id": 1, "locale": "en-US", "organization_id": None,
            "role": role or "end-user", "verified": False, "external_id": None, "tags": [],
            "alias": "", "active": True, "shared": False, "shared_agent": False,
            "last_login_at": None, "two_factor_auth_enabled": False, "signature": None,
            "details": "", "notes": "", "role_type": None, "custom_role_id": None,
            "moderator": False, "ticket_restriction": "requested", "only_private_comments": False,
            "restricted_agent": True, "suspended": False, "default_group_id": None,
            "report_csv": False, "user_fields": {},
        }
        return user

    def _create_user(self, request: Request, payload: Any) -> Response:
        spec = payload.get("user") if isinstance(payload, dict) else None
        if not isinstance(spec, dict):
            return JSONResponse({"error": "InvalidValue", "description": "user parameter is missing"}, 400)
        email, name = str(spec.get("email") or ""), spec.get("name")
        details: dict[str, Any] = {}
        if not EMAIL.match(email):  # [inferred wording]
            details["email"] = _problem(f"Email: {email} is not properly formatted", "InvalidFormat")
        elif email.lower() in self.users:  # [inferred wording]
            details["email"] = _problem(f"Email: {email} is already being used by another user", "DuplicateValue")
        if not str(name or "").strip():
            details["name"] = _problem("Name: is too short (minimum is 1 character)", "TooShort")
        if details:
            return JSONResponse({"error": "RecordInvalid", "description": "Record validation errors",
                                 "details": details}, 422)
        return JSONResponse({"user": self._user(email, name, spec.get("role"))}, 201)

    def _search_users(self, request: Request, payload: Any) -> Response:
        """``query=email:ADDRESS`` (or a bare address): the users with that email."""
        query = request.query_params.get("query", "").strip()
        email = query.removeprefix("email:").strip('"').lower()
        users = [self.user_records[self.users[email]]] if email in self.users else []
        return JSONResponse({"users": users, "next_page": None, "previous_page": None, "count": len(users)})

    def _comments(self, request: Request, payload: Any) -> Response:
        ticket_id = request.path_params["ticket_id"]
        if ticket_id not in self.tickets:
            return JSONResponse({"error": "RecordNotFound", "description": "Not found"}, 404)
        comments = list(self.comments[ticket_id])
        if request.query_params.get("sort_order") == "desc":
            comments.reverse()
        return JSONResponse({"comments": comments, "next_page": None, "previous_page": None,
                             "count": len(comments)})


@contextlib.contextmanager
def running_fake_zendesk(**options: Any) -> Iterator[FakeZendesk]:
    """A FakeZendesk served by uvicorn on a free 127.0.0.1 port in a background thread."""
    fake = FakeZendesk(**options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(fake.app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="fake-zendesk")
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Zendesk did not start")
            time.sleep(0.01)
        yield fake
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
