"""Scenarios about one order: verification first, then status, changes, returns, money."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...store.models import KnownDefect, Order, Product, localized
from ...tools.returns import matches_keyword, returnable_lines
from .faq import fold
from .turn import Outcome, TurnContext

OPEN = ("unfulfilled", "partially_fulfilled", "fulfilled")


async def find_order(t: TurnContext, prefer: Callable[[Order], bool] | None = None,
                     sending_back: str | None = None) -> Order | Outcome:
    """The order the shopper means, once verified; else the question that gets us there.

    ``sending_back`` ("return", "exchange") is what a logged-in shopper wants to send back:
    with several orders that could go back, and no item named that only one holds, they
    are asked which rather than handed the newest.
    """
    st = t.state
    number = st.order_number
    if number and number != st.order:
        order = await t.tools.verified_order(number)
        if order is None and st.email:
            result = await t.tool("verify_order", number=number, email=st.email)
            if result.ok:
                order = await t.tools.verified_order(number)
        if order is not None:
            st.order = order.number
            st.verified = sorted(t.tools.verified_orders)
            return order
        if st.email or t.logged_in:
            # A wrong pair is answered as an unknown one: nothing about the order.
            st.failed_verifications += 1
            st.order_number, st.email = None, None
            return t.ask("not_verified", ["order", "email"], logged_in=t.logged_in)
        return t.ask("ask_email", ["email"], number=number)
    if st.order:
        order = await t.tools.verified_order(st.order)
        if order is not None:
            return order
    if t.logged_in:
        mine = await t.tool("my_orders")
        numbers = mine.data.get("orders", []) if mine.ok else []
        orders = [o for n in numbers if (o := await t.tools.verified_order(n))]
        # The order that holds the product the shopper names ("the backpack"), then the
        # one the scenario prefers (open, delivered, ...), then the newest.
        named = [o for o in orders if st.items and await holds(t, o, st.items)] or orders
        if sending_back and len(named) > 1:
            open_to_return = [(o, lines) for o in named if (lines := await returnable_lines(t.tools, o))]
            if len(open_to_return) > 1:
                return _ask_which_order(t, open_to_return, sending_back)
            named = [o for o, _ in open_to_return] or named
        chosen = [o for o in named if prefer(o)] if prefer else named
        pick = (chosen or named or [None])[0]
        if pick is not None:
            st.order = pick.number
            st.verified = sorted(t.tools.verified_orders)
            return pick
    if st.email and not number:
        return t.ask("ask_order_number", ["order"], email_given=True)
    return t.ask("ask_order", ["order", "email"])


# A question lists a few orders, each with a few items: enough to recognise them.
WHICH_ORDERS, WHICH_ITEMS = 5, 3


def _ask_which_order(t: TurnContext, orders: list[tuple[Order, list[dict[str, Any]]]],
                     purpose: str) -> Outcome:
    """Which of these orders (newest first)? Each with its number, the day it came and what
    of it can go back, and a quick reply that answers with its number."""
    listed = []
    for order, lines in orders[:WHICH_ORDERS]:
        titles = list(dict.fromkeys(ln["title"] for ln in lines))
        listed.append({"number": order.number, "delivered_on": max(ln["delivered_on"] for ln in lines),
                       "items": titles[:WHICH_ITEMS], "more": len(titles[WHICH_ITEMS:])})
    return Outcome("ask_which_order", {"orders": listed, "purpose": purpose},
                   quick=[("quick_order", {"number": o["number"]}) for o in listed],
                   awaiting=["which_order"])


async def holds(t: TurnContext, order: Order, products: list[str]) -> bool:
    """The order has a line of one of these products."""
    for line in order.lines:
        found = await t.tools.connector.variant(line.sku)
        if found and found[0].id in products:
            return True
    return False


def is_open(order: Order) -> bool:
    return order.status in OPEN or any(f.status != "delivered" for f in order.fulfillments)


def is_delivered(order: Order) -> bool:
    return any(f.status == "delivered" for f in order.fulfillments)


_SAYS_DELIVERED = re.compile(r"\b(?:delivered|leveret|afleveret|udleveret|levereret|deliverd)\b", re.IGNORECASE)


async def order_status(t: TurnContext, scenario: str = "order_status") -> Outcome:
    said = " ".join(x for x in (t.state.first_text, t.text) if x)
    # "it says delivered but nothing came": of a logged-in shopper's orders, the delivered one
    prefer = is_delivered if scenario == "parcel_not_received" and _SAYS_DELIVERED.search(said) else is_open
    order = await find_order(t, prefer)
    if isinstance(order, Outcome):
        return order
    t.status.append(order.number)
    named, view = await _order_lines(t, order)
    policy = _policy_case(view, scenario, named)
    if policy:
        return Outcome("handoff", {"why": policy}, handoff="policy")
    quick = ["track_parcel"] if any(f["tracking_url"] for f in view["fulfillments"]) else []
    # a parcel past its estimate is late, however the shopper asked: sorry, and by how much
    late = any(f.get("days_late") for f in view["fulfillments"])
    return Outcome("delivery_delay" if late else scenario, {"o": view}, quick=quick)


def _policy_case(view: dict[str, Any], scenario: str, named: list[dict[str, Any]]) -> str | None:
    """Parcels the store keeps for people (support policy, 'policy' reason)."""
    for f in view["fulfillments"]:
        if f["status"] in ("exception", "returned_to_sender"):
            return f["status"]
        if f["late_for_person"]:
            return "late"
    if scenario == "parcel_not_received" and _missing_was_delivered(view, named):
        return "delivered_not_received"
    return None


def _parcel_for_person(view: dict[str, Any]) -> str | None:
    """A parcel stuck with the carrier, sent back to us or long overdue: whatever the
    shopper asked about it (a return, a new address), a person takes it."""
    return _policy_case(view, "order_status", [])


def _missing_was_delivered(view: dict[str, Any], named: list[dict[str, Any]]) -> bool:
    """A parcel marked delivered holds what the shopper misses.

    With items named, it is about those; without, a delivered parcel explains the
    complaint only when nothing else of the order is still on its way or unshipped.
    """
    delivered = [f for f in view["fulfillments"] if f["status"] == "delivered"]
    if not delivered:
        return False
    titles = {title for f in delivered for title in f["contents"]}
    if named and len(named) < len(view["lines"]):
        return any(ln["title"] in titles for ln in named)
    return not view["unshipped"] and len(delivered) == len(view["fulfillments"])


async def cancel(t: TurnContext) -> Outcome:
    order = await find_order(t, lambda o: o.status == "unfulfilled")
    if isinstance(order, Outcome):
        return order
    result = await t.tool("cancel_order", number=order.number)
    if result.code == "over_limit":
        return Outcome("handoff", {"why": "amount"}, handoff="amount_over_limit")
    if result.code == "already_shipped" and (why := _parcel_for_person(result.data)):
        return Outcome("handoff", {"why": why}, handoff="policy")
    return Outcome("cancel_order", {"code": result.code, "o": result.data},
                   quick=["start_return"] if result.code == "already_shipped" else [])


async def change_address(t: TurnContext) -> Outcome:
    order = await find_order(t, lambda o: o.status == "unfulfilled")
    if isinstance(order, Outcome):
        return order
    address = t.state.address
    if order.status == "unfulfilled" and not address:
        return t.ask("ask_address", ["address"], number=order.number)
    if order.status != "unfulfilled":
        view = (await t.tool("order_status", number=order.number)).data
        if why := _parcel_for_person(view):
            return Outcome("handoff", {"why": why}, handoff="policy")
        return Outcome("change_address", {"code": "already_shipped", "o": view})
    assert address is not None
    result = await t.tool("change_address", number=order.number, **address)
    return Outcome("change_address", {"code": result.code, "o": result.data})


def _lines_named(t: TurnContext, titles: dict[str, list[str]], view_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order lines the shopper means: named products, else words shared with a title."""
    if len(view_lines) == 1:
        return view_lines
    said = _EMAIL.sub(" ", " ".join(x for x in (t.state.first_text, t.text) if x))
    scored = [(item_overlap(said, titles.get(ln["sku"], [ln["title"]])), ln) for ln in view_lines]
    best = max((score for score, _ in scored), default=0)
    named = [ln for score, ln in scored
             if ln["product_id"] in t.state.items or (best >= 4 and score >= max(4, best - 1))]
    if len(named) > 1:
        # "a belt with the blazer, but the belt is too short": the clause with the fault
        # names the item, the others only tell the story.
        for clause in _CLAUSE.split(said):
            if _MISFIT.search(clause):
                scored = [(item_overlap(clause, titles.get(ln["sku"], [ln["title"]])), ln) for ln in named]
                top = max(score for score, _ in scored)
                focused = [ln for score, ln in scored if top >= 4 and score >= max(4, top - 1)]
                if focused and len(focused) < len(named):
                    return focused
        # "the trousers fit, but I'll send the jacket back": the sentence that asks for
        # something names the item, the others only tell the story.
        asking = " ".join(x for x in _SENTENCE.split(said) if _ACTION.search(x))
        if asking:
            scored = [(item_overlap(asking, titles.get(ln["sku"], [ln["title"]])), ln) for ln in named]
            top = max(score for score, _ in scored)
            focused = [ln for score, ln in scored if top >= 4 and score >= max(4, top - 1)]
            if focused:
                return focused
    return named


