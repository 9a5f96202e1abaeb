"""The ``shopdesk`` command: serve, db upgrade, admin create, classify, eval."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from .corking import CorkedWebSocketProtocol
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopdesk", description="A self-hosted AI support agent for online shops.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the chat server")
    serve.add_argument("--store", type=Path, help="store fixture JSON (default: SHOPDESK_STORE or the demo store)")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--database-url", help="overrides SHOPDESK_DATABASE_URL")

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])

    admin = sub.add_parser("admin", help="operators of the built-in inbox (/admin)")
    admin_actions = admin.add_subparsers(dest="action", required=True)
    create = admin_actions.add_parser("create", help="add an operator who can sign in to /admin")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="", help="shown to shoppers with the operator's replies")
    create.add_argument("--role", choices=["admin", "agent", "viewer"], default="admin",
                        help="admin and agent reply and close; viewer reads (default admin)")
    create.add_argument("--password", help="default: asked for, or one line read from stdin when piped")
    create.add_argument("--database-url", help="overrides SHOPDESK_DATABASE_URL")

    classify = sub.add_parser("classify", help="what the offline agent makes of a message ('-' reads stdin, one a line)")
    classify.add_argument("text")
    classify.add_argument("--store", type=Path)

    ev = sub.add_parser("eval", help="run a case file against the server in-process on a fresh database")
    ev.add_argument("--store", type=Path, required=True)
    ev.add_argument("--cases", type=Path, required=True)
    ev.add_argument("--only", help="run one case id")
    ev.add_argument("--verbose", action="store_true")
    ev.add_argument("--concurrency", type=int, default=4)

    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if getattr(args, "store", None):
        overrides["store"] = args.store
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    settings = Settings(**overrides)

    if args.command == "serve":
        return _serve(settings)
    if args.command == "db":
        from .db.migrate import upgrade

        upgrade(settings.database_url)
        print(f"database at head: {settings.database_url}")
        return 0
    if args.command == "admin":
        return _create_operator(settings, args.email, args.name, args.role, args.password)
    if args.command == "classify":
        return _classify(settings, args.text)
    if args.command == "eval":
        from .evaluation import run_eval

        return run_eval(settings, args.cases, only=args.only, verbose=args.verbose,
                        concurrency=args.concurrency)
    return 2


def _load_store(settings: Settings) -> Any:
    from .store.fixture import FixtureError, load_fixture

    try:
        return load_fixture(settings.store)
    except FixtureError as err:
        print(f"shopdesk: {err}", file=sys.stderr)
        raise SystemExit(2) from None


# What ``shopdesk serve`` runs uvicorn with (bench/many_shoppers.py runs its echo baseline so too).
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "ws_max_size": 1024 * 1024,
    "ws_ping_interval": 20,
    "ws_ping_timeout": 20,
    "ws_per_message_deflate": False,  # a zlib pair per socket costs ~42 KB per idle chat
    # websockets-sansio, with the frames of one loop turn written at once (corking.py)
    "ws": CorkedWebSocketProtocol,
}


def _serve(settings: Settings) -> int:
    import uvicorn

    from .agent import check_settings
    from .app import create_app
    from .db.migrate import upgrade
    from .logs import configure_logging
    from .store.fixture import FixtureConnector

    configure_logging()
    check_settings(settings)  # e.g. the Claude agent without ANTHROPIC_API_KEY: one line, no traceback
    connector = FixtureConnector(_load_store(settings))
    upgrade(settings.database_url)
    app = create_app(settings, connector=connector, migrate=False, freeze_gc=True)
    logging.getLogger("uvicorn.error").addFilter(_refusal_is_no_error)
    uvicorn.run(app, host=settings.host, port=settings.port, **UVICORN_OPTIONS)
    return 0


def _refusal_is_no_error(record: logging.LogRecord) -> bool:
    """uvicorn's websockets-sansio logs an error for a socket refused before the upgrade
    (a foreign origin gets its 403, as meant): not one of ours."""
    return record.getMessage() != "ASGI callable returned without completing handshake."


def _create_operator(settings: Settings, email: str, name: str, role: str, password: str | None) -> int:
    import asyncio

    from .admin import AccountError, create_user
    from .admin.passwords import WeakPassword
    from .db.engine import create_engine, session_factory
    from .db.migrate import upgrade

    if password is None:
        password = _read_password()
    upgrade(settings.database_url)

    async def create() -> None:
        engine = create_engine(settings.database_url)
        try:
            await create_user(session_factory(engine), email, password, name=name, role=role)
        finally:
            await engine.dispose()

    try:
        asyncio.run(create())
    except (AccountError, WeakPassword) as err:
        print(f"shopdesk: {err}", file=sys.stderr)
        return 1
    print(f"operator {email.strip().lower()} ({role}) can now sign in at /admin/login")
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        print("shopdesk: the passwords differ", file=sys.stderr)
        raise SystemExit(1)
    return password


def _classify(settings: Settings, text: str) -> int:
    from .agent.understanding import Understander

    fixture = _load_store(settings)
    understander = Understander.build(fixture.products, list(fixture.store.locales),
                                      fixture.store.locales[0], settings.catalogue)
    lines = sys.stdin if text == "-" else [text]
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        u = understander.understand(line)
        record = {"text": line, "scenario": u.scenario, "confidence": round(float(u.confidence), 3),
                  "language": u.language, "entities": _plain(u.entities)}
        if text == "-":
            print(json.dumps(record, ensure_ascii=False), flush=False)
        else:
            print(json.dumps(record, ensure_ascii=False, indent=2))
    sys.stdout.flush()
    return 0


def _plain(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items() if v not in (None, [], {}, "")}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
