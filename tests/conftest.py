"""Shared test helpers: a small store, a scripted agent, an app on a fresh database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from shopdesk.engine import Customer, HandoffEvent, ReplyDelta, ReplyDone, StatusEvent, Turn
from shopdesk.settings import DEMO_STORE, Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = ROOT.parent / "shared" / "eval"
PG_URL = os.environ.get("SHOPDESK_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SHOPDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def postgres_admin() -> Any:
    """A connection to the test server's maintenance database, for creating databases.

    PostgreSQL is there on CI; elsewhere SHOPDESK_SKIP_POSTGRES=1 skips these cases."""
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(PG_URL)
    try:
        return await asyncpg.connect(host=base.host, port=base.port or 5432, user=base.username,
                                     password=base.password, database=base.database, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as err:
        if os.environ.get("SHOPDESK_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL not reachable ({err}); skipped as SHOPDESK_SKIP_POSTGRES=1")
        pytest.fail(f"PostgreSQL not reachable at {base.render_as_string()}: {err!r} "
                    "(set SHOPDESK_SKIP_POSTGRES=1 to skip these cases)")


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    from sqlalchemy.engine import make_url

    name = f"shopdesk_test_{secrets.token_hex(6)}"
    admin = await postgres_admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class ScriptedAgent:
    """A test double of the engine: answers by a script in the shopper's text."""

    name = "scripted"

    def __init__(self) -> None:
        self.turns: list[Turn] = []

    async def respond(self, turn: Turn) -> AsyncIterator[object]:
        self.turns.append(turn)
        text = turn.text
        if text.startswith("slow"):
            yield StatusEvent("thinking...")
            await asyncio.sleep(0.3)
        if text.startswith("person"):
            yield HandoffEvent("customer_request", "A colleague takes over.")
            return
        if text.startswith("boom"):
            raise RuntimeError("agent bug")
        answer = f"You said: {text}"
        yield ReplyDelta(answer[:8])
        yield ReplyDelta(answer[8:])
        turn.state["count"] = turn.state.get("count", 0) + 1
        yield ReplyDone(answer, ["Again"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/test.db", store=DEMO_STORE,
                    identity_secret="test-secret", rate_limit_messages=10)


def hello(**extra: object) -> dict[str, object]:
    frame: dict[str, object] = {"type": "hello", "v": 1, "session": None, "locale": "en",
                                "page": None, "customer": None}
    frame.update(extra)
    return frame


def receive_until(ws, *types: str, limit: int = 50) -> list[dict]:
    """Frames up to and including the first of ``types``."""
    frames = []
    for _ in range(limit):
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] in types:
            return frames
    raise AssertionError(f"no {types} in {frames}")


def in_store(store: Path, *texts: str, customer: str | None = None, page: str | None = None) -> list[Any]:
    """The offline agent's last event for each message of one in-process conversation
    with the store of fixture file ``store`` (a fresh copy of its data)."""
    from shopdesk.agent.offline.agent import OfflineAgent
    from shopdesk.store.fixture import FixtureConnector

    async def run() -> list[Any]:
        connector = FixtureConnector.from_file(store)
        agent = await OfflineAgent.build(connector, Settings(store=store))
        state: dict[str, Any] = {}
        who = Customer(email=customer) if customer else None
        last: list[Any] = []
        for text in texts:
            turn = Turn(text=text, locale=None, customer=who, page_product=page, history=[], state=state)
            last.append([event async for event in agent.respond(turn)][-1])
            state = turn.state
        return last

    return asyncio.run(run())


def _report_tasks_that_outlive_cancel() -> None:
    """When an event loop closes (a TestClient's, asyncio.run's), its last tasks are
    cancelled and awaited; one that swallows the cancel hangs the suite until
    pytest-timeout. Name such a task, with its stack, on stderr after a few seconds."""
    import asyncio.runners
    import sys

    original = asyncio.runners._cancel_all_tasks

    def cancel_all(loop: asyncio.AbstractEventLoop) -> None:
        def report() -> None:
            for task in asyncio.all_tasks(loop):
                if not task.done():
                    print(f"\n!! task still running after cancel: {task!r}", file=sys.stderr)
                    task.print_stack(file=sys.stderr)

        handle = loop.call_later(10, report)
        try:
            original(loop)
        finally:
            handle.cancel()

    asyncio.runners._cancel_all_tasks = cancel_all  # type: ignore[attr-defined]


_report_tasks_that_outlive_cancel()