_EMAIL = re.compile(r"\S+@\S+")  # "anna@example.dk" shares "ample" with "Sample"
_CLAUSE = re.compile(r"[,.!?;\n]+|\s(?:but|men|and|og|while|mens)\s", re.IGNORECASE)
_MISFIT = re.compile(
    r"\btoo\s+(?:small|big|large|short|long|tight|loose|wide|narrow)\b|\bdoes\s*n[o']?t\s+fit\b|\bdoesnt\s+fit\b"
    r"|\bfor\s+(?:lille|lil|stor|kort|lang|smal|stram|snæver|snaever|vid|bred)e?\b|\bpasser\s+ikke\b"
    r"|\bwrong\s+size\b|\bforkert\s+st",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|,\s*(?:men|but)\s+", re.IGNORECASE)
_ACTION = re.compile(
    r"retur|return|tilbage|send\w*(?:\s+\w+){0,3}\s+back|bytte|byt\b|exchange|swap|ombyt"
    r"|refund|pengene|money\s+back|i\s+stykker|broke|defekt|faulty|annuller|cancel",
    re.IGNORECASE,
)


def item_overlap(text: str, titles: list[str]) -> int:
    """Longest run of letters shared by a word of the text and a word of a title.

    Among the few lines of one order this finds "frakke" in "uldfrakke" and "kjolen" in
    "midikjole", which whole-word matching misses in Danish compounds.
    """
    words = [w for w in re.findall(r"[^\W\d_]{4,}", fold(text)) if w not in _NOT_ITEMS]
    best = 0
    for title in titles:
        for tw in re.findall(r"[^\W\d_]{4,}", fold(title)):
            for w in words:
                best = max(best, _common_run(w, tw))
    return best


_NOT_ITEMS = frozenset({"ordre", "order", "gerne", "returnere", "return", "bytte", "exchange",
                        "want", "would", "like", "vil", "have", "mine", "with", "from", "that",
                        "this", "size", "stoerrelse", "storrelse"})


def _common_run(a: str, b: str) -> int:
    """The length of the longest run of letters ``a`` and ``b`` share (substring search in C)."""
    if len(a) > len(b):
        a, b = b, a
    for size in range(len(a), 0, -1):
        for i in range(len(a) - size + 1):
            if a[i : i + size] in b:
                return size
    return 0


async def _order_lines(t: TurnContext, order: Order) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    view = (await t.tool("order_status", number=order.number)).data
    titles: dict[str, list[str]] = {}
    for line in order.lines:
        found = await t.tools.connector.variant(line.sku)
        if found:
            titles[line.sku] = found[0].titles() + [found[0].category]
    return _lines_named(t, titles, view["lines"]), view


def _wanted_size(t: TurnContext, line: dict[str, Any], sizes: list[str]) -> str | None:
    other = [s for s in t.state.sizes if s != line.get("size")]
    if other:
        return other[-1]
    if t.state.relative_size and line.get("size") in sizes:
        index = sizes.index(line["size"]) + t.state.relative_size
        if 0 <= index < len(sizes):
            return sizes[index]
    return None


async def _sizes_of(t: TurnContext, product_id: str | None) -> list[str]:
    if not product_id:
        return []
    info = await t.tool("product_info", product=product_id)
    return list(info.data.get("sizes", []))


async def return_request(t: TurnContext) -> Outcome:
    order = await find_order(t, is_delivered, sending_back="return")
    if isinstance(order, Outcome):
        return order
    lines, view = await _order_lines(t, order)
    if not lines and (_wants_all(t.text + " " + (t.state.first_text or "")) or not is_delivered(order)):
        lines = view["lines"]  # nothing has arrived yet: that is the answer, whichever item
    if not lines:
        return t.ask("ask_which_item", ["item"], o=view)
    result = await t.tool("create_return", number=order.number, skus=[ln["sku"] for ln in lines])
    if result.code == "over_limit":
        return Outcome("handoff", {"why": "amount"}, handoff="amount_over_limit")
    if result.code == "not_delivered" and (why := _parcel_for_person(result.data)):
        return Outcome("handoff", {"why": why}, handoff="policy")
    if result.ok:
        t.state.last_return = result.data.get("rma")
    return Outcome("return_request", {"code": result.code, "r": result.data},
                   quick=[] if result.ok else ["return_policy"])


MONEY_WORDS = ("refund", "money back", "my money", "pengene", "penge tilbage", "refunder",
               "tilbagebetal", "erstatning", "replacement", "new one", "en ny", "et nyt", "compensat",
               "kompensation")


def asks_for_money(text: str) -> bool:
    """The shopper asks for money or goods to be given (policy: counts against the limit)."""
    lowered = text.lower()
    return any(w in lowered for w in MONEY_WORDS)


def _wants_all(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("hele ordren", "hele min ordre", "alt sammen", "everything",
                                       "whole order", "entire order", "all of it", "begge", "both"))


def _wanted_color(t: TurnContext, line: dict[str, Any]) -> str | None:
    """The colour asked for: "cream instead of charcoal" names the line's own colour too."""
    current = (line.get("color") or "").lower()
    other = [c for c in t.state.colors if c.lower() != current]
    return other[-1] if other else None


async def exchange(t: TurnContext) -> Outcome:
    order = await find_order(t, is_delivered, sending_back="exchange")
    if isinstance(order, Outcome):
        return order
    if order.status == "unfulfilled":
        return await change_order(t)  # not shipped yet: the line itself can still change
    lines, view = await _order_lines(t, order)
    if not lines:
        return t.ask("ask_which_item", ["item"], o=view)
    line = lines[0]
    sizes = await _sizes_of(t, line["product_id"])
    size = _wanted_size(t, line, sizes)
    color = _wanted_color(t, line)
    if not size and not color:
        return t.ask("ask_wanted_variant", ["size"], item=line["title"], sizes=sizes,
                     now=[v for v in (line.get("color"), line.get("size")) if v])
    result = await t.tool("create_exchange", number=order.number, sku=line["sku"], size=size, color=color)
    if result.code == "over_limit":
        return Outcome("handoff", {"why": "amount"}, handoff="amount_over_limit")
    return Outcome("exchange", {"code": result.code, "x": result.data})


async def change_order(t: TurnContext) -> Outcome:
    order = await find_order(t, lambda o: o.status == "unfulfilled")
    if isinstance(order, Outcome):
        return order
    lines, view = await _order_lines(t, order)
    if order.status != "unfulfilled":
        return Outcome("change_order", {"code": "already_shipped", "o": view},
                       quick=["start_exchange"])
    if not lines:
        return t.ask("ask_which_item", ["item"], o=view)
    line = lines[0]
    sizes = await _sizes_of(t, line["product_id"])
    size = _wanted_size(t, line, sizes)
    color = _wanted_color(t, line)
    if not size and not color:
        return t.ask("ask_wanted_variant", ["size"], item=line["title"], sizes=sizes,
                     now=[v for v in (line.get("color"), line.get("size")) if v])
    result = await t.tool("change_line", number=order.number, sku=line["sku"], size=size, color=color)
    return Outcome("change_order", {"code": result.code, "o": result.data, "item": line["title"]})


async def refund_status(t: TurnContext) -> Outcome:
    order = await find_order(t, lambda o: bool(o.returns) or o.status == "cancelled")
    if isinstance(order, Outcome):
        return order
    result = await t.tool("refund_status", number=order.number)
    return Outcome("refund_status", {"o": result.data})


async def invoice_copy(t: TurnContext) -> Outcome:
    order = await find_order(t)
    if isinstance(order, Outcome):
        return order
    result = await t.tool("resend_invoice", number=order.number)
    return Outcome("invoice_copy", {"number": order.number, "email": result.data.get("email")})


async def payment_problem(t: TurnContext) -> Outcome:
    order = await find_order(t)
    if isinstance(order, Outcome):
        return order
    result = await t.tool("payment_status", number=order.number)
    if result.data.get("payment") == "double_capture":
        return Outcome("handoff", {"why": "double_capture"}, handoff="policy")
    return Outcome("payment_problem", {"o": result.data, "says_charged": _SAYS_CHARGED.search(t.text) is not None})


# "money was taken from my account", "pengene er trukket": an amount the shopper sees
_SAYS_CHARGED = re.compile(
    r"\b(?:charged|taken|withdrawn|deducted|debited|trukket|hævet|haevet|taget)\b", re.IGNORECASE)


def _known_defect(product: Product, described: str) -> KnownDefect | None:
    """The product's known defect that the shopper's words describe, if any."""
    return next((d for d in product.known_defects
                 if any(matches_keyword(described, k) for k in d.keywords)), None)


def _unknown_defect(t: TurnContext, value: float) -> Outcome:
    """A fault no known defect describes is for a person; a refund or replacement asked
    for above the limit is that first (the policy's order of reasons)."""
    if asks_for_money(t.text) and value > t.tools.limit:
        return Outcome("handoff", {"why": "amount"}, handoff="amount_over_limit")
    return Outcome("handoff", {"why": "defect"}, handoff="unknown_defect")


async def _own_order_holding(t: TurnContext, focus: Order) -> Order | None:
    """Of a logged-in shopper's orders, the one that holds the products named; the order
    in focus stays in focus when none does. The order number the shopper gave stays
    theirs: another request of the message may be about it."""
    st = t.state
    number, st.order, st.order_number = st.order_number, None, None
    found = await find_order(t, is_delivered)
    st.order_number = number
    if isinstance(found, Order) and await holds(t, found, st.items):
        return found
    st.order = focus.number
    return None


async def _defect_elsewhere(t: TurnContext, order: Order) -> Outcome:
    """A fault in a named product that the order in focus does not hold. A known defect of
    that product is answered as one: what it is and its remedy, and a question for the
    order it came in (the remedy needs that order, verified); a fault none of its known
    defects describes goes to a person."""
    st = t.state
    described = " ".join(x for x in (st.first_text, t.text) if x)
    products = [p for pid in st.items if (p := await t.tools.connector.product(pid)) is not None]
    for product in products:
        defect = _known_defect(product, described)
        if defect is not None:
            st.order_number = None  # the next order number given is the one to look in
            # (the remedy is promised only where no person must decide it: within the limit)
            within = defect.remedy == "repair_kit" or product.price <= t.tools.limit
            remedy = defect.remedy if within else None
            return Outcome("product_defect", {"code": "which_order", "number": order.number, "d": {
                "item": localized(product.title, t.lang), "defect": localized(defect.description, t.lang),
                "remedy": remedy}}, awaiting=["order"])
    return _unknown_defect(t, max((p.price for p in products), default=0.0))


async def product_defect(t: TurnContext) -> Outcome:
    st = t.state
    # A fault that matches none of the named product's known defects needs a person, and
    # telling that needs no order data, so no verification first.
    if st.items and not st.order and not st.order_number and t.understanding.entities.defect_words:
        product = await t.tools.connector.product(st.items[0])
        if product is not None and _known_defect(product, st.first_text or t.text) is None:
            return _unknown_defect(t, product.price)
    order = await find_order(t, is_delivered)
    if isinstance(order, Outcome):
        return order
    if st.items and not await holds(t, order, st.items):
        # The product named is not in the order in focus ("where is order 1003? also my
        # sweater is pilling"): a logged-in shopper's own order that holds it, else its
        # own known defects say whether the fault is known.
        mine = await _own_order_holding(t, order) if t.logged_in else None
        if mine is None:
            return await _defect_elsewhere(t, order)
        order = mine
    lines, view = await _order_lines(t, order)
    if not lines:
        return t.ask("ask_which_item", ["item"], o=view)
    line = lines[0]
    described = " ".join(x for x in (st.first_text, t.text) if x)
    result = await t.tool("report_defect", number=order.number, sku=line["sku"], description=described)
    if result.code == "over_limit":
        return Outcome("handoff", {"why": "amount"}, handoff="amount_over_limit")
    if result.code == "unknown_defect":
        if asks_for_money(described) and line["paid"] > t.tools.limit:
            return Outcome("handoff", {"why": "amount"}, handoff="amount_over_limit")
        return Outcome("handoff", {"why": "defect"}, handoff="unknown_defect")
    return Outcome("product_defect", {"code": result.code, "d": result.data})
