"""A person's reply by email, for a shopper who has left the chat (the built-in inbox).

Zendesk emails its requester itself; the built-in inbox has only the chat. So a reply
written there is queued with an ``OutboxEmail`` row, and once its grace delay is over the
outbox worker asks ``ReplyEmails.deliver``: if the shopper's widget showed the reply by
then (``Message.seen_at``: live, or in the history of a new visit), nothing is sent;
otherwise it goes to the address the shopper gave (a verified login, or one written in
the chat), in their language, with a link back to the page the chat was on.

Nothing personal is logged: conversation and message ids, outcomes, error classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..db.models import Conversation, Message, OutboxEmail
from ..mail import Mailer
from ..store.models import StoreInfo
from .desk import written_address

SENT, SEEN, NO_ADDRESS, NO_MAILER = "sent", "seen", "no_address", "no_mailer"
TEMPLATE = "human_reply"


@dataclass(frozen=True, slots=True)
class PendingReply:
    """What the email needs, read from the database."""

    conversation_id: str
    message_id: int
    author: str
    text: str
    seen: bool
    address: str | None
    language: str | None
    page_url: str | None


class ReplyEmails:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], mailer: Mailer | None,
                 templates_dir: Path, *, sender: str | None = None, public_url: str | None = None,
                 allowed_origins: list[str] | None = None) -> None:
        self.sessions = sessions
        self.mailer = mailer
        self.sender = sender
        self.public_url = public_url
        self.allowed_origins = allowed_origins or []
        self.shop: StoreInfo | None = None  # set at start-up: name, support address, languages
        self.root = templates_dir / "email"
        self.templates = Environment(loader=FileSystemLoader(self.root), autoescape=False,
                                     undefined=StrictUndefined, keep_trailing_newline=True)

    async def deliver(self, row_id: int) -> tuple[str, str | None]:
        """What became of the reply (sent, seen, no_address or no_mailer) and its
        conversation. Raises when the mail server failed (the worker tries again later,
        or gives up on a 5xx)."""
        pending = await self.pending(row_id)
        if pending is None:
            return SEEN, None
        if pending.seen:
            outcome = SEEN
        elif self.mailer is None:
            outcome = NO_MAILER
        elif pending.address is None:
            outcome = NO_ADDRESS
        else:
            await self.mailer.send(self.compose(pending))
            outcome = SENT
        return outcome, pending.conversation_id

    async def pending(self, row_id: int) -> PendingReply | None:
        async with self.sessions() as db:
            row = (await db.execute(
                select(Message, Conversation).join(OutboxEmail, OutboxEmail.message_id == Message.id)  # type: ignore[arg-type]
                .join(Conversation, Conversation.id == Message.conversation_id)  # type: ignore[arg-type]
                .where(OutboxEmail.id == row_id))).first()  # type: ignore[arg-type]
            if row is None:
                return None
            message, conv = row
            written = (await db.execute(select(Message.text).where(
                Message.conversation_id == conv.id, Message.role == "shopper")  # type: ignore[arg-type]
                .order_by(Message.id))).scalars().all()  # type: ignore[arg-type]
        address = conv.customer_email or conv.contact_email or written_address(written)
        language = (conv.state or {}).get("lang") or conv.locale
        return PendingReply(conv.id, message.id or 0, message.author or "", message.text,
                            message.seen_at is not None, address, language, conv.page_url)

    def compose(self, pending: PendingReply) -> EmailMessage:
        if pending.address is None:
            raise ValueError("no address to send to")
        language = self.language(pending.language)
        context = {"author": pending.author, "reply": pending.text, "link": self.link(pending.page_url),
                   "shop": self.shop.name if self.shop else None}
        subject = self.templates.get_template(f"{language}/{TEMPLATE}.subject.j2").render(context)
        body = self.templates.get_template(f"{language}/{TEMPLATE}.txt.j2").render(context)
        sender = self.from_address()
        message = EmailMessage()
        message["From"] = sender
        message["To"] = pending.address
        message["Subject"] = " ".join(subject.split())
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid("reply", domain=_domain(sender))
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office loops
        message.set_content(body)
        return message

    def from_address(self) -> str:
        if self.sender:
            return self.sender
        if self.shop is not None:
            return formataddr((self.shop.name, self.shop.support_email))
        raise ValueError("set SHOPDESK_MAIL_FROM")

    def language(self, wanted: str | None) -> str:
        """The shopper's language when there are templates for it, else the store's."""
        for candidate in (wanted, self.shop.default_locale if self.shop else None, "en"):
            code = (candidate or "")[:2].lower()
            if code and (self.root / code).is_dir():
                return code
        return "en"

    def link(self, page_url: str | None) -> str | None:
        """The page the chat was on, if it is one of the storefront's own; else the server's
        public address. The widget reports the page, so it is checked, not trusted."""
        if page_url:
            parts = urlsplit(page_url)
            origin = f"{parts.scheme}://{parts.netloc}"
            own = {o.rstrip("/") for o in self.allowed_origins}
            if self.public_url:
                public = urlsplit(self.public_url)
                own.add(f"{public.scheme}://{public.netloc}")
            if parts.scheme in ("http", "https") and parts.netloc and ("*" in own or origin in own):
                return page_url
        return self.public_url


def _domain(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or None
