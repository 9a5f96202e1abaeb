"""Who is signed in to the inbox: a signed session cookie, and a CSRF token for every form.

The cookie (Starlette's SessionMiddleware, signed with ``SHOPDESK_SESSION_SECRET``) holds
the operator's id, a seal of their password hash (a new password signs out every other
browser) and the session's CSRF token. It is sent to ``/admin`` paths only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

from ..db.models import AdminUser
from ..settings import Settings
from .accounts import user_by_id

COOKIE = "shopdesk_admin"
MAX_AGE_S = 12 * 60 * 60  # a working day; then sign in again
CSRF_FIELD = "csrf"


def session_middleware(settings: Settings) -> Middleware:
    return Middleware(
        SessionMiddleware, secret_key=settings.session_secret, session_cookie=COOKIE,
        max_age=MAX_AGE_S, path="/admin", same_site="lax",
        https_only=(settings.public_url or "").startswith("https://"),
    )


class OperatorSessions:
    def __init__(self, secret: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._secret = secret.encode()
        self._sessions = sessions

    def sign_in(self, conn: HTTPConnection, user: AdminUser) -> None:
        conn.session.clear()  # nothing from before the sign-in survives it, the CSRF token neither
        conn.session.update(user=user.id, seal=self._seal(user), csrf=secrets.token_urlsafe(32))

    def sign_out(self, conn: HTTPConnection) -> None:
        conn.session.clear()

    async def user(self, conn: HTTPConnection) -> AdminUser | None:
        user_id = conn.session.get("user")
        if not isinstance(user_id, int):
            return None
        user = await user_by_id(self._sessions, user_id)
        if user is None or not hmac.compare_digest(str(conn.session.get("seal", "")), self._seal(user)):
            return None
        return user

    def _seal(self, user: AdminUser) -> str:
        return hmac.new(self._secret, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(conn: HTTPConnection) -> str:
    token = conn.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = conn.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_valid(conn: HTTPConnection, form: Mapping[str, Any]) -> bool:
    expected, given = conn.session.get(CSRF_FIELD), form.get(CSRF_FIELD)
    return (isinstance(expected, str) and isinstance(given, str) and bool(expected)
            and hmac.compare_digest(expected.encode(), given.encode()))


def same_origin(conn: HTTPConnection, public_url: str | None = None) -> bool:
    """A browser's request from a page of this server (or from no page at all).

    Behind a proxy that rewrites the Host header, ``SHOPDESK_PUBLIC_URL`` names the server.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    hosts = {conn.headers.get("host", ""), urlsplit(public_url).netloc if public_url else ""}
    return urlsplit(origin).netloc in hosts - {""}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: an inbox path of this server, nowhere else."""
    if target and target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/inbox"
