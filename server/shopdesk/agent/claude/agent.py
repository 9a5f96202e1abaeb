"""The Claude agent: free-form conversation on Anthropic's Messages API, over the same
tools, guardrails and protocol as the offline agent.

A turn: the escalation policy's word checks on the shopper's message (no model call when
a person must take over), then model turn -> tool calls (in parallel) -> tool results ->
... up to ``claude_max_steps`` model calls. Text streams to the shopper as it comes; tool
outcomes that the policy keeps for people (over the limit, unknown defect, parcel and
payment cases) hand over in code, whatever the model would say. Personal data is replaced
by placeholders on the way out and mapped back on the way in (``redaction``). When the
model is unavailable within the latency budget, the offline agent answers if it is
confident, else a person takes over (``low_confidence``).

The dialogue state is the offline agent's (``DialogueState``: ``lang``, ``verified``,
``order``, ``email``...), plus the placeholder mapping under ``pii``, so any turn can fall
back to the offline agent on the same state.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import structlog
from pydantic import ValidationError

from ...engine import (
    AuditRecord,
    HandoffEvent,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    StatusEvent,
    Turn,
)
from ...engine.events import HANDOFF_REASONS
from ...settings import Settings
from ...store.connector import StoreConnector
from ...store.models import StoreInfo
from ...tools import REGISTRY, ToolContext, ToolResult, call
from .. import escalation
from ..offline import OfflineAgent
from ..offline.state import DialogueState
from ..understanding import Understanding
from ..understanding.language import detect_language
from .model import RESTART, Budget, Model, ModelUnavailable, Reply, Usage
from .prompt import static_prompt, system_blocks, turn_prompt
from .redaction import Redactor, StreamRestorer
from .schemas import ACTIONS, HAND_OVER, POLICY_TOPICS, STATUS_PHRASES, tool_definitions

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL = "https://api.anthropic.com"
PII_KEY = "pii"  # the placeholder mapping, in the conversation's state
STATE_FIELDS = frozenset(DialogueState.__dataclass_fields__)
HUMAN_PREFIX = "[A colleague from customer service wrote:] "
REDACTED_CACHE = 20_000  # history texts kept redacted, across conversations
ORDER_NUMBER = re.compile(r"#?[\w-]{1,20}")


class MissingApiKey(SystemExit):
    def __init__(self) -> None:
        super().__init__("shopdesk: SHOPDESK_AGENT=claude needs ANTHROPIC_API_KEY "
                         "(set it, or use SHOPDESK_AGENT=offline)")


@dataclass(slots=True)
class ToolOutcome:
    block: dict[str, Any]          # the tool_result sent back to the model
    handoff: str | None = None     # a reason the policy gives from what the tool found
    why: str | None = None


class ClaudeAgent:
    name = "claude"

    def __init__(self, client: anthropic.AsyncAnthropic, settings: Settings,
                 connector: StoreConnector, offline: OfflineAgent) -> None:
        self.model = Model(client)
        self.client = client
        self.settings = settings
        self.connector = connector
        self.offline = offline
        self.understander = offline.understander
        self.replies = offline.replies
        self.redact = settings.llm_personal_data == "redact"
        self.tools = tool_definitions()
        self._static: tuple[StoreInfo, str] | None = None
        # Redacted history texts: a conversation's earlier messages come back every turn.
        self.redacted: OrderedDict[tuple[str, int, str], str] = OrderedDict()

    @classmethod
    async def build(cls, settings: Settings, connector: StoreConnector,
                    offline: OfflineAgent | None = None) -> ClaudeAgent:
        if not settings.anthropic_api_key:
            raise MissingApiKey()
        offline = offline or await OfflineAgent.build(connector, settings)
        client = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key,
            base_url=settings.anthropic_base_url or DEFAULT_BASE_URL,
            max_retries=0,  # our own retries, inside the latency budget
            timeout=httpx2.Timeout(settings.claude_timeout_s, connect=min(5.0, settings.claude_timeout_s)),
        )
        return cls(client, settings, connector, offline)

    def failure_text(self, locale: str | None) -> str:
        return self.offline.failure_text(locale)

    async def static_prompt(self) -> str:
        store = await self.connector.store_info()
        if self._static is None or self._static[0] is not store:
            self._static = (store, static_prompt(store, self.redact))
        return self._static[1]

    async def respond(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
        async for event in _TurnRun(self, turn).run():
            yield event


class _TurnRun:
    """One shopper message answered by the model; what it has said and done so far."""

    def __init__(self, agent: ClaudeAgent, turn: Turn) -> None:
        self.agent = agent
        self.turn = turn
        self.settings = agent.settings
        self.store = agent.offline.store
        self.extra = {k: v for k, v in turn.state.items() if k not in STATE_FIELDS and k != PII_KEY}
        self.state = DialogueState.load(turn.state)
        self.redactor = Redactor(turn.state.get(PII_KEY) or {})
        self.audit: list[AuditRecord] = []
        self.calls: list[str] = []
        self.usage = Usage()
        self.ctx: ToolContext | None = None
        self.lang = self.store.default_locale
        self.text = ""     # the answer so far, as the shopper is to read it
        self.shown = ""    # what the widget has been sent of it
        self.diverged = False  # a retried answer differs from what was shown: send it whole at the end
        self.acted = False     # a tool changed something in the shop this turn
        self.statuses: set[str] = set()
        self.audit_copies: dict[str, str] = {}  # tool_use_id -> redacted result (``allow`` mode)

    # -- the turn ----------------------------------------------------------------------

    async def run(self) -> AsyncIterator[ReplyEvent]:
        """Events; the final one (ReplyDone/HandoffEvent) comes after the turn is written
        down, since the caller stops reading there."""
        async for event in self._events():
            if isinstance(event, (ReplyDone, HandoffEvent)):
                self._write_turn()
                yield event
                return
            yield event
        raise RuntimeError("the Claude agent ended a turn without a reply or a hand-over")

    async def _events(self) -> AsyncIterator[ReplyEvent]:
        turn, st = self.turn, self.state
        u = self.agent.understander.understand(turn.text, page_product=turn.page_product or st.product)
        self.lang = st.lang = detect_language(
            turn.text, list(self.store.locales), st.lang or turn.locale or self.store.default_locale)
        self._merge(u)
        turn.scenario, turn.confidence, turn.language = u.scenario, u.confidence, self.lang
        reason, why = self._words_reason(u)
        if reason:
            self.audit.append(AuditRecord("escalation", None, reason, {"by": "shopper_words"}))
            yield self._handoff(reason, why)
            return
        self.ctx = await ToolContext.create(self.agent.connector, turn.customer, set(st.verified), self.lang)
        self.ctx.audit = self.audit
        self.ctx.calls = self.calls
        try:
            async for event in self._converse():
                yield event
        except ModelUnavailable as err:
            log.warning("claude.unavailable", conversation=turn.conversation_id, error=str(err))
            async for event in self._fallback(err):
                yield event

    def _words_reason(self, u: Understanding) -> tuple[str | None, str | None]:
        """The policy's checks on the shopper's own words, before any model sees them."""
        reason = escalation.from_words(u.asks_for_human or u.scenario == "human_request", u.negative)
        if reason:
            return reason, None
        if u.wants_gdpr or u.business:
            return "policy", "gdpr" if u.wants_gdpr else "business"
        return None, None

    def _merge(self, u: Understanding) -> None:
        """What the offline agent would need on a later fallback: email and order number."""
        emails = list(getattr(u.entities, "emails", []) or [])
        if emails:
            self.state.email = emails[0]
        numbers = list(getattr(u.entities, "order_numbers", []) or [])
        if numbers:
            self.state.order_number = numbers[0]

    async def _converse(self) -> AsyncIterator[ReplyEvent]:
        agent, turn = self.agent, self.turn
        assert self.ctx is not None
        customer = turn.customer
        self.redactor.seed([customer.name] if customer else [], [customer.email] if customer else [])
        who = None
        if customer:
            who = self._out(f"{customer.name} ({customer.email})" if customer.name else customer.email)
        dynamic = turn_prompt(self.store, self.ctx.now, self.lang, who, sorted(self.ctx.verified_orders),
                              turn.page_product)
        system = system_blocks(await agent.static_prompt(), dynamic)
        messages = self._history()
        budget = Budget(self.settings.claude_first_token_budget_s)
        max_steps = max(1, self.settings.claude_max_steps)
        sent_from = len(messages) - 1
        for step in range(1, max_steps + 1):
            request = {"model": self.settings.claude_model, "max_tokens": self.settings.claude_max_tokens,
                       "system": system, "tools": agent.tools, "messages": messages}
            budget.restart()
            reply: Reply | None = None
            attempts: list[str] = []
            record = AuditRecord("llm_request", None, "ok", {
                "model": self.settings.claude_model, "step": step, "messages": len(messages),
                "personal_data": self.settings.llm_personal_data,
                "sent": self._for_audit(messages[sent_from:]), "attempts": attempts})
            self.audit.append(record)
            try:
                async for item in self._model_step(request, budget, attempts):
                    if isinstance(item, Reply):
                        reply = item
                    else:
                        yield item
            except ModelUnavailable as err:
                record.outcome = err.kind
                raise
            assert reply is not None
            calls = reply.tool_calls
            record.detail.update(stop_reason=reply.stop_reason, tool_calls=[c["name"] for c in calls])
            if reply.stop_reason == "refusal":  # the model declined: a person looks at it
                yield self._handoff("low_confidence")
                return
            if reply.stop_reason != "tool_use" or not calls:
                if not self.text.strip():
                    raise ModelUnavailable("empty", "the model answered nothing")
                self.state.finish()  # whatever the offline agent had pending is answered
                yield ReplyDone(self.text)
                return
            messages.append({"role": "assistant", "content": reply.content})
            hand_over = next((c for c in calls if c["name"] == HAND_OVER), None)
            if hand_over is not None:
                yield self._model_handoff(hand_over)
                return
            if step == max_steps:
                # The model still wants tools after its last allowed call: a person decides.
                self.audit.append(AuditRecord("step_cap", None, "low_confidence",
                                              {"steps": step, "wanted": [c["name"] for c in calls]}))
                yield self._handoff("low_confidence")
                return
            for status in self._statuses(calls):
                yield StatusEvent(status)
            outcomes = await asyncio.gather(*(self._run_tool(c) for c in calls))
            reasons = [o.handoff for o in outcomes]
            reason = escalation.first(*reasons)
            if reason:
                why = next(o.why for o in outcomes if o.handoff == reason)
                self.audit.append(AuditRecord("escalation", self.state.order, reason, {"by": "tool_result"}))
                yield self._handoff(reason, why)
                return
            messages.append({"role": "user", "content": [o.block for o in outcomes]})
            sent_from = len(messages) - 1
        raise AssertionError("unreachable")

    async def _model_step(self, request: dict[str, Any], budget: Budget,
                          attempts: list[str]) -> AsyncIterator[ReplyDelta | Reply]:
        """One model call: its text to the shopper as it comes (placeholders mapped back),
        without repeating what a broken, retried answer already showed."""
        before = self.text
        separator = "\n\n" if before.strip() else ""  # after the text of an earlier call
        restorer = StreamRestorer(self.redactor if self.agent.redact else None)
        attempt_text = ""
        reply: Reply | None = None
        # Read the model's stream to its end, so that it finishes (and records) on its own.
        async for item in self.agent.model.stream(request, budget, self.usage, attempts):
            if item is RESTART:
                restorer = StreamRestorer(self.redactor if self.agent.redact else None)
                attempt_text = ""
                self.text = before
                continue
            if isinstance(item, Reply):
                reply, piece = item, restorer.flush()
            else:
                assert isinstance(item, str)
                piece = restorer.feed(item)
            if not piece:
                continue
            attempt_text += piece if attempt_text else separator + piece
            delta = self._take(before + attempt_text)
            if delta:
                yield ReplyDelta(delta)
        assert reply is not None
        yield reply

    def _take(self, text: str) -> str:
        """The part of ``text`` (the answer so far) the widget has not been sent yet."""
        self.text = text
        if self.diverged:
            return ""
        if text.startswith(self.shown):
            delta = text[len(self.shown):]
            self.shown = text
            return delta
        if not self.shown.startswith(text):
            self.diverged = True  # the retry says something else: the full text goes at the end
        return ""

    def _statuses(self, calls: list[dict[str, Any]]) -> list[str]:
        out = []
        for c in calls:
            key = STATUS_PHRASES.get(c["name"])
            if key is None:
                continue
            number = str(c["input"].get("number") or "") if isinstance(c["input"], dict) else ""
            if key == "status_order" and not ORDER_NUMBER.fullmatch(number):
                key = "status_orders"
            text = self.agent.replies.phrase(self.lang, key, number=number)
            if text not in self.statuses:
                self.statuses.add(text)
                out.append(text)
        return out

    async def _run_tool(self, c: dict[str, Any]) -> ToolOutcome:
        """Run one tool the model asked for; the tool's own rules decide what it may do."""
        assert self.ctx is not None
        name, tool_id = c["name"], c["id"]
        raw = c["input"] if isinstance(c["input"], dict) else {}
        if name not in REGISTRY:
            return ToolOutcome(_error_block(tool_id, f"there is no tool named {name}"))
        arguments = self.redactor.restore_value(raw) if self.agent.redact else raw
        try:
            result = await call(self.ctx, name, arguments)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            self.audit.append(AuditRecord("tool_error", None, "invalid_arguments", {"tool": name}))
            return ToolOutcome(_error_block(tool_id, f"invalid arguments: {problems}"))
        except Exception:
            log.exception("claude.tool_failed", tool=name)
            self.audit.append(AuditRecord("tool_error", None, "failed", {"tool": name}))
            return ToolOutcome(_error_block(tool_id, "the tool failed; try again later or hand over"))
        if result.ok and name in ACTIONS:
            self.acted = True
        number = result.data.get("number") if result.ok else None
        if number and str(number) in self.ctx.verified_orders:
            self.state.order = str(number)
        reason, why = _policy_reason(name, result)
        payload = {"result": result.code, **result.data}
        redacted = _json(self.redactor.redact_value(payload))
        if not self.agent.redact:  # sent as is; the audit keeps the redacted copy
            self.audit_copies[tool_id] = redacted
        content = redacted if self.agent.redact else _json(payload)
        return ToolOutcome({"type": "tool_result", "tool_use_id": tool_id, "content": content},
                           reason, why)

    def _model_handoff(self, c: dict[str, Any]) -> HandoffEvent:
        args = c["input"] if isinstance(c["input"], dict) else {}
        reason = args.get("reason")
        if reason not in HANDOFF_REASONS:
            reason = "low_confidence"
        why = POLICY_TOPICS.get(str(args.get("topic") or "parcel")) if reason == "policy" else None
        summary = str(args.get("summary") or "")[:1000]
        if not self.agent.redact:
            summary = self.redactor.redact(summary)
        self.audit.append(AuditRecord("hand_over", self.state.order, reason,
                                      {"by": "model", "summary": summary, "topic": args.get("topic")}))
        return self._handoff(reason, why)

    # -- when the model is not there ---------------------------------------------------

    async def _fallback(self, err: ModelUnavailable) -> AsyncIterator[ReplyEvent]:
        """The offline agent answers if it is confident; else a person takes over."""
        turn = self.turn
        record = AuditRecord("llm_fallback", None, "handoff", {"error": err.kind})
        self.audit.append(record)
        if self.acted:
            # Something was already done this turn; a person confirms it rather than a
            # second agent that might do it again.
            yield self._handoff("low_confidence")
            return
        offline_turn = Turn(text=turn.text, locale=turn.locale, customer=turn.customer,
                            page_product=turn.page_product, history=turn.history,
                            state=self._state_dict(), conversation_id=turn.conversation_id)
        final: ReplyEvent | None = None
        try:
            async for event in self.agent.offline.respond(offline_turn):
                if isinstance(event, (ReplyDone, HandoffEvent)):
                    final = event
                    break
                if isinstance(event, StatusEvent):
                    yield event
        except Exception:
            log.exception("claude.offline_fallback_failed", conversation=turn.conversation_id)
            yield self._handoff("low_confidence")
            return
        self.state = DialogueState.load(offline_turn.state)
        self.audit.extend(offline_turn.audit)
        self.calls.extend(offline_turn.tools)
        turn.scenario, turn.confidence = offline_turn.scenario, offline_turn.confidence
        if isinstance(final, HandoffEvent):
            record.outcome = "offline_handoff"
            yield final
            return
        if isinstance(final, ReplyDone) and self._confident(offline_turn, final):
            record.outcome = "offline"
            yield ReplyDone(final.text, final.quick_replies)
            return
        yield self._handoff("low_confidence")

    def _confident(self, offline_turn: Turn, final: ReplyDone) -> bool:
        """An answer, not a guess: confident, and not the clarifying question nor the
        question it asked last time (a loop)."""
        if (offline_turn.confidence or 0.0) < self.settings.confidence_threshold:
            return False
        if self.state.awaiting == ["clarify"] or offline_turn.scenario is None:
            return False
        last = next((h.text for h in reversed(self.turn.history) if h.role == "agent"), None)
        return final.text.strip() != (last or "").strip()

    # -- what goes out -----------------------------------------------------------------

    def _out(self, text: str) -> str:
        return self.redactor.redact(text) if self.agent.redact else text

    def _out_cached(self, text: str) -> str:
        """``_out`` of an earlier message: the same as long as the mapping is the same."""
        if not self.agent.redact or not self.turn.conversation_id:
            return self._out(text)
        cache = self.agent.redacted
        key = (self.turn.conversation_id, self.redactor.fingerprint, text)
        found = cache.get(key)
        if found is None:
            found = self.redactor.redact(text)
            if self.redactor.fingerprint == key[1]:  # nothing new in it: safe to reuse as is
                cache[key] = found
                if len(cache) > REDACTED_CACHE:
                    cache.popitem(last=False)
        return found

    def _history(self) -> list[dict[str, Any]]:
        """The conversation so far from the database, then this message (user last)."""
        messages: list[dict[str, Any]] = []
        for item in self.turn.history:
            if item.role == "shopper":
                role, text = "user", item.text
            elif item.role == "agent":
                role, text = "assistant", item.text
            elif item.role == "human":
                role, text = "assistant", HUMAN_PREFIX + item.text
            else:
                continue
            if not text.strip():
                continue
            _append(messages, role, self._out_cached(text))
        while messages and messages[0]["role"] != "user":
            messages.pop(0)
        _append(messages, "user", self._out(self.turn.text))
        return messages

    def _for_audit(self, messages: list[dict[str, Any]]) -> list[Any]:
        """What a request added, without personal data (already so under ``redact``)."""
        out: list[Any] = []
        for m in messages:
            content = m["content"]
            if isinstance(content, str):
                content = content if self.agent.redact else self.redactor.redact(content)
            elif not self.agent.redact:
                content = [b | {"content": self.audit_copies[b["tool_use_id"]]}
                           if b.get("tool_use_id") in self.audit_copies else self.redactor.redact_value(b)
                           for b in content]
            out.append({"role": m["role"], "content": content})
        return out

    # -- the end of a turn -------------------------------------------------------------

    def _handoff(self, reason: str, why: str | None = None) -> HandoffEvent:
        has_email = bool(self.state.email or self.turn.customer or self.redactor.has("EMAIL"))
        text = self.agent.replies.render(self.lang, "handoff", reason=reason, why=why, has_email=has_email,
                                         s={"support_email": self.store.support_email})
        return HandoffEvent(reason, text)

    def _state_dict(self) -> dict[str, Any]:
        if self.ctx is not None:
            self.state.verified = sorted(set(self.state.verified) | self.ctx.verified_orders)
        return {**self.extra, **self.state.dump(), PII_KEY: self.redactor.dump()}

    def _write_turn(self) -> None:
        turn = self.turn
        turn.state = self._state_dict()
        turn.language = self.lang
        turn.tools = list(self.calls)
        turn.audit = self.audit
        turn.order_number = self.state.order or self.state.order_number
        turn.usage = dict(self.usage.totals)


def _append(messages: list[dict[str, Any]], role: str, text: str) -> None:
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"] += "\n\n" + text
    else:
        messages.append({"role": role, "content": text})


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _error_block(tool_id: str, message: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": message, "is_error": True}


def _policy_reason(name: str, result: ToolResult) -> tuple[str | None, str | None]:
    """Tool outcomes the support policy keeps for people, as the offline agent maps them."""
    if result.code == "over_limit":
        return "amount_over_limit", "amount"
    if result.code == "unknown_defect":
        return "unknown_defect", "defect"
    if name == "payment_status" and result.data.get("payment") == "double_capture":
        return "policy", "double_capture"
    if name == "order_status" and result.ok:
        for f in result.data.get("fulfillments", []):
            if f.get("status") in ("exception", "returned_to_sender") or f.get("late_for_person"):
                return "policy", str(f.get("status"))
    return None, None
