"""Runs ``shopdesk serve`` as a real server process for tests that need one."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


class ServerProcess:
    """A server process; its logs go to a file (an unread pipe would stall it once full)."""

    def __init__(self, store: Path, port: int, db_url: str, env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.store, self.port, self.db_url = store, port, db_url
        self.env = {**os.environ, "SHOPDESK_DATABASE_URL": db_url, **(env or {})}
        self.log = log or Path(tempfile.mkstemp(prefix="shopdesk-server-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        with self.log.open("ab") as log:  # appended to across restarts
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shopdesk", "serve", "--store", str(self.store),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
