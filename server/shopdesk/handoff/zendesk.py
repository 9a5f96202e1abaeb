"""An async client for the Zendesk Support REST API, and the pure pieces around it.

Wire contract: /work/shared/contracts/outside-apis.md section 1. Three layers:

- ``build_ticket`` / ``build_internal_note``: pure functions from plain inputs to the
  bodies Zendesk wants (no database, no clock, deterministic so that an idempotent
  retry sends the very same body);
- ``ZendeskClient``: the few calls a hand-over needs, on httpx with retries (tenacity)
  and typed errors;
- ``verify_webhook``: the HMAC check for the trigger webhook an agent's reply sends us.

A hand-over is two calls, because a ticket is created with exactly one comment::

    ticket = await client.create_ticket(build_ticket(...), idempotency_key=key)
    if ticket.created:  # Zendesk answered ``x-idempotency-lookup: miss``
        await client.add_comment(ticket.id, build_internal_note(...), public=False)

``created`` is False when Zendesk replayed an earlier create with the same key, i.e. a
previous attempt already made the ticket (and, maybe, its note). An outbox that must
never lose the note, nor add it twice, keeps its own "note added" flag: it adds the note
while the flag is unset, once per try (``attempts=1``), and looks for it first
(``has_comment``) whenever an earlier try may have added it (see ``ZendeskDesk``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

log = structlog.get_logger(__name__)

PLACEHOLDER_DOMAIN = "visitors.shopdesk.invalid"
SUBJECT_MAX = 80
HIGH_PRIORITY_REASONS = frozenset({"negative_sentiment", "amount_over_limit"})
DEFAULT_RETRY_AFTER_S = 1.0
# Zendesk caps a comment body at 64 KB; stay well under it with the transcript.
NOTE_MAX_CHARS = 60_000
NOTE_HEADING = "Shopdesk hand-over (internal note)"  # the note's first line; looked for


# --- errors ---------------------------------------------------------------------------


class ZendeskError(Exception):
    """Zendesk said no. ``error``/``description`` come from its body (JSON or plain text)."""

    def __init__(self, status: int | None, error: str, description: str = "") -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{status} {error}: {description}" if description else f"{status} {error}")


class ZendeskAuthError(ZendeskError):
    """401: wrong e-mail, token or subdomain. Retrying will not help."""


class ZendeskNotFound(ZendeskError):
    """404 RecordNotFound, e.g. a ticket that was deleted."""


class ZendeskInvalid(ZendeskError):
    """422 RecordInvalid. ``details`` maps a field name (or ``base``) to its problems."""

    def __init__(self, status: int | None, error: str, description: str = "",
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(status, error, description)
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        problems = [p.get("description", "") for items in self.details.values()
                    if isinstance(items, list) for p in items if isinstance(p, dict)]
        return super().__str__() + (f" ({'; '.join(problems)})" if problems else "")


class ZendeskIdempotencyConflict(ZendeskError):
    """400 IdempotentRequestError: the key was used before with a different body."""


class ZendeskUnavailable(ZendeskError):
    """Zendesk did not answer usefully within the attempts; try again later.

    ``retry_after`` is Zendesk's own hint in seconds (from a 429/503), when it gave one.
    """

    def __init__(self, status: int | None, error: str, description: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(status, error, description)
        self.retry_after = retry_after


class _Transient(Exception):
    """One attempt failed in a way worth another attempt (internal to the retry loop)."""

    def __init__(self, status: int | None, error: str, description: str,
                 retry_after: float | None = None, *, unclear: bool) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status, self.error, self.description = status, error, description
        self.retry_after = retry_after
        self.unclear = unclear  # the request may have been carried out


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZendeskTicket:
    id: str
    requester_id: int | None
    status: str
    url: str
    external_id: str | None = None
    created: bool = False

    @classmethod
    def from_json(cls, ticket: Mapping[str, Any], *, created: bool = False) -> ZendeskTicket:
        return cls(id=str(ticket["id"]), requester_id=ticket.get("requester_id"),
                   status=str(ticket.get("status") or ""), url=str(ticket.get("url") or ""),
                   external_id=ticket.get("external_id"), created=created)


# --- the client -----------------------------------------------------------------------


class ZendeskClient:
    """Zendesk Support API with an API token (HTTP Basic ``{email}/token`` : token).

    Timeouts, connection errors and 5xx are retried with exponential backoff and full
    jitter (``backoff_base`` doubling, capped at ``backoff_max``); a 429 waits exactly
    its ``Retry-After``. All of these share ``max_attempts``; when they run out the call
    raises ``ZendeskUnavailable`` so that the caller's outbox retries later. A
    ``Retry-After`` longer than ``max_retry_after`` is not slept in-process either: it
    raises ``ZendeskUnavailable`` at once, carrying the hint. Other 4xx raise at once.

    ``add_comment`` is retried like the rest, so a timeout after Zendesk stored the
    comment can store it twice: delivery is at least once (Zendesk's idempotency keys
    are documented for ticket creation only).
    """

    def __init__(self, base_url: str, email: str, token: str, *, timeout: float = 10.0,
                 max_attempts: int = 5, transport: httpx.AsyncBaseTransport | None = None,
                 backoff_base: float = 0.2, backoff_max: float = 5.0,
                 max_retry_after: float = 60.0) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        root = base_url.rstrip("/")
        root = root.removesuffix("/api/v2")
        self.base_url = root
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._http = httpx.AsyncClient(
            base_url=root, auth=httpx.BasicAuth(f"{email}/token", token),
            headers={"Accept": "application/json", "User-Agent": "shopdesk"},
            timeout=httpx.Timeout(timeout), transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_ticket(self, ticket: Mapping[str, Any], idempotency_key: str) -> ZendeskTicket:
        """POST /api/v2/tickets.json. ``ticket`` is the inner object (``build_ticket``'s
        result); an already wrapped ``{"ticket": {...}}`` is accepted as well."""
        body = dict(ticket) if set(ticket) == {"ticket"} else {"ticket": dict(ticket)}
        response, failures = await self._call("POST", "/api/v2/tickets.json", json=body,
                                              headers={"Idempotency-Key": idempotency_key})
        lookup = response.headers.get("x-idempotency-lookup", "").lower()
        # A hit that answers our own earlier attempt of this call (one that may have
        # reached Zendesk but got no answer) replays *our* creation: still new to us.
        # No header at all means no lookup was made, so the 201 is a new ticket.
        created = lookup != "hit" or any(f.unclear for f in failures)
        ticket_json = _json(response)["ticket"]
        log.info("zendesk.ticket", ticket=ticket_json.get("id"), lookup=lookup, created=created)
        return ZendeskTicket.from_json(ticket_json, created=created)

    async def add_comment(self, ticket_id: str, body: str, *, public: bool = True,
                          author_id: int | str | None = None, attempts: int | None = None) -> None:
        """PUT /api/v2/tickets/{id}.json with one comment; ``public=False`` is an
        internal note, ``author_id`` (e.g. the requester) makes it that user's.
        ``attempts=1``: no retry here, for a caller that looks before it adds again."""
        comment: dict[str, Any] = {"body": body, "public": public}
        if author_id is not None:
            comment["author_id"] = _user_id(author_id)
        await self._request("PUT", f"/api/v2/tickets/{_ticket_path_id(ticket_id)}.json",
                            json={"ticket": {"comment": comment}}, attempts=attempts)

    async def has_comment(self, ticket_id: str, starting: str, *, public: bool) -> bool:
        """Whether the ticket has a (public or private) comment whose body starts so.

        GET /api/v2/tickets/{id}/comments.json, oldest first: what we look for (the
        hand-over's note) comes right after the first comment."""
        url: str | None = f"/api/v2/tickets/{_ticket_path_id(ticket_id)}/comments.json"
        params: dict[str, str] | None = {"sort_order": "asc"}
        for _ in range(10):  # 100 a page; the note is on the first
            page = _json(await self._request("GET", url or "", params=params))
            if any(bool(c.get("public")) == public and str(c.get("body") or "").startswith(starting)
                   for c in page.get("comments") or []):
                return True
            next_page = page.get("next_page")
            if not next_page or not str(next_page).startswith(self.base_url):
                return False
            url, params = str(next_page), None
        return False

    async def end_user_for(self, name: str, email: str) -> int:
        """The id of the user with this email: found (``GET /api/v2/users/search.json``,
        left exactly as it is), else made (``POST /api/v2/users.json``, an end user).

        Not ``create_or_update``: that would rename whoever has the address, and a shopper
        may type anybody's, an agent's even. No ``role`` is ever sent."""
        found = _json(await self._request("GET", "/api/v2/users/search.json",
                                          params={"query": f"email:{email}"}))
        for user in found.get("users") or []:
            if str(user.get("email") or "").lower() == email.lower():
                return int(user["id"])
        response = await self._request("POST", "/api/v2/users.json",
                                       json={"user": {"name": name, "email": email}})
        return int(_json(response)["user"]["id"])

    async def set_requester(self, ticket_id: str, requester_id: int | str) -> ZendeskTicket:
        """PUT /api/v2/tickets/{id}.json with ``requester_id``: the ticket's requester
        (who Zendesk emails the agents' public replies to) becomes that user."""
        response = await self._request("PUT", f"/api/v2/tickets/{_ticket_path_id(ticket_id)}.json",
                                       json={"ticket": {"requester_id": _user_id(requester_id)}})
        return ZendeskTicket.from_json(_json(response)["ticket"])

    async def find_by_external_id(self, external_id: str) -> list[ZendeskTicket]:
        """GET /api/v2/tickets.json?external_id=: external ids are not unique, hence a list."""
        found: list[ZendeskTicket] = []
        url: str | None = "/api/v2/tickets.json"
        params: dict[str, str] | None = {"external_id": external_id}
        for _ in range(20):  # pages of 100; more than that is not one conversation's
            response = await self._request("GET", url or "", params=params)
            page = _json(response)
            found += [ZendeskTicket.from_json(t) for t in page.get("tickets") or []]
            next_page = page.get("next_page")
            if not next_page or not str(next_page).startswith(self.base_url):
                break
            url, params = str(next_page), None
        return found

    async def latest_public_comment(self, ticket_id: str) -> dict[str, Any] | None:
        """The newest public comment (the authoritative text behind a webhook), or None."""
        response = await self._request(
            "GET", f"/api/v2/tickets/{_ticket_path_id(ticket_id)}/comments.json",
            params={"sort_order": "desc"})
        for comment in _json(response).get("comments") or []:
            if comment.get("public"):
                return dict(comment)
        return None

    # -- one request with retries --

    async def _request(self, method: str, url: str, *, json: Any = None,
                       params: Mapping[str, str] | None = None,
                       attempts: int | None = None) -> httpx.Response:
        response, _ = await self._call(method, url, json=json, params=params, attempts=attempts)
        return response

    async def _call(self, method: str, url: str, *, json: Any = None,
                    params: Mapping[str, str] | None = None,
                    headers: Mapping[str, str] | None = None, attempts: int | None = None,
                    ) -> tuple[httpx.Response, list[_Transient]]:
        """The response, and the failed attempts before it."""
        failures: list[_Transient] = []
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts or self.max_attempts), wait=self._wait,
            retry=retry_if_exception_type(_Transient), reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        response = await self._attempt(method, url, json=json, params=params,
                                                       headers=headers)
                    except _Transient as exc:
                        failures.append(exc)
                        raise
                    return response, failures
        except _Transient as exc:
            raise ZendeskUnavailable(exc.status, exc.error,
                                     f"{exc.description} (after {len(failures)} attempts)",
                                     exc.retry_after) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, method: str, url: str, *, json: Any,
                       params: Mapping[str, str] | None,
                       headers: Mapping[str, str] | None) -> httpx.Response:
        try:
            response = await self._http.request(method, url, json=json, params=params,
                                                headers=headers)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # Connecting failed: Zendesk never saw the request. Anything later: it may have.
            unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
            log.warning("zendesk.transport_error", method=method, url=url, error=repr(exc))
            raise _Transient(None, type(exc).__name__, str(exc) or repr(exc),
                             unclear=not unsent) from exc
        status = response.status_code
        if status < 400:
            return response
        error, description, details = _error_body(response)
        if status == 429 or status >= 500:
            hint = response.headers.get("retry-after")
            retry_after = retry_after_seconds(hint) if status == 429 or hint else None
            log.warning("zendesk.retryable", method=method, url=url, status=status,
                        retry_after=retry_after)
            if retry_after is not None and retry_after > self.max_retry_after:
                raise ZendeskUnavailable(status, error, description, retry_after)
            raise _Transient(status, error, description, retry_after, unclear=status != 429)
        if status == 401:
            raise ZendeskAuthError(status, error, description)
        if status == 404:
            raise ZendeskNotFound(status, error, description)
        if status == 422:
            raise ZendeskInvalid(status, error, description, details)
        if status == 400 and error == "IdempotentRequestError":
            raise ZendeskIdempotencyConflict(status, error, description)
        raise ZendeskError(status, error, description)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return exc.retry_after
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float:
    """``Retry-After`` as seconds: an integer, or an HTTP-date; 1 s when missing or bad."""
    if value is None or not value.strip():
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_body(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    """(error, description, details) from an error body that may well be plain text."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return response.reason_phrase or f"HTTP {response.status_code}", text.strip()[:500], {}
    error = data.get("error")
    description = data.get("description") or ""
    if isinstance(error, dict):  # some endpoints send {"error": {"title", "message"}}
        error, description = error.get("title"), description or error.get("message") or ""
    details = data.get("details")
    return (str(error or response.reason_phrase), str(description),
            details if isinstance(details, dict) else {})


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise ZendeskError(response.status_code, "InvalidResponse",
                           response.text[:200]) from exc
    if not isinstance(data, dict):
        raise ZendeskError(response.status_code, "InvalidResponse", "not a JSON object")
    return data


def _user_id(user_id: int | str) -> int | str:
    return int(user_id) if str(user_id).isdigit() else user_id


def _ticket_path_id(ticket_id: str | int) -> str:
    value = str(ticket_id)
    if not value.isdigit():
        raise ValueError(f"not a Zendesk ticket id: {ticket_id!r}")
    return value


# --- building the hand-over -----------------------------------------------------------


def build_ticket(*, conversation_id: str, reason: str, scenario: str | None,
                 first_message: str, last_message: str, name: str | None = None,
                 email: str | None = None, placeholder_domain: str = PLACEHOLDER_DOMAIN,
                 extra_tags: Iterable[str] = ()) -> dict[str, Any]:
    """The inner ``ticket`` object of a create call, from plain inputs.

    The shopper's last message becomes the first, public comment; the transcript and
    summary follow as an internal note (``build_internal_note``). Deterministic: the
    same inputs give the same body, which an idempotent retry needs.
    """
    short = hashlib.sha256(conversation_id.encode()).hexdigest()[:4]
    if email:
        requester = {"name": (name or email.split("@")[0]).strip()[:255], "email": email}
    else:
        # Zendesk will not create an end-user without an e-mail: use one that can never
        # receive mail (RFC 2606 ``.invalid``) and is stable per conversation.
        local = re.sub(r"[^A-Za-z0-9._-]", "-", conversation_id)[:60] or short
        requester = {"name": (name or f"Chat visitor {short}").strip()[:255],
                     "email": f"chat-{local}@{placeholder_domain}"}
    body = last_message.strip()
    subject = ticket_subject(scenario, first_message)
    tags = ["shopdesk", *(_tag(t) for t in (scenario, reason, *extra_tags) if t)]
    return {
        "subject": subject,
        "comment": {"body": body or first_message.strip() or subject, "public": True},
        "requester": requester,
        "tags": list(dict.fromkeys(t for t in tags if t)),
        "priority": "high" if reason in HIGH_PRIORITY_REASONS else "normal",
        "external_id": conversation_id,
    }


def ticket_subject(scenario: str | None, first_message: str, limit: int = SUBJECT_MAX) -> str:
    """``"Order status: Where is my order #1042…"``, at most ``limit`` characters."""
    label = (scenario or "chat").replace("_", " ").replace("-", " ").strip().capitalize()
    words = " ".join(first_message.split())
    if not words:
        return label[:limit]
    subject = f"{label}: {words}"
    if len(subject) <= limit:
        return subject
    cut = subject[: limit - 1]
    if " " in cut[len(label) + 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def build_internal_note(transcript: Iterable[tuple[str, str, str]],
                        summary: Mapping[str, Any] | str, console_url: str | None,
                        max_chars: int = NOTE_MAX_CHARS) -> str:
    """The agent-only note: summary, a link to the console, then the transcript.

    Add it with ``add_comment(ticket.id, note, public=False)`` after ``create_ticket``
    (see the module docstring for adding it exactly once).
    When the transcript is too long its oldest lines are dropped, not the newest.
    """
    head = [NOTE_HEADING, ""]
    if isinstance(summary, str):
        head += ["Summary:", summary.strip() or "-"]
    else:
        head.append("Summary:")
        for key, value in summary.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            head.append(f"- {str(key).replace('_', ' ')}: {shown}")
    if console_url:
        head += ["", f"Conversation in the Shopdesk console: {console_url}"]
    head += ["", "Transcript (UTC):"]
    lines = [f"[{at}] {_speaker(role)}: {text.strip()}" for role, text, at in transcript]
    budget = max_chars - sum(len(h) + 1 for h in head) - 60
    kept: list[str] = []
    for line in reversed(lines):
        if len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    kept.reverse()
    if len(kept) < len(lines):
        kept.insert(0, f"({len(lines) - len(kept)} earlier messages left out)")
    return "\n".join(head + (kept or ["(no messages)"]))


_SPEAKERS = {"shopper": "Shopper", "agent": "AI assistant", "assistant": "AI assistant",
             "human": "Support", "system": "System"}


def _speaker(role: str) -> str:
    return _SPEAKERS.get(role, role.capitalize())


def _tag(value: str) -> str:
    """Zendesk splits tags on spaces and lowercases them; make that explicit."""
    return re.sub(r"[^a-z0-9_\-:/]+", "_", value.strip().lower()).strip("_")


# --- webhooks -------------------------------------------------------------------------


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key = secret's UTF-8 bytes, message = timestamp + raw body))."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def verify_webhook(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``x-zendesk-webhook-signature`` matches, compared in constant time.

    Replay protection (old timestamps, repeated invocation ids) is the caller's job.
    """
    if not secret or not signature:
        return False
    expected = sign_webhook(secret, timestamp, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8"))
