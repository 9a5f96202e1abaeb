"""``shopdesk eval``: play a case file against the server, in-process, on a fresh database.

The server is the real one (``create_app``) served by uvicorn on 127.0.0.1 inside this process,
on a temporary SQLite database and with a freshly generated identity secret, so that logged-in
cases can be signed. Every case is one conversation over the wire protocol (protocol v1, the
``websockets`` asyncio client) and is scored as ../shared/eval/README.md describes; the last
line printed is the summary line, in the format of ``drive.py``.

Exit status: 0 whatever the score; 2 when the case file or the store cannot be used, or the
server does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .evaluation_match import Matcher, compile_alternative, normalize
from .settings import Settings

TURN_TIMEOUT_S = 30.0
SETTLE_S = 0.3
CONNECT_TIMEOUT_S = 10.0
HEALTH_TIMEOUT_S = 120.0
TEXT_SHOWN = 200

OUTCOMES = ("resolved", "escalated")
REASONS = ("negative_sentiment", "amount_over_limit", "unknown_defect", "low_confidence",
           "customer_request", "policy")
# Error codes meaning the shopper's message was refused: no answer to it will come.
REFUSALS = ("bad_frame", "too_large", "rate_limited", "not_allowed")


class EvalError(Exception):
    """The run itself cannot go on (bad case file, bad store, server down)."""


# -- cases -------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    line: int
    lang: str | None
    scenario: str | None
    customer: dict[str, Any] | None
    page: dict[str, Any] | None
    turns: list[str]
    outcome: str
    reason: str | None
    include: list[list[Matcher]]
    exclude: list[Matcher]
    note: str

    @property
    def is_leak_case(self) -> bool:
        return self.note.startswith("LEAK:")

    @property
    def expected(self) -> str:
        return f"escalated/{self.reason}" if self.outcome == "escalated" and self.reason else self.outcome


class _Bad(Exception):
    pass


def _alternative(spec: Any, where: str) -> Matcher:
    try:
        return compile_alternative(spec)
    except ValueError as err:
        raise _Bad(f"{where}: {err}") from None


def _parse_case(obj: Any, line: int) -> Case:
    if not isinstance(obj, dict):
        raise _Bad("a case must be a JSON object")
    for key in ("id", "turns", "expect"):
        if key not in obj:
            raise _Bad(f"missing field {key!r}")
    case_id = obj["id"]
    if not isinstance(case_id, str) or not case_id.strip():
        raise _Bad("'id' must be a non-empty string")
    lang = obj.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise _Bad("'lang' must be a string or null")
    scenario = obj.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise _Bad("'scenario' must be a string or null")
    turns = obj["turns"]
    if (not isinstance(turns, list) or not turns
            or not all(isinstance(t, str) and t.strip() for t in turns)):
        raise _Bad("'turns' must be a non-empty list of non-empty strings")
    customer = obj.get("customer")
    if customer is not None:
        if not isinstance(customer, dict):
            raise _Bad("'customer' must be an object or null")
        if not isinstance(customer.get("email"), str) or not customer["email"].strip():
            raise _Bad("'customer' has no 'email'")
        if customer.get("name") is not None and not isinstance(customer["name"], str):
            raise _Bad("'customer.name' must be a string or null")
    page = obj.get("page")
    if page is not None and not isinstance(page, dict):
        raise _Bad("'page' must be an object or null")
    note = obj.get("note")
    if note is not None and not isinstance(note, str):
        raise _Bad("'note' must be a string")

    expect = obj["expect"]
    if not isinstance(expect, dict):
        raise _Bad("'expect' must be an object")
    if "outcome" not in expect:
        raise _Bad("missing field 'expect.outcome'")
    outcome = expect["outcome"]
    if outcome not in OUTCOMES:
        raise _Bad(f"'expect.outcome' must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    reason = expect.get("reason")
    if reason is not None:
        if outcome != "escalated":
            raise _Bad("'expect.reason' goes only with outcome 'escalated'")
        if reason not in REASONS:
            raise _Bad(f"'expect.reason' {reason!r} is not a handoff reason ({', '.join(REASONS)})")
    groups = expect.get("include", [])
    if not isinstance(groups, list):
        raise _Bad("'expect.include' must be a list of groups")
    include: list[list[Matcher]] = []
    for i, group in enumerate(groups, 1):
        alternatives = group if isinstance(group, list) else [group]
        if not alternatives:
            raise _Bad(f"expect.include group #{i} is empty")
        include.append([_alternative(a, f"expect.include group #{i}") for a in alternatives])
    excluded = expect.get("exclude", [])
    if not isinstance(excluded, list):
        raise _Bad("'expect.exclude' must be a list of alternatives")
    exclude = [_alternative(a, "expect.exclude") for a in excluded]
    return Case(case_id, line, lang, scenario, customer, page, list(turns), outcome, reason,
                include, exclude, note or "")


def load_cases(path: Path) -> list[Case]:
    """The cases of a JSONL file; ``EvalError`` naming the file and line on anything wrong."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise EvalError(f"{path}: cannot read the case file: {err}") from None
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalError(f"{path}:{number}: bad JSON: {err.msg} (column {err.colno})") from None
        try:
            case = _parse_case(obj, number)
        except _Bad as err:
            raise EvalError(f"{path}:{number}: {err}") from None
        if case.id in seen:
            raise EvalError(f"{path}:{number}: case id {case.id!r} already used on line {seen[case.id]}")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise EvalError(f"{path}: no cases in the file")
    return cases


