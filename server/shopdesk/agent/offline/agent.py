"""Routing of one shopper message: escalation checks, scenario choice, slot filling."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

from ...engine import HandoffEvent, ReplyDone, ReplyEvent, StatusEvent, Turn
from ...settings import Settings
from ...store.connector import StoreConnector
from ...store.models import StoreInfo, localized
from ...tools import ToolContext
from .. import escalation
from ..replies import Replies
from ..understanding import Entities, Understander
from ..understanding.entities import loose_codes, reports_fault
from ..understanding.language import detect_language
from ..understanding.requests import Clause, clauses, may_hold_two
from . import orders, shop
from .faq import FaqIndex
from .shipping import OwnShippingTexts
from .state import DialogueState
from .turn import Outcome, TurnContext

Handler = Callable[[TurnContext], Awaitable[Outcome]]

ORDER_SCENARIOS: dict[str, Handler] = {
    "order_status": orders.order_status,
    "delivery_delay": lambda t: orders.order_status(t, "delivery_delay"),
    "parcel_not_received": lambda t: orders.order_status(t, "parcel_not_received"),
    "change_address": orders.change_address,
    "cancel_order": orders.cancel,
    "change_order": orders.change_order,
    "return_request": orders.return_request,
    "exchange": orders.exchange,
    "refund_status": orders.refund_status,
    "invoice_copy": orders.invoice_copy,
    "payment_problem": orders.payment_problem,
    "product_defect": orders.product_defect,
}
SHOP_SCENARIOS: dict[str, Handler] = {
    "size_advice": shop.size_advice,
    "stock_availability": shop.stock_availability,
    "product_info": shop.product_info,
    "discount_code": shop.discount_code,
    "gift_card": shop.gift_card,
    "account_help": shop.account_help,
    "newsletter_unsubscribe": shop.newsletter_unsubscribe,
}
# The order is placed already: "I forgot to use my code", "jeg glemte at bruge koden".
_AFTER_THE_ORDER = re.compile(
    r"\b(?:forgot|forget|already\s+(?:ordered|paid|bought)|after\s+(?:i\s+)?(?:ordered|ordering|paying|paid)"
    r"|glemte|glemt|allerede\s+(?:bestilt|betalt|købt|koebt)|efter\s+(?:jeg\s+)?(?:bestilte|betalte|købte))\b",
    re.IGNORECASE)
# What is left on something: said of a gift card, never of a discount code.
_BALANCE = re.compile(r"\b(?:saldo\w*|balance|restbeløb\w*|restbeloeb\w*|remaining|left\s+on)\b", re.IGNORECASE)
# "Can I use both codes at once?"
_COMBINING = re.compile(
    r"\b(?:combin\w*|together|both|stack\w*|at\s+(?:the\s+same\s+time|once)|kombiner\w*|sammen|begge"
    r"|samtidig)\b", re.IGNORECASE)
# Questions that only look an order up, asked of several at once ("where are 1003 and 1013?")
_LOOKS_AT_EACH = ("order_status", "delivery_delay", "parcel_not_received", "refund_status")
MAX_ORDERS_AT_ONCE = 3
FACT_SCENARIOS = ("return_policy", "shipping_info", "payment_methods", "store_info")
STATUS_KEYS = {"order_status": "status_order", "delivery_delay": "status_order",
               "parcel_not_received": "status_order", "return_request": "status_return",
               "exchange": "status_return", "size_advice": "status_size",
               "stock_availability": "status_stock", "cancel_order": "status_order",
               "refund_status": "status_order", "product_defect": "status_order"}

# What a short follow-up may give to continue the scenario answered last.
FOLLOW_UP_SLOTS = {"discount_code": ["code"], "gift_card": ["code"],
                   "size_advice": ["product", "measurements"], "stock_availability": ["product", "size"],
                   "product_info": ["product"], "return_policy": ["product"]}

# The slots each scenario can make use of: a code says nothing to a newsletter question.
USES: dict[str, set[str]] = {
    "discount_code": {"code"}, "gift_card": {"code"}, "size_advice": {"product", "measurements"},
    "stock_availability": {"product", "size"}, "product_info": {"product"},
    "product_defect": {"product"}, "exchange": {"product", "size"}, "change_order": {"product", "size"},
    "return_request": {"product"}, "return_policy": {"product"},
}

CODE_SCENARIOS = frozenset({"discount_code", "gift_card"})

# Scenarios a store's FAQ may answer better, when it holds the shopper's question nearly word
# for word (a policy on discounts, the care of a kind of product).
FAQ_FIRST = frozenset({"product_info", "discount_code"})
FAQ_SAME_QUESTION = 0.75

RELATIVE_SIZE = [
    (re.compile(r"\b(en|et|one|1)\s+(str\.?|størrelse|stoerrelse|storrelse|size|nummer)\s+"
                r"(mindre|ned|smaller|down|lavere)\b", re.IGNORECASE), -1),
    (re.compile(r"\b(en|et|one|1)\s+(str\.?|størrelse|stoerrelse|storrelse|size|nummer)\s+"
                r"(større|stoerre|storre|op|bigger|larger|up|højere)\b", re.IGNORECASE), 1),
    (re.compile(r"\b(size|str\.?)\s+(down|ned)\b|\bsmaller size\b|\bmindre str|\bsize\s+smaller\b"
                r"|\b(størrelsen|str\.?)\s+under\b|\bnext\s+size\s+down\b", re.IGNORECASE), -1),
    (re.compile(r"\b(size|str\.?)\s+(up|op)\b|\b(bigger|larger) size\b|\bstørre str|\bsize\s+(bigger|larger)\b"
                r"|\b(størrelsen|str\.?)\s+over\b|\bnext\s+size(\s+up)?\b", re.IGNORECASE), 1),
]


_LONE_TOKEN = re.compile(r"\s*[\"'“”]?([A-Za-z0-9][A-Za-z0-9-]{3,29})[\"'“”]?[\s.!]*")


class OfflineAgent:
    name = "offline"

    def __init__(self, connector: StoreConnector, store: StoreInfo, understander: Understander,
                 replies: Replies, thresholds: escalation.Thresholds) -> None:
        self.connector = connector
        self.store = store
        self.understander = understander
        self.replies = replies
        self.faq = FaqIndex(store.faq)
        self.shipping = OwnShippingTexts(store, self.faq)
        self.thresholds = thresholds

    @classmethod
    async def build(cls, connector: StoreConnector, settings: Settings) -> OfflineAgent:
        store = await connector.store_info()
        products = await connector.products()
        understander = Understander.build(products, list(store.locales), store.default_locale,
                                          settings.catalogue, await connector.order_number_format())
        today = await connector.now()
        replies = Replies(settings.templates_dir, store.currency, today.year)
        return cls(connector, store, understander, replies,
                   escalation.Thresholds(settings.confidence_threshold))

    @property
    def answers_at_once(self) -> bool:
        """A turn is some CPU time here and no wait on the network, when the store's data
        is in this process too (the built-in connector; a shop system's API is not)."""
        return bool(getattr(self.connector, "in_process", False))

    def failure_text(self, locale: str | None) -> str:
        return self.replies.phrase(locale or self.store.default_locale, "agent_failed")

    async def respond(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
        state = DialogueState.load(turn.state)
        tools = await ToolContext.create(self.connector, turn.customer, set(state.verified))
        u = self.understander.understand(turn.text, page_product=turn.page_product or state.product)
        lang = detect_language(turn.text, list(self.store.locales),
                               state.lang or turn.locale or self.store.default_locale)
        state.lang = tools.locale = lang
        t = TurnContext(turn.text, lang, state, tools, u, phrases=self.replies)
        self._merge(t, turn)
        outcome, scenario = await self._decide(t)
        for number in t.status[:1]:
            yield StatusEvent(self.replies.phrase(lang, "status_order", number=number))
        state.verified = sorted(tools.verified_orders)
        if outcome.awaiting is not None:
            state.scenario = scenario
            state.awaiting = outcome.awaiting
            if state.first_text is None:
                state.first_text = turn.text
        elif outcome.handoff is None:
            state.finish()
            state.last_scenario = scenario
        turn.state = state.dump()
        turn.scenario, turn.confidence, turn.language = scenario, u.confidence, lang
        turn.tools, turn.audit = tools.calls, tools.audit
        turn.order_number = state.order or state.order_number
        common = {"store": self.store, "logged_in": tools.customer is not None}
        if outcome.handoff:
            data = {"reason": outcome.handoff, "has_email": bool(state.email or turn.customer),
                    "s": {"support_email": self.store.support_email}} | outcome.data
            said = [self.replies.render(lang, o.template, **(common | o.data)) for o in outcome.preceding]
            said.append(self.replies.render(lang, "handoff", **data))
            yield HandoffEvent(outcome.handoff, "\n\n".join(said))
            return
        parts = [*outcome.preceding, outcome, *outcome.following]
        text = "\n\n".join(self.replies.render(lang, o.template, **(common | o.data)) for o in parts)
        quick = [self.replies.phrase(lang, q) if isinstance(q, str) else self.replies.phrase(lang, q[0], **q[1])
                 for o in parts for q in o.quick]
        yield ReplyDone(text, list(dict.fromkeys(quick)))

    def _merge(self, t: TurnContext, turn: Turn) -> None:
        """Fold what this message says into the dialogue state."""
        st, e = t.state, t.understanding.entities
        emails = list(getattr(e, "emails", []) or [])
        if emails:
            st.email = emails[0]
        numbers = list(getattr(e, "order_numbers", []) or [])
        if numbers:
            st.order_number = numbers[0]
            st.orders_named = numbers if len(numbers) > 1 else []
        products = [m.product_id for m in e.products]
        if products:
            st.items = list(dict.fromkeys([*st.items, *products]))
        if turn.page_product:
            st.product = turn.page_product
        if e.wanted_sizes:
            st.sizes = list(e.wanted_sizes)
        if e.colors:
            st.colors = list(e.colors)
        if not e.codes and CODE_SCENARIOS & {st.scenario, st.last_scenario, t.understanding.scenario}:
            e.codes.extend(loose_codes(t.text))  # "is SOMMERFEST still valid?": no "code" said
        if not e.codes and st.awaiting == ["code"] and (alone := _LONE_TOKEN.fullmatch(t.text)):
            e.codes.append(alone.group(1).upper())  # the answer to "which code?": "fragtfri"
        if e.codes:
            st.codes = list(e.codes)
        measurements = dict(getattr(e, "measurements", {}) or {})
        if measurements:
            st.measurements.update(measurements)
        usual = getattr(e, "usual_size", None)
        if usual:
            st.usual_size = usual
        amounts = list(getattr(e, "amounts", []) or [])
        if amounts:
            st.amount = float(amounts[-1])
        address = getattr(e, "address", None)
        if address:
            st.address = {"line1": address.line1, "zip": address.zip, "city": address.city}
        for pattern, step in RELATIVE_SIZE:
            if pattern.search(t.text):
                st.relative_size = step
                break

    async def _decide(self, t: TurnContext) -> tuple[Outcome, str | None]:
        u, st = t.understanding, t.state
        # The classifier alone asks for a person only when it is sure: "cream please" is
        # closer to "human please" than to anything else, but says nothing of a person.
        asks = u.asks_for_human or (u.scenario == "human_request" and u.confidence >= self.thresholds.confidence)
        reason = escalation.from_words(asks, u.negative)
        if reason:
            return Outcome("handoff", handoff=reason), st.scenario or u.scenario
        if not st.scenario and st.last_scenario == "return_request" and st.last_return and _tells_why(t):
            # "it was too big", just after the return was registered: why, not a new request
            return Outcome("return_reason", {"rma": st.last_return}), "return_request"
        scenario = self._scenario(t)
        if not st.scenario:
            if scenario is not None and _only_entities(t) and not _gives_order_details(t):
                scenario = None  # a code alone is no request yet
            elif _is_vague(t.text) and scenario not in ("greeting", "human_request"):
                # "can you help me?", "I ordered something for my daughter": ask what with,
                # once; an FAQ entry that shares a word with it would answer another question.
                return self._clarify_or_handoff(t), None
        if scenario is not None and not st.awaiting and (other := self._other_request(t, scenario)):
            return await self._two_requests(t, scenario, *other)
        return await self._answer(t, scenario)

    async def _answer(self, t: TurnContext, scenario: str | None) -> tuple[Outcome, str | None]:
        """The answer to a message whose scenario is chosen (None: unclear)."""
        u, st = t.understanding, t.state
        if scenario is None:
            faq = self.faq.best(t.text, minimum=0.35)
            if faq is not None:
                return await shop.store_facts(t, "store_info", faq[0]), "store_info"
            return self._clarify_or_handoff(t), None
        if scenario in escalation.POLICY_CLASSES or u.wants_gdpr or u.business:
            scenario = scenario if scenario in escalation.POLICY_CLASSES else ("gdpr" if u.wants_gdpr else "business")
            return Outcome("handoff", {"why": scenario}, handoff="policy"), scenario
        if scenario == "other":
            faq = self.faq.best(t.text, minimum=0.6)
            if faq is not None:
                return await shop.store_facts(t, "store_info", faq[0]), "store_info"
            if _friendly_remark(t):  # small talk gets a short answer, not a person
                return Outcome("greeting", {"thanks": _is_thanks(t.text)}), "greeting"
            return Outcome("handoff", handoff="low_confidence"), scenario
        if scenario == "greeting":
            if not _only_greeting(t.text):  # more than a greeting, but unclear what
                return self._clarify_or_handoff(t), None
            return Outcome("greeting", {"thanks": _is_thanks(t.text)}), scenario
        if scenario in FAQ_FIRST and not st.scenario and not (u.entities.codes or u.entities.order_numbers):
            # "do you have a student discount?", "how do I waterproof leather boots?": the
            # store's own FAQ asks this very question, so its answer is the one to give.
            faq = self.faq.best(t.text, minimum=FAQ_SAME_QUESTION)
            if faq is not None:
                return await shop.store_facts(t, "store_info", faq[0]), "store_info"
        if scenario == "store_info" and _asks_about_warranty(t):
            # the store's FAQ entry on its warranty, else how a fault is reported here
            outcome = await shop.store_facts(t, "store_info", self.faq.best_about(t.text, "warranty"))
            outcome.data["topic"] = "warranty"
            return outcome, "store_info"
        if scenario in FACT_SCENARIOS:
            faq = self.faq.best(t.text, minimum=0.2) if scenario == "store_info" else None
            if scenario == "store_info" and faq is None and u.entities.products:
                # no FAQ entry is about it, but a product is: "can the snowsuit go in the dryer?"
                return await shop.product_info(t), "product_info"
            outcome = await shop.store_facts(t, scenario, faq[0] if faq else None)
            if scenario == "shipping_info":  # the store's own words, or the generic list
                outcome.data |= self.shipping.for_question(t.text, t.lang)
            if scenario == "return_policy" and st.items:  # "can I return this one?"
                outcome.data["p"] = (await t.tool("product_info", product=st.items[-1])).data
            return outcome, scenario
        handler = ORDER_SCENARIOS.get(scenario) or SHOP_SCENARIOS.get(scenario)
        if handler is None:
            return Outcome("handoff", handoff="low_confidence"), scenario
        if scenario == "discount_code" and orders.asks_for_money(t.text) and (
                u.entities.order_numbers or _AFTER_THE_ORDER.search(t.text)):
            # a code forgotten at checkout, its discount asked for afterwards: no rule of
            # ours gives money back for that, so a person decides
            return Outcome("handoff", handoff="low_confidence"), scenario
        numbers = list(dict.fromkeys(u.entities.order_numbers
                                     or (st.orders_named if st.scenario == scenario else [])))
        if scenario in _LOOKS_AT_EACH and 1 < len(numbers) <= MAX_ORDERS_AT_ONCE and (st.email or t.logged_in):
            return await _each_order(t, handler, numbers), scenario
        # (not the order and email of a verification: asking for them again is the answer
        # to one who cannot give them, and no reason to hand over by itself)
        asked = list(st.awaiting) if st.scenario == scenario and not {"order", "email"} & set(st.awaiting) else None
        outcome = await handler(t)
        if (scenario == "discount_code" and len(set(st.codes)) > 1 and _COMBINING.search(t.text)
                and (faq := self.faq.best(t.text, minimum=0.2)) is not None):
            # "can I combine VELKOMMEN10 and SPAR100?": the store's words on it, then each code
            outcome.preceding.insert(0, Outcome("faq_text", {"faq_answer": localized(faq[0].answer, t.lang)}))
        if asked and outcome.awaiting == asked and self._unclear_answer(t, asked):
            # The same question again, and the shopper's answer was no answer to it
            # either: after one clarifying question a person takes over.
            return Outcome("handoff", handoff="low_confidence"), scenario
        return outcome, scenario

    async def _two_requests(self, t: TurnContext, scenario: str, mine: Clause, clause: Clause,
                            other: str) -> tuple[Outcome, str | None]:
        """A message that asks two things ("Where is order 1003? ... Also, what is your
        return policy?") gets both answers in one reply, each from what its own clause
        names. A person needed for either takes the whole conversation, as the policy's
        reasons say; one question to the shopper at a time."""
        st = t.state
        u, own = self.understander.understand(clause.text), self.understander.understand(mine.text)
        same_product = scenario in _ABOUT_A_PRODUCT and other in _ABOUT_A_PRODUCT
        # An order number in each clause ("Where is order 1003? ... Also my sweater from
        # order 1019 is pilling"): each request is about its own order.
        own_orders = len(t.understanding.entities.order_numbers) > 1
        _focus(st, own.entities, u.entities, same_product, own_order=own_orders)
        first, scenario_first = await self._answer(t, scenario)
        if first.handoff is not None or scenario_first is None or first.template == "clarify":
            return first, scenario_first
        if other == "product_defect" and not (u.entities.defect_words or u.entities.known_defects):
            return first, scenario_first  # a fault no word of the clause reports
        if not own_orders and not await self._same_order_fits(t, other, u.entities.product_ids):
            return first, scenario_first  # the second request is about another order
        _focus(st, u.entities, own.entities, same_product, own_order=True)
        sub = TurnContext(clause.text, t.lang, st, t.tools, u, status=t.status, phrases=t.phrases)
        second, _ = await self._answer(sub, other)
        if second.handoff is not None:
            if second.handoff == "low_confidence":
                return first, scenario_first
            second.preceding.append(first)  # the hand-over wins; what was done is still said
            return second, other
        if second.template == "clarify" or (first.awaiting is not None and second.awaiting is not None):
            return first, scenario_first
        if other == "store_info" and not second.data.get("faq_answer"):
            return first, scenario_first  # no more than "write to us": no answer to add
        if second.awaiting is not None:  # the answer first, the question last
            st.first_text = clause.text  # what the pending request is about
            second.preceding.append(first)
            return second, other
        if first.awaiting is not None:
            # The question is the first request's: what it is about is what its clause named.
            _focus(st, own.entities, u.entities, same_product)
            st.first_text = mine.text
        if first.awaiting is not None or clause.start < mine.start:
            first.preceding.append(second)  # answers in the order asked, a question last
        else:
            first.following.append(second)
        return first, scenario_first

    async def _same_order_fits(self, t: TurnContext, scenario: str, products: list[str]) -> bool:
        """A second request about an order: the order the first one found, unless its
        clause names an item that order does not hold. A logged-in shopper's own orders
        are looked through again for it ("where is my order? also my sweater is pilling")."""
        st = t.state
        if scenario not in ORDER_SCENARIOS or not st.order:
            return True
        if t.logged_in and not st.order_number:
            st.order = None  # picked for the first request: the second picks its own
            return True
        order = await t.tools.verified_order(st.order)
        return order is None or not products or await orders.holds(t, order, products)

    def _other_request(self, t: TurnContext, scenario: str) -> tuple[Clause, Clause, str] | None:
        """The clause that asks for ``scenario``, and another that clearly asks something of
        another kind, with what it asks; None for a message that asks one thing."""
        text = t.text
        if not may_hold_two(text):
            return None
        parts = clauses(text)
        if len(parts) < 2:
            return None
        numbers = t.understanding.entities.order_numbers
        if len(numbers) > 1 and not _one_order_each(parts, numbers):
            return None  # which order each request is about would be a guess
        kind = _KIND.get(scenario, scenario)
        mine: Clause | None = None
        found: tuple[Clause, str] | None = None
        for clause in parts:
            # A clause about what came before it is read with it: "Are they coming
            # separately?" after the story of a missing parcel asks about that parcel,
            # "Where is it?" after an order number about that order.
            p = self.understander.classifier.predict(text[: clause.end] if clause.refers_back
                                                     else clause.text)
            other = p.scenario
            if scenario == "product_defect" and other != scenario and self._reports_fault(clause.text):
                # "Where is order 1003? ... Also my sweater is pilling": the message is a
                # fault report for the words of this clause, however its few words read
                other = scenario
            if _KIND.get(other, other) == kind:
                mine = mine or clause
            elif (found is None and p.confidence >= self.thresholds.switch_confidence
                  and (_asks(clause.text) or other == "product_defect" and self._reports_fault(clause.text))
                  and other not in _NOT_A_SECOND_REQUEST
                  and not (other in _ACTIONS and scenario in _ACTIONS)):
                found = (clause, other)
        if mine is None or found is None:
            return None  # the whole message asks what no clause asks alone: one request
        return mine, *found

    def _reports_fault(self, clause: str) -> bool:
        """A fault told as a story ("my sweater has bobbles after two washes") asks for
        help without a question: a word for a fault, or the words of a fault the store
        knows in one of its products."""
        return reports_fault(clause) or bool(self.understander.understand(clause).entities.known_defects)

    def _unclear_answer(self, t: TurnContext, asked: list[str]) -> bool:
        u = t.understanding
        return not _answers(t, asked) and (u.scenario in ("other", "greeting")
                                           or u.confidence < self.thresholds.confidence)

    def _clarify_or_handoff(self, t: TurnContext) -> Outcome:
        """One clarifying question; unclear again after it goes to a person."""
        if t.state.clarified or t.state.awaiting == ["clarify"]:
            return Outcome("handoff", handoff="low_confidence")
        t.state.clarified = True
        return Outcome("clarify", awaiting=["clarify"])

    def _scenario(self, t: TurnContext) -> str | None:
        """The scenario this message belongs to, or None when it is unclear."""
        u, st, th = t.understanding, t.state, self.thresholds
        pending = st.scenario if st.awaiting and st.awaiting != ["clarify"] else None
        if pending:
            if u.scenario == pending or u.confidence < th.switch_confidence:
                return pending
            if u.scenario in ("greeting", "other") or _answers(t, st.awaiting):
                return pending
            return "store_info" if _asks_about_warranty(t) else u.scenario
        follow = FOLLOW_UP_SLOTS.get(st.last_scenario or "")
        if follow and _answers(t, follow) and (
                u.scenario == st.last_scenario or u.confidence < th.switch_confidence
                or not set(follow) & USES.get(u.scenario, set())):
            _resume_focus(st)
            return st.last_scenario  # "and what about CODE2?" after a code was checked
        if u.entities.warranty and (u.scenario in _WARRANTY_READINGS or u.confidence < th.confidence):
            # "is there a warranty on your jackets?" reports no fault: the store's words on
            # it; "my sweater pills, is that covered by the warranty?" is a fault report
            if _asks_about_warranty(t):
                return "store_info"
            if u.entities.defect_words or u.entities.known_defects:
                return "product_defect"
        if u.entities.codes and _BALANCE.search(t.text):
            return "gift_card"  # "hvad er saldoen på XK29-PL44": only a gift card has a balance
        if _gives_order_details(t):
            # "1003, anna@example.dk" with nothing asked (or after "what can I help with?"):
            # where that order is, looked up as any order is, is the likely request.
            return "order_status"
        if st.awaiting == ["clarify"] and st.first_text:
            combined = self.understander.understand(f"{st.first_text} {t.text}")
            if combined.confidence > u.confidence:
                u = combined
        if u.confidence < th.confidence:
            # a fault the store knows, in a product the message names: no doubt what it is about
            return "product_defect" if u.entities.known_defects and u.entities.products else None
        if u.scenario in ("order_status", "delivery_delay") and (u.entities.defect_words or u.entities.known_defects):
            # An order number makes any message look like a status question; a fault
            # described in it says what the shopper wants.
            return "product_defect"
        return str(u.scenario)


# Scenarios that are one request in other words: "Where is my order? When will it come?"
# asks once. Each maps to the first of its kind.
_KIND = {"delivery_delay": "order_status", "parcel_not_received": "order_status",
         "exchange": "return_request", "refund_status": "return_request", "return_policy": "return_request",
         "change_address": "change_order", "cancel_order": "change_order", "gift_card": "discount_code"}
# Requests that change an order: two in one message ("change the address, or else cancel
# it") may be alternatives, not a list, and are left to the first.
_ACTIONS = frozenset({"cancel_order", "change_address", "change_order", "return_request", "exchange",
                      "newsletter_unsubscribe"})
# Questions about a product, which two clauses may share when one names it.
_ABOUT_A_PRODUCT = frozenset({"size_advice", "stock_availability", "product_info", "return_policy"})
# Clauses that are no request of their own to answer beside another.
_NOT_A_SECOND_REQUEST = frozenset({"greeting", "other", "human_request", "gdpr", "business"})


def _focus(st: DialogueState, e: Entities, elsewhere: Entities | None = None,
           same_product: bool = False, own_order: bool = False) -> None:
    """What a clause names (products, sizes, colours, codes, measurements) is what the
    request in it is about, rather than all the message names; what only the other
    clause (``elsewhere``) names is no part of it, except the product two questions about
    a product share ("Do you have the sneakers in 42? Which size would you recommend?").
    ``own_order``: the order the clause names, if any, is the one its request is about
    (not the one another request looked at)."""
    if own_order and e.order_numbers:
        st.order_number = e.order_numbers[0]
    st.items = _own([m.product_id for m in e.products], st.items,
                    [m.product_id for m in elsewhere.products] if elsewhere and not same_product else [])
    st.sizes = _own(e.wanted_sizes, st.sizes, elsewhere.wanted_sizes if elsewhere else [])
    st.colors = _own(e.colors, st.colors, elsewhere.colors if elsewhere else [])
    st.codes = _own(e.codes, st.codes, elsewhere.codes if elsewhere else [])
    if e.measurements:
        st.measurements = dict(e.measurements)
    elif elsewhere is not None:
        st.measurements = {k: v for k, v in st.measurements.items() if k not in elsewhere.measurements}


async def _each_order(t: TurnContext, handler: Handler, numbers: list[str]) -> Outcome:
    """"Where are orders 1003 and 1013?": each order's answer, in the order named; a
    question or a hand-over for one of them ends the reply, after what was found."""
    found: list[Outcome] = []
    for number in numbers:
        t.state.order_number = number
        outcome = await handler(t)
        if outcome.handoff is not None or outcome.awaiting is not None:
            outcome.preceding[:0] = found
            return outcome
        found.append(outcome)
    first, *rest = found
    first.following.extend(rest)
    return first


def _one_order_each(parts: list[Clause], numbers: list[str]) -> bool:
    """Every order number stands in a clause of its own, no clause names two."""
    where = [[i for i, c in enumerate(parts) if re.search(rf"(?<!\d){re.escape(n)}(?!\d)", c.text)]
             for n in numbers]
    places = [w[0] for w in where if len(w) == 1]
    return len(places) == len(numbers) and len(set(places)) == len(places)


def _own(named: list[str], known: list[str], elsewhere: list[str]) -> list[str]:
    """The clause's own values if it names any; else what is known, less the other clause's."""
    return list(named) if named else [v for v in known if v not in elsewhere]


# Why an item goes back: the fit, the colour, a change of mind.
_RETURN_REASON = re.compile(
    r"\btoo\s+(?:big|small|large|long|short|tight|loose|wide|narrow)\b|\b(?:did\s*n[o']?t|does\s*n[o']?t|did\s+not"
    r"|does\s+not)\s+fit\b|\bwrong\s+(?:size|colou?r)\b|\bnot\s+as\s+(?:pictured|described|expected)\b"
    r"|\b(?:did\s*n[o']?t|do\s*n[o']?t)\s+like\b|\bchanged\s+my\s+mind\b"
    r"|\bfor\s+(?:stor|store|lille|små|lang|lange|kort|korte|stram|stramme|løs|løse|bred|brede|smal|smalle)\b"
    r"|\bpass(?:ede|er)\s+(?:ikke|mig\s+ikke)\b|\bforkert\s+(?:størrelse|farve)\b|\bfortr[uy]d"
    r"|\bkunne\s+ikke\s+lide\b|\bikke\s+som\s+(?:forventet|på\s+billedet)\b",
    re.IGNORECASE,
)


def _tells_why(t: TurnContext) -> bool:
    """The message says why an item goes back, and asks or names nothing new."""
    e = t.understanding.entities
    return ("?" not in t.text and not (e.order_numbers or e.emails or e.products or e.codes)
            and _RETURN_REASON.search(t.text) is not None)


def _asks(clause: str) -> bool:
    """A question or a request ("can you ...", "I want ..."), not a part of the story."""
    return "?" in clause or bool(_ASKING & set(re.findall(r"[^\W\d_]+", clause.lower())))


def _resume_focus(st: DialogueState) -> None:
    """A follow-up names what changes ("and in navy?"); the rest is what was asked before."""
    focus = st.focus or {}
    if st.items or not focus.get("product"):
        return  # a product named now starts afresh
    st.items = [focus["product"]]
    if st.colors and not st.sizes:
        st.sizes = list(focus.get("sizes") or [])
    if st.sizes and not st.colors:
        st.colors = list(focus.get("colors") or [])


def _answers(t: TurnContext, awaiting: list[str]) -> bool:
    """The message gives what the agent asked for and says little else."""
    e = t.understanding.entities
    given = {
        "order": bool(e.order_numbers), "email": bool(e.emails), "code": bool(e.codes),
        "product": bool(e.products), "measurements": bool(e.measurements or e.usual_size),
        "size": bool(e.sizes or e.colors), "address": e.address is not None, "item": bool(e.products),
        "which_order": bool(e.order_numbers or e.products),
    }
    if not any(given.get(slot) for slot in awaiting):
        return False
    rest = re.sub(r"\S+@\S+|\d[\d\s./-]*", " ", t.text)
    words = [w for w in re.findall(r"[^\W\d_]{3,}", rest)]
    return len(words) <= 8


GREETING_WORDS = frozenset(
    ["hi", "hii", "hey", "hello", "hej", "hejsa", "hallo", "halloo", "dav", "goddag", "godmorgen", "morgen", "god", "aften", "dag", "there", "thanks", "thank", "you", "tak", "mange", "skal", "have", "for", "hjaelpen", "hjælpen", "help", "cheers", "bye", "farvel", "vi", "ses", "good", "morning", "evening", "afternoon", "ok", "okay", "super", "fint", "perfekt", "great", "nice", "a", "lot", "so", "much", "very", "tusind", "tusinde", "kaempe", "stor", "tak", "mange", "hej", "igen", "again", "also"])

# Words that say someone wants help, but not with what.
VAGUE_WORDS = frozenset(
    ["can", "could", "you", "help", "me", "please", "i", "have", "a", "question", "som", "an", "about", "something", "issue", "problem", "need", "kan", "du", "hjaelpe", "hjælpe", "mig", "jeg", "har", "et", "spoergsmaal", "spørgsmål", "sporgsmal", "om", "noget", "hjaelp", "hjælp", "brug", "for", "med", "problem", "vil", "gerne", "spoerge", "spørge", "sporge", "lige", "bare", "want", "would", "like", "ask", "to", "the", "with", "is", "there", "someone", "anyone", "der", "nogen", "en"])


# Words that tell that the shopper bought something, and for whom, but not what they want
# ("I ordered something for my daughter", "jeg har købt noget til min kæreste"): a story
# begun, not yet a request.
STORY_WORDS = frozenset(
    ["ordered", "bought", "purchased", "got", "placed", "bestilt", "bestilte", "købt", "koebt", "kobt",
     "købte", "koebte", "kobte", "fik", "fået", "faaet", "faet", "some", "things", "stuff", "nogle",
     "ting", "for", "til", "my", "min", "mit", "mine", "from", "hos", "jer", "your", "yours", "online",
     "daughter", "son", "wife", "husband", "mother", "mom", "mum", "father", "dad", "friend", "girlfriend",
     "boyfriend", "partner", "kid", "kids", "child", "children", "sister", "brother", "grandchild",
     "granddaughter", "grandson", "gift", "present", "datter", "søn", "soen", "kone", "mand", "mor",
     "far", "veninde", "ven", "kæreste", "kaereste", "barn", "børn", "boern", "børnene", "barnebarn",
     "søster", "soester", "bror", "gave", "julegave", "fødselsdagsgave", "last", "week", "yesterday",
     "recently", "sidste", "uge", "går", "gaar", "nylig", "forleden"])


def _is_vague(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text.lower())
    return bool(words) and all(w in VAGUE_WORDS or w in GREETING_WORDS or w in STORY_WORDS for w in words)


def _only_entities(t: TurnContext) -> bool:
    """Just an email or a code, no words: nothing to act on yet."""
    e = t.understanding.entities
    rest = re.sub(r"\S+@\S+|[A-Z0-9][A-Z0-9-]{3,}|\d[\d\s./-]*", " ", t.text)
    return bool(e.emails or e.codes) and not re.findall(r"[^\W\d_]{2,}", rest)


# Words that label an order number or an email as it is given ("order no. 1003, my email
# is ...", "ordrenummer er 1003 og mailen ...").
DETAIL_WORDS = frozenset(
    ["order", "ordre", "ordren", "ordrenummer", "ordrenummeret", "ordrenr", "bestilling",
     "bestillingsnummer", "nr", "no", "number", "nummer", "nummeret", "email", "mail", "mailen",
     "mailadresse", "adresse", "address", "e", "is", "er", "it's", "its", "and", "og", "my", "min",
     "mit", "the", "here", "her", "this", "den", "det", "used", "brugte", "på", "paa", "med", "with"])


def _gives_order_details(t: TurnContext) -> bool:
    """An order number, an email or both, and nothing asked: no question, no request word,
    nothing else named, and either only the words that label them or a message that reads
    most like a status question."""
    u = t.understanding
    e = u.entities
    if not (e.order_numbers or e.emails) or "?" in t.text:
        return False
    if e.codes or e.products or e.defect_words or e.known_defects or e.address is not None:
        return False
    words = set(re.findall(r"[^\W\d_]+", re.sub(r"\S+@\S+", " ", t.text.lower())))
    if words & _ASKING:
        return False
    return u.scenario == "order_status" or not words - DETAIL_WORDS - GREETING_WORDS


# What the classifier reads a question about the warranty as, when it is one: a fault
# report (the word is in many of those), a store fact, a product or return question.
_WARRANTY_READINGS = frozenset({"product_defect", "store_info", "product_info", "return_policy",
                                "other", "greeting"})
_CLAIM = re.compile(r"\bclaim|\breklamer", re.IGNORECASE)


def _asks_about_warranty(t: TurnContext) -> bool:
    """A question about the warranty itself ("is there a warranty on your jackets?", "hvor
    lang garanti er der?"): it names the warranty, and describes no fault and makes no
    claim. "My zip broke, can I use the warranty?" is a fault report, answered as one."""
    e = t.understanding.entities
    return (e.warranty and not (e.defect_words or e.known_defects)
            and _CLAIM.search(t.text) is None)


# Words that ask for something: a message with one of them is a request, not a remark.
REQUEST_WORDS = frozenset(
    ["can", "could", "would", "will", "want", "need", "please", "help", "recommend", "tell", "send", "give", "find", "know", "where", "when", "how", "why", "who", "which", "kan", "kunne", "vil", "skal", "maa", "må", "hjaelp", "hjælp", "hjaelpe", "hjælpe", "anbefale", "fortælle", "fortaelle", "sende", "finde", "hvor", "hvornår", "hvornaar", "hvordan", "hvorfor", "hvem", "hvilken", "hvilke", "gerne", "brug", "behøver"])


# A clause with one of these asks something, with or without its question mark.
_ASKING = REQUEST_WORDS | {"what", "hvad"}


def _friendly_remark(t: TurnContext) -> bool:
    """"What a lovely shop!": a kind remark that asks for nothing and names nothing."""
    u = t.understanding
    e = u.entities
    if "?" in t.text or u.sentiment <= 0 or e.order_numbers or e.emails or e.codes or e.products:
        return False
    words = re.findall(r"[^\W\d_]+", t.text.lower())
    return 0 < len(words) <= 12 and not REQUEST_WORDS & set(words)


# The small words around a greeting or a thank-you ("thanks for all the help", "tak for det").
_AROUND_GREETING = frozenset(
    ["the", "all", "your", "it", "that", "this", "was", "were", "really", "helpful", "everything",
     "det", "var", "den", "alt", "jeres", "din", "dit", "virkelig", "hjælpsom", "hjaelpsom"])


def _only_greeting(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text.lower())
    return all(w in GREETING_WORDS or w in _AROUND_GREETING or len(w) < 3 for w in words)


def _is_thanks(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("tak", "thank", "thx", "ty ", "cheers"))
