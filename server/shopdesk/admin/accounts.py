"""Operators of the inbox: who they are, how they sign in, what their role lets them do."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..db.models import AdminUser
from .passwords import DECOY, hash_password, verify_password

ROLES = ("admin", "agent", "viewer")
REPLYING_ROLES = frozenset({"admin", "agent"})  # a viewer reads, never writes


class AccountError(ValueError):
    pass


def may_reply(user: AdminUser) -> bool:
    """Reply to and close conversations."""
    return user.role in REPLYING_ROLES


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(sessions: async_sessionmaker[AsyncSession], email: str, password: str,
                      name: str = "", role: str = "agent") -> AdminUser:
    email = normalize_email(email)
    if "@" not in email:
        raise AccountError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    password_hash = await asyncio.to_thread(hash_password, password)
    user = AdminUser(email=email, name=name.strip(), role=role, password_hash=password_hash)
    async with sessions() as db:
        db.add(user)
        try:
            await db.commit()
        except IntegrityError:
            raise AccountError(f"an operator with the email {email} exists already") from None
    return user


async def authenticate(sessions: async_sessionmaker[AsyncSession], email: str,
                       password: str) -> AdminUser | None:
    async with sessions() as db:
        user = (await db.execute(
            select(AdminUser).where(func.lower(AdminUser.email) == normalize_email(email))  # type: ignore[arg-type]
        )).scalars().first()
    stored = user.password_hash if user is not None else DECOY
    matches = await asyncio.to_thread(verify_password, password, stored)
    return user if user is not None and matches else None


async def user_by_id(sessions: async_sessionmaker[AsyncSession], user_id: int) -> AdminUser | None:
    async with sessions() as db:
        return await db.get(AdminUser, user_id)