# -- playing a case ----------------------------------------------------------------------


@dataclass
class Run:
    case: Case
    texts: list[str] = field(default_factory=list)  # reply_end and handoff texts, in order
    partial: dict[str, list[str]] = field(default_factory=dict)  # streamed, never ended
    handoff: dict[str, Any] | None = None
    stop: str | None = None  # timeout | closed | refused | connect-failed | no-welcome | driver-error
    problems: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    first_delta_ms: list[float] = field(default_factory=list)
    frames: list[tuple[float, str, Any]] = field(default_factory=list)
    started: float = 0.0
    # scoring
    outcome_ok: bool = False
    include_failed: list[int] = field(default_factory=list)
    exclude_hits: list[Any] = field(default_factory=list)
    leaks: int = 0
    correct: bool = False

    @property
    def got(self) -> str:
        if self.handoff is not None:
            return f"escalated/{self.handoff.get('reason')}"
        if self.stop:
            return self.stop
        return "resolved"

    def agent_text(self) -> str:
        return "\n".join(self.texts)


_CLOSED = object()


class Player:
    """One case, one conversation."""

    def __init__(self, case: Case, url: str, secret: str, turn_timeout: float = TURN_TIMEOUT_S,
                 settle: float = SETTLE_S) -> None:
        self.run = Run(case)
        self.url = url
        self.secret = secret
        self.turn_timeout = turn_timeout
        self.settle = settle
        self.queue: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()

    def _hello(self) -> dict[str, Any]:
        from .conversations import sign_identity

        case = self.run.case
        customer = None
        if case.customer is not None:
            email = case.customer["email"]
            signature = case.customer.get("signature")  # a case may bring its own (a bad one)
            if "signature" not in case.customer:
                signature = sign_identity(email, self.secret)
            customer = {"email": email, "name": case.customer.get("name"), "signature": signature}
        return {"type": "hello", "v": 1, "session": None, "locale": case.lang, "page": case.page,
                "customer": customer}

    async def _send(self, ws: Any, frame: dict[str, Any]) -> float:
        t = time.monotonic()
        self.run.frames.append((t, "->", frame))
        await ws.send(json.dumps(frame, ensure_ascii=False))
        return t

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(Exception):  # a closed or broken connection ends the reading
            async for message in ws:
                t = time.monotonic()
                try:
                    frame = json.loads(message)
                except (TypeError, ValueError):
                    self.run.problems.append(f"a frame that is not JSON: {str(message)[:80]!r}")
                    continue
                self.run.frames.append((t, "<-", frame))
                self.queue.put_nowait((t, frame))
        self.queue.put_nowait((time.monotonic(), _CLOSED))

    async def _next(self, deadline: float) -> tuple[float, Any] | None:
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                return self.queue.get_nowait()
            return await asyncio.wait_for(self.queue.get(), left)
        except (asyncio.QueueEmpty, TimeoutError):
            return None

    def _take(self, frame: dict[str, Any]) -> str | None:
        """Record what a frame says; its type."""
        run = self.run
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "reply_delta":
            run.partial.setdefault(str(frame.get("reply")), []).append(str(frame.get("text") or ""))
        elif kind == "reply_end":
            run.partial.pop(str(frame.get("reply")), None)
            run.texts.append(str(frame.get("text") or ""))
        elif kind == "handoff":
            if run.handoff is None:
                run.handoff = frame
            run.texts.append(str(frame.get("text") or ""))
        elif kind == "error":
            run.errors.append(frame)
            if frame.get("code") == "internal":
                run.problems.append(f"error internal: {str(frame.get('message') or '')[:100]}")
        return kind

    async def play(self) -> Run:
        from websockets.asyncio.client import connect

        run = self.run
        run.started = time.monotonic()
        try:
            ws = await connect(self.url, open_timeout=CONNECT_TIMEOUT_S, max_size=2 ** 20,
                               close_timeout=2)
        except Exception as err:  # noqa: BLE001
            run.stop = "connect-failed"
            run.problems.append(f"connect failed: {type(err).__name__}: {err}")
            return run
        reader = asyncio.create_task(self._read(ws))
        try:
            await self._converse(ws)
        except Exception as err:  # noqa: BLE001
            closed = "ConnectionClosed" in type(err).__name__
            run.stop = run.stop or ("closed" if closed else "driver-error")
            run.problems.append(f"{'connection closed' if closed else 'driver error'}: "
                                f"{type(err).__name__}: {err}")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
            try:
                await asyncio.wait_for(reader, 5)
            except Exception:  # noqa: BLE001
                reader.cancel()
        return run

    async def _converse(self, ws: Any) -> None:
        run = self.run
        await self._send(ws, self._hello())
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            item = await self._next(deadline)
            if item is None or item[1] is _CLOSED:
                run.stop = "no-welcome"
                run.problems.append("no welcome" if item is None else "closed before welcome")
                return
            if self._take(item[1]) == "welcome":
                break

        for n, text in enumerate(run.case.turns, 1):
            msg_id = f"m{n}-{uuid.uuid4().hex}"[:64]
            sent = await self._send(ws, {"type": "message", "id": msg_id, "text": text})
            first: float | None = None
            ended: str | None = None
            deadline = sent + self.turn_timeout
            while ended is None:
                item = await self._next(deadline)
                if item is None:
                    ended = "timeout"
                    break
                t, frame = item
                if frame is _CLOSED:
                    ended = "closed"
                    break
                kind = self._take(frame)
                if kind == "reply_delta" and first is None:
                    first = t
                elif kind in ("reply_end", "handoff"):
                    first = first if first is not None else t
                    ended = kind
                elif kind == "error" and frame.get("code") in REFUSALS:
                    ended = "refused"
                    run.problems.append(f"turn {n}: error {frame.get('code')}: {frame.get('message')}")
            if first is not None:
                run.first_delta_ms.append((first - sent) * 1000.0)
            if ended == "reply_end":
                # An escalating turn may end with a handoff after its reply_end.
                settle_until = time.monotonic() + self.settle
                while (item := await self._next(settle_until)) is not None:
                    if item[1] is _CLOSED:
                        self.queue.put_nowait(item)  # the next turn sees it
                        break
                    if self._take(item[1]) == "handoff":
                        ended = "handoff"
                        break
            if ended == "handoff":
                return
            if ended in ("timeout", "closed", "refused"):
                run.stop = ended
                if ended == "timeout":
                    run.problems.append(f"turn {n}: no reply_end or handoff within {self.turn_timeout:g} s")
                elif ended == "closed":
                    run.problems.append(f"turn {n}: the connection closed before reply_end or handoff")
                return


