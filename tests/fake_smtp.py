"""A fake SMTP server for tests: aiosmtpd on 127.0.0.1, keeping every message it accepts.

    with running_fake_smtp() as smtp:
        settings.smtp_url = smtp.url
        smtp.refuse_next("451 4.3.0 Try again later")   # a temporary failure, once
        ...
        (message,) = smtp.wait_for(1)
"""

from __future__ import annotations

import contextlib
import email
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True, slots=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return body.get_content() if body is not None else ""


class FakeSmtp:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts = 0  # DATA commands, accepted or not
        self._refusals: deque[str] = deque()
        self._lock = threading.Lock()
        self.url = ""

    def refuse_next(self, reply: str, n: int = 1) -> None:
        """The next ``n`` messages get this SMTP reply instead of 250."""
        with self._lock:
            self._refusals.extend([reply] * n)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {n} emails within {timeout} s")
            time.sleep(0.02)
        return list(self.received)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.attempts += 1
            if self._refusals:
                return self._refusals.popleft()
            message = email.message_from_bytes(envelope.content, policy=default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_fake_smtp() -> Iterator[FakeSmtp]:
    fake = FakeSmtp()
    port = _free_port()
    controller = Controller(fake, hostname="127.0.0.1", port=port)
    controller.start()
    fake.url = f"smtp://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        controller.stop()
