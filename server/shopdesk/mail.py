"""Email out through an SMTP server (aiosmtplib): the one place that talks to one.

Configured by one URL, ``SHOPDESK_SMTP_URL``:

- ``smtp://user:password@host:587``: STARTTLS, required when there are credentials (so a
  password never crosses an unencrypted connection), used when offered otherwise;
- ``smtps://user:password@host:465``: TLS from the first byte;
- ``?starttls=require|auto|off`` overrides the STARTTLS choice (``off`` only for a relay
  on the same host), ``?timeout=15`` the seconds one delivery may take.

User name and password are percent-encoded in the URL (``@`` is ``%40``).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

STARTTLS = {"require": True, "auto": None, "off": False}
DEFAULT_TIMEOUT_S = 15.0  # well inside the outbox lease


class MailConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None  # None: when the server offers it
    timeout: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailConfigError("SHOPDESK_SMTP_URL must look like smtp://user:pass@host:587 "
                                  "or smtps://user:pass@host:465")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        implicit = parts.scheme == "smtps"
        mode = query.get("starttls", "require" if username and not implicit else "auto")
        if mode not in STARTTLS:
            raise MailConfigError("starttls= must be one of require, auto, off")
        try:
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT_S))
            port = parts.port or (465 if implicit else 587)
        except ValueError as err:
            raise MailConfigError(f"SHOPDESK_SMTP_URL: {err}") from None
        return cls(parts.hostname, port, username, password, use_tls=implicit,
                   start_tls=False if implicit else STARTTLS[mode], timeout=timeout)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @classmethod
    def from_url(cls, url: str) -> SmtpMailer:
        return cls(SmtpConfig.from_url(url))

    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; raises ``aiosmtplib.SMTPException`` or ``OSError``."""
        c = self.config
        await aiosmtplib.send(message, hostname=c.host, port=c.port, username=c.username,
                              password=c.password, use_tls=c.use_tls, start_tls=c.start_tls,
                              timeout=c.timeout)


def permanent(exc: BaseException) -> bool:
    """The server refused for good (a 5xx reply, e.g. no such mailbox): do not try again."""
    code = getattr(exc, "code", None)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [getattr(r, "code", 0) for r in exc.recipients]
        return bool(codes) and all(500 <= c < 600 for c in codes)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and isinstance(code, int) and 500 <= code < 600
