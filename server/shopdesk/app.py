"""The Starlette application: chat socket, health, widget assets and the demo storefront."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .admin import admin_routes, session_middleware
from .agent import build_agent
from .conversations import ConversationService
from .db.engine import create_engine, session_factory
from .db.migrate import upgrade
from .engine import Agent
from .fanout import create_hub
from .handoff import build_desk
from .handoff.outbox import OutboxWorker
from .handoff.reply_mail import ReplyEmails
from .handoff.webhook import ZendeskWebhook
from .mail import MailConfigError, SmtpMailer
from .settings import Settings
from .store.connector import StoreConnector
from .store.fixture import FixtureConnector
from .store.models import localized
from .transport import ChatEndpoint
from .widget_assets import ensure_built

log = structlog.get_logger(__name__)
OUTBOX_STOP_S = 5.0  # on shutdown, how long a delivery under way (a call to Zendesk) may take to end


@dataclass
class Services:
    settings: Settings
    connector: StoreConnector
    conversations: ConversationService
    sessions: async_sessionmaker[AsyncSession]


def create_app(settings: Settings | None = None, connector: StoreConnector | None = None,
               agent: Agent | None = None, migrate: bool = True, freeze_gc: bool = False) -> Starlette:
    """``freeze_gc``: once started, what start-up made (the agent's models above all) is left
    out of the garbage collector's full passes, which would otherwise walk all of it, a
    pause of a tenth of a second or more each (``shopdesk serve``; one app per process)."""
    settings = settings or Settings()
    connector = connector or FixtureConnector.from_file(settings.store)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    hub = create_hub(settings.redis_url)
    mailer = _mailer(settings)
    conversations = ConversationService(sessions, None, hub,
                                        mail_grace_s=settings.mail_grace_s if mailer else None)
    desk = build_desk(settings)
    emails = ReplyEmails(sessions, mailer, settings.templates_dir, sender=settings.mail_from,
                         public_url=settings.public_url, allowed_origins=settings.allowed_origins)
    outbox = OutboxWorker(sessions, desk, conversations, settings.public_url,
                          poll_s=settings.outbox_poll_s, max_backoff_s=settings.outbox_max_backoff_s,
                          lease_s=settings.outbox_lease_s, emails=emails)
    services = Services(settings, connector, conversations, sessions)
    pages = Environment(
        loader=FileSystemLoader(settings.templates_dir), autoescape=select_autoescape(["html"])
    )
    ensure_built(settings.widget_dir, settings.static_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate:
            await asyncio.to_thread(upgrade, settings.database_url)
        conversations.agent = agent or await build_agent(settings, connector)
        emails.shop = await connector.store_info()
        await hub.start()
        worker = asyncio.create_task(outbox.run())
        if freeze_gc:
            gc.collect()
            gc.freeze()
        app.state.ready = True
        log.info("shopdesk.ready", store=str(settings.store), agent=settings.agent, desk=desk.name,
                 reply_emails=mailer is not None)
        yield
        outbox.stop()
        await asyncio.wait({worker}, timeout=OUTBOX_STOP_S)  # the delivery under way ends
        await _cancelled(worker)  # one that is still waiting on a desk after that is cut off
        await desk.aclose()
        await hub.stop()
        await conversations.aclose()
        await engine.dispose()

    async def healthz(request: Request) -> JSONResponse:
        if not getattr(request.app.state, "ready", False):
            return JSONResponse({"status": "starting"}, status_code=503)
        store = await connector.store_info()
        return JSONResponse({"status": "ok", "store": store.name, "agent": conversations.agent.name})

    async def storefront(request: Request) -> HTMLResponse:
        store = await connector.store_info()
        locale = request.query_params.get("lang")
        if locale not in store.locales:
            locale = store.default_locale
        key = request.path_params.get("product")
        context: dict[str, Any] = {
            "store": store, "products": await connector.products(), "locale": locale,
            "t": lambda text: localized(text, locale), "price": lambda a: _price(a, store.currency),
        }
        name = "storefront/index.html"
        if key is not None:
            product = await connector.product(key)
            if product is None:
                raise HTTPException(404, "no such product")
            context["product"] = product
            context["size_chart"] = (
                await connector.size_chart(product.size_chart) if product.size_chart else None
            )
            name = "storefront/product.html"
        return HTMLResponse(pages.get_template(name).render(**context))

    def asset(name: str) -> Any:
        async def serve(request: Request) -> Response:
            return FileResponse(settings.static_dir / name, media_type="text/javascript",
                                headers={"Cache-Control": "public, max-age=300"})
        return serve

    routes = [
        Route("/healthz", healthz),
        Route("/", storefront),
        Route("/products/{product}", storefront),
        Route("/widget.js", asset("widget.js")),
        Route("/chat.js", asset("chat.js")),
        WebSocketRoute("/ws", ChatEndpoint(settings, conversations).handle),
        Route("/integrations/zendesk/webhook",
              ZendeskWebhook(settings.zendesk_webhook_secret, conversations).handle,
              methods=["POST"]),
        # the operators' signed-in session is for /admin only: chat frames skip its wrapper
        Mount("/admin", routes=admin_routes(services, pages), middleware=[session_middleware(settings)]),
        Mount("/static", StaticFiles(directory=settings.static_dir), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.services = services
    app.state.outbox = outbox
    app.state.ready = False
    return app


def _mailer(settings: Settings) -> SmtpMailer | None:
    if not settings.smtp_url:
        return None
    try:
        return SmtpMailer.from_url(settings.smtp_url)
    except MailConfigError as err:
        raise SystemExit(f"shopdesk: {err}") from None


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it to end, asking again if need be: on Python 3.11 a
    cancelled ``asyncio.wait_for`` whose awaitable has just finished returns instead of
    raising (in a library's code, say), and the task would go on for ever."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


def _price(amount: float, currency: str) -> str:
    whole = f"{amount:,.0f}".replace(",", ".") if amount == int(amount) else f"{amount:,.2f}"
    return f"{whole} {'kr.' if currency == 'DKK' else currency}"
