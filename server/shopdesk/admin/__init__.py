"""The built-in inbox at ``/admin``: operators sign in, read hand-overs, reply and close.

It is where hand-overs go when Zendesk is not configured (see ``handoff.BuiltinInbox``).
"""

from __future__ import annotations

from .accounts import ROLES, AccountError, create_user
from .auth import session_middleware
from .routes import admin_routes

__all__ = ["ROLES", "AccountError", "admin_routes", "create_user", "session_middleware"]
