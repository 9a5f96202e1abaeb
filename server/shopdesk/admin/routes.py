"""The built-in inbox's pages: sign in and out, the list, one conversation, reply and close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog
from jinja2 import Environment
from sqlalchemy import insert, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ..db.models import AdminUser, AuditEntry, Conversation, utcnow
from ..settings import Settings
from .accounts import authenticate, may_reply
from .auth import OperatorSessions, csrf_token, csrf_valid, safe_next, same_origin
from .inbox import TABS, aware, conversation, inbox, iso, reason_label, tab_counts
from .live import InboxLive

if TYPE_CHECKING:
    from ..app import Services

log = structlog.get_logger(__name__)

# The pages load nothing but their own stylesheet and script, and no other site may frame them.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ROLE_LABELS = {"shopper": "Shopper", "agent": "Assistant", "human": "Staff", "system": "System"}

Page = Callable[["InboxPages", Request, AdminUser], Awaitable[Response]]


def signed_in(page: Page) -> Callable[[InboxPages, Request], Awaitable[Response]]:
    """Only for a signed-in operator; anyone else is sent to the sign-in page."""
    async def guarded(self: InboxPages, request: Request) -> Response:
        user = await self.operators.user(request)
        if user is None:
            target = request.url.path if request.method == "GET" else "/admin/inbox"
            return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
        return await page(self, request, user)
    return guarded


class InboxPages:
    def __init__(self, services: Services, pages: Environment) -> None:
        self.settings = services.settings
        self.sessions = services.sessions
        self.conversations = services.conversations
        self.operators = OperatorSessions(services.settings.session_secret, services.sessions)
        self.pages = pages

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.pages.get_template(f"admin/{name}").render(
            csrf=csrf_token(request), reason_label=reason_label, role_label=ROLE_LABELS.get,
            waited=waited, clock=clock, iso=iso, now=datetime.now(UTC), **context)
        return HTMLResponse(html, status_code=status_code, headers=HEADERS)

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/admin/inbox", status_code=303)

    async def login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            if await self.operators.user(request) is not None:
                return RedirectResponse(target, status_code=303)
            return self.render(request, "login.html", next=target, email="")
        form = await request.form()
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")))
        if not csrf_valid(request, form) or not same_origin(request, self.settings.public_url):
            return self.render(request, "login.html", 403, next=target, email=email,
                               error="The form had expired. Please sign in again.")
        user = await authenticate(self.sessions, email, password)
        if user is None:
            log.info("admin.login_refused")
            return self.render(request, "login.html", 400, next=target, email=email,
                               error="Wrong email or password.")
        self.operators.sign_in(request, user)
        log.info("admin.login", operator=user.id)
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if csrf_valid(request, form):
            self.operators.sign_out(request)
        return RedirectResponse("/admin/login", status_code=303)

    @signed_in
    async def queue(self, request: Request, user: AdminUser) -> Response:
        tab = request.query_params.get("tab", "open")
        if tab not in TABS:
            tab = "open"
        rows = await inbox(self.sessions, TABS[tab])
        return self.render(request, "inbox.html", user=user, tab=tab, rows=rows,
                           counts=await tab_counts(self.sessions))

    @signed_in
    async def show(self, request: Request, user: AdminUser) -> Response:
        return await self._conversation_page(request, user)

    async def _conversation_page(self, request: Request, user: AdminUser, error: str | None = None,
                                 draft: str = "", status_code: int = 200) -> Response:
        view = await conversation(self.sessions, request.path_params["conversation_id"])
        if view is None:
            return self.render(request, "missing.html", 404, user=user)
        return self.render(request, "conversation.html", status_code, user=user, view=view,
                           may_reply=may_reply(user), error=error, draft=draft,
                           max_chars=self.settings.max_message_chars,
                           mail_on=self.conversations.mail_grace_s is not None)

    @signed_in
    async def reply(self, request: Request, user: AdminUser) -> Response:
        conversation_id = request.path_params["conversation_id"]
        form = await request.form()
        refused = await self._refused(request, user, form)
        if refused is not None:
            return refused
        text = str(form.get("text", "")).strip()
        status = await self._status(conversation_id)
        problem, code = None, 200
        if status is None:
            return await self._conversation_page(request, user)  # its "no such conversation"
        if status != "handoff":
            problem, code = "The conversation is not with a person any more.", 409
        elif not text:
            problem, code = "Write a reply first.", 400
        elif len(text) > self.settings.max_message_chars:
            problem, code = f"A reply is at most {self.settings.max_message_chars} characters.", 400
        if problem is not None:
            return await self._conversation_page(request, user, problem, text, code)
        author = user.name or user.email
        await self.conversations.add_human_message(conversation_id, author, text, email_if_unseen=True)
        await self._audit(user, conversation_id, "human_reply")
        return RedirectResponse(f"/admin/inbox/{quote(conversation_id)}#reply", status_code=303)

    @signed_in
    async def close(self, request: Request, user: AdminUser) -> Response:
        conversation_id = request.path_params["conversation_id"]
        form = await request.form()
        refused = await self._refused(request, user, form)
        if refused is not None:
            return refused
        if await self.conversations.close(conversation_id):
            await self._audit(user, conversation_id, "close_conversation")
        return RedirectResponse("/admin/inbox", status_code=303)

    async def _refused(self, request: Request, user: AdminUser, form: Any) -> Response | None:
        if not may_reply(user):
            return self.render(request, "refused.html", 403, user=user,
                               message="Your role may read conversations, not answer or close them.")
        if not csrf_valid(request, form) or not same_origin(request, self.settings.public_url):
            return self.render(request, "refused.html", 403, user=user,
                               message="The form had expired. Go back, reload the page and try again.")
        return None

    async def _status(self, conversation_id: str) -> str | None:
        async with self.sessions() as db:
            return (await db.execute(select(Conversation.status).where(
                Conversation.id == conversation_id))).scalar()  # type: ignore[arg-type]

    async def _audit(self, user: AdminUser, conversation_id: str, action: str) -> None:
        async with self.sessions() as db:
            await db.execute(insert(AuditEntry).values(
                at=utcnow(), conversation_id=conversation_id, actor=f"human:{user.email}",
                action=action, outcome="ok", detail={"operator": user.id}))
            await db.commit()


def admin_routes(services: Services, pages: Environment) -> list[BaseRoute]:
    """The routes to mount at ``/admin``."""
    if services.settings.session_secret == Settings.model_fields["session_secret"].default:
        log.warning("admin.default_session_secret",
                    hint="set SHOPDESK_SESSION_SECRET to a long random value before going live")
    inbox_pages = InboxPages(services, pages)
    live = InboxLive(inbox_pages.operators, services.conversations.hub, services.settings.public_url)

    def bound(method: Callable[..., Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await method(inbox_pages, request)
        return endpoint

    return [
        Route("/", bound(InboxPages.home)),
        Route("/login", bound(InboxPages.login), methods=["GET", "POST"]),
        Route("/logout", bound(InboxPages.logout), methods=["POST"]),
        Route("/inbox", bound(InboxPages.queue)),
        Route("/inbox/{conversation_id}", bound(InboxPages.show)),
        Route("/inbox/{conversation_id}/reply", bound(InboxPages.reply), methods=["POST"]),
        Route("/inbox/{conversation_id}/close", bound(InboxPages.close), methods=["POST"]),
        WebSocketRoute("/live", live.handle),
    ]


def clock(at: datetime) -> str:
    """A UTC fallback; admin.js shows the operator's own time zone."""
    return aware(at).astimezone(UTC).strftime("%d %b %H:%M UTC")


def waited(since: datetime | None, now: datetime) -> str:
    if since is None:
        return ""
    minutes = max(0, int((now - aware(since)).total_seconds() // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