# -- scoring and the report --------------------------------------------------------------


def score(run: Run) -> Run:
    case = run.case
    text = run.agent_text()
    shown = "\n".join([text] + ["".join(p) for p in run.partial.values()])
    run.include_failed = [i for i, group in enumerate(case.include, 1)
                          if not any(alt.found(text) for alt in group)]
    run.exclude_hits = [alt.spec for alt in case.exclude if alt.found(shown)]
    run.leaks = len(run.exclude_hits) if case.is_leak_case else 0
    if case.outcome == "resolved":
        run.outcome_ok = run.handoff is None and run.stop is None
    else:
        run.outcome_ok = run.handoff is not None and (
            case.reason is None or run.handoff.get("reason") == case.reason)
    run.correct = run.outcome_ok and not run.include_failed and not run.exclude_hits and not run.problems
    return run


def nearest_rank(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def summary_line(runs: list[Run]) -> str:
    n = len(runs)
    correct = sum(r.correct for r in runs)
    resolvable = [r for r in runs if r.case.outcome == "resolved"]
    must = [r for r in runs if r.case.outcome == "escalated"]
    escalated = [r for r in must if r.handoff is not None]
    right = [r for r in escalated if r.case.reason is None or r.handoff.get("reason") == r.case.reason]
    deltas = [d for r in runs for d in r.first_delta_ms]
    p50, p95 = nearest_rank(deltas, 50), nearest_rank(deltas, 95)
    pct = f"{100 * correct / n:.1f}" if n else "0.0"
    return (
        f"cases {n} correct {correct} ({pct}%)"
        f" | resolvable {len(resolvable)} resolved {sum(r.correct for r in resolvable)}"
        f" | must-escalate {len(must)} escalated {len(escalated)} right-reason {len(right)}"
        f" | missed-escalations {len(must) - len(escalated)}"
        f" false-escalations {sum(r.handoff is not None for r in resolvable)}"
        f" | leaks {sum(r.leaks for r in runs)}"
        f" | first-delta p50 {round(p50 or 0)} ms p95 {round(p95 or 0)} ms"
    )


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def shorten(text: str, limit: int = TEXT_SHOWN) -> str:
    text = normalize(text).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def failure_line(run: Run) -> str:
    case = run.case
    parts = [f"FAIL {case.id}", f"expected {case.expected}", f"got {run.got}"]
    if run.include_failed:
        parts.append("include failed: " + "; ".join(
            f"#{i} {_j([a.spec for a in case.include[i - 1]])}" for i in run.include_failed))
    if run.exclude_hits:
        parts.append(("leak: " if case.is_leak_case else "exclude hit: ") + _j(run.exclude_hits))
    if run.problems:
        parts.append("problems: " + "; ".join(p.replace("\n", " ") for p in run.problems))
    parts.append("text: " + _j(shorten(run.agent_text())))
    return " | ".join(parts)


def transcript(run: Run) -> list[str]:
    return [f"[{run.case.id}] +{round((t - run.started) * 1000)}ms {arrow} {_j(frame)}"
            for t, arrow, frame in run.frames]


# -- the in-process server ---------------------------------------------------------------


async def _http_status(port: int, path: str) -> int | None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 5)
        fields = status.decode("latin-1").split()
        return int(fields[1]) if len(fields) >= 2 and fields[1].isdigit() else None
    except (OSError, TimeoutError, ValueError):
        return None
    finally:
        writer.close()


class InProcessServer:
    def __init__(self, settings: Settings, connector: Any) -> None:
        self.settings = settings
        self.connector = connector
        self.server: Any = None
        self.task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> None:
        import uvicorn

        from .app import create_app

        app = create_app(self.settings, connector=self.connector, migrate=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", ws_max_size=1024 * 1024, access_log=False)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.task.done():
                err = None if self.task.cancelled() else self.task.exception()
                raise EvalError(f"the server did not start{f': {err!r}' if err else ''} (see above)")
            if self.server.started and await _http_status(self.port, "/healthz") == 200:
                return
            await asyncio.sleep(0.05)
        raise EvalError(f"the server was not healthy within {HEALTH_TIMEOUT_S:g} s")

    async def stop(self) -> None:
        if self.server is None or self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self.task, 10)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - it is going away anyway
            self.task.cancel()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


async def _evaluate(settings: Settings, connector: Any, cases: list[Case], concurrency: int,
                    verbose: bool) -> list[Run]:
    server = InProcessServer(settings, connector)
    try:
        await server.start()
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(case: Case) -> Run:
            async with gate:
                run = score(await Player(case, server.ws_url, settings.identity_secret).play())
            if verbose:
                print("\n".join(transcript(run)), flush=True)
            return run

        return list(await asyncio.gather(*(one(c) for c in cases)))
    finally:
        await server.stop()


# -- the command -------------------------------------------------------------------------


def _quiet_logs() -> None:
    """The server's own logs go to stderr, warnings and worse only: stdout is the report."""
    from .logs import configure_logging

    configure_logging(logging.WARNING)


def _runner() -> asyncio.Runner:
    """The event loop ``shopdesk serve`` gets from uvicorn: uvloop when it is installed.

    The plain asyncio loop serves the same answers, but about 30 ms slower to the first
    delta, which would make the latency figures incomparable with a served instance.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run_eval(settings: Settings, cases_path: Path, only: str | None = None, verbose: bool = False,
             concurrency: int = 4) -> int:
    from .store.fixture import FixtureConnector, FixtureError, load_fixture

    try:
        cases = load_cases(cases_path)
        if only is not None:
            cases = [c for c in cases if c.id == only]
            if not cases:
                raise EvalError(f"{cases_path}: no case with id {only!r}")
        try:
            connector = FixtureConnector(load_fixture(settings.store))
        except FixtureError as err:
            raise EvalError(str(err)) from None
        except OSError as err:
            raise EvalError(f"{settings.store}: cannot read the store: {err}") from None
        _quiet_logs()
        with tempfile.TemporaryDirectory(prefix="shopdesk-eval-") as tmp:
            run_settings = settings.model_copy(update={
                "database_url": f"sqlite+aiosqlite:///{Path(tmp) / 'eval.db'}",
                "identity_secret": secrets.token_hex(32),
            })
            with _runner() as runner:
                runs = runner.run(_evaluate(run_settings, connector, cases, concurrency, verbose))
    except EvalError as err:
        print(f"shopdesk eval: {err}", file=sys.stderr)
        return 2

    for run in runs:
        if not run.correct:
            print(failure_line(run))
    print(summary_line(runs), flush=True)
    return 0
