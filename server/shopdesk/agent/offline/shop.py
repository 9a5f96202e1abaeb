"""Scenarios that need no order: catalogue, sizes, stock, codes, account, store facts."""

from __future__ import annotations

from typing import Any

from ...store.models import localized
from .turn import Outcome, TurnContext


def _product(t: TurnContext) -> str | None:
    return t.state.items[-1] if t.state.items else t.state.product


async def size_advice(t: TurnContext) -> Outcome:
    product = _product(t)
    if product is None:
        return t.ask("ask_product", ["product"], purpose="size")
    st = t.state
    result = await t.tool("recommend_size", product=product, measurements=st.measurements,
                          usual_size=st.usual_size)
    if result.code == "need_input":
        return t.ask("ask_measurements", ["measurements"], p=result.data)
    return Outcome("size_advice", {"code": result.code, "p": result.data})


async def stock_availability(t: TurnContext) -> Outcome:
    product = _product(t)
    if product is None:
        return t.ask("ask_product", ["product"], purpose="stock")
    size = t.state.sizes[-1] if t.state.sizes else None
    color = t.state.colors[-1] if t.state.colors else None
    result = await t.tool("stock", product=product, size=size, color=color)
    if result.code == "no_such_variant" and color and size:
        result = await t.tool("stock", product=product, size=size, color=None)
        result.data["color_missing"] = color
    return Outcome("stock_availability", {"code": result.code, "s": result.data})


async def product_info(t: TurnContext) -> Outcome:
    product = _product(t)
    if product is None:
        return t.ask("ask_product", ["product"], purpose="info")
    result = await t.tool("product_info", product=product)
    return Outcome("product_info", {"p": result.data, "asked": _asked_aspects(t.text)})


def _asked_aspects(text: str) -> list[str]:
    lowered = text.lower()
    cues = {
        "material": ("materiale", "lavet af", "stof", "material", "made of", "fabric", "uld", "wool",
                     "bomuld", "cotton", "kashmir", "cashmere", "silke", "silk", "læder", "leather"),
        "care": ("vask", "wash", "pleje", "care", "tørretumbl", "tumble", "rens", "dry clean", "dryer",
                 "maskine", "machine"),
        "fit": ("pasform", "fit", "stor i", "lille i", "runs", "size"),
        "price": ("pris", "price", "koster", "cost", "hvad koster", "how much"),
    }
    return [aspect for aspect, words in cues.items() if any(w in lowered for w in words)]


async def store_facts(t: TurnContext, scenario: str, faq: Any = None) -> Outcome:
    facts = (await t.tool("store_facts")).data
    data: dict[str, Any] = {"s": facts}
    if faq is not None:
        data["faq_answer"] = localized(faq.answer, t.lang)
    if scenario == "shipping_info":
        data["amount"] = t.state.amount
    if scenario == "payment_methods":
        data["missing"] = unaccepted_methods(t.text, facts["payment_methods"])
    return Outcome(scenario, data)


# Payment methods shoppers ask about by name; matched against the store's own list.
KNOWN_METHODS = ("PayPal", "Klarna", "MobilePay", "Apple Pay", "Google Pay", "Visa", "Mastercard",
                 "American Express", "Amex", "Dankort", "ViaBill", "Anyday", "Swish", "Vipps",
                 "Bitcoin", "crypto", "Diners", "Maestro", "iDEAL", "Revolut", "Sofort",
                 "bank transfer", "bankoverførsel", "cash on delivery", "efterkrav", "cash",
                 "kontant", "cheque", "check", "invoice", "faktura")


def unaccepted_methods(text: str, accepted: list[str]) -> list[str]:
    lowered = text.lower().replace(" ", "")
    have = " ".join(accepted).lower().replace(" ", "")
    asked = [m for m in KNOWN_METHODS if m.lower().replace(" ", "") in lowered]
    return [m for m in asked if m.lower().replace(" ", "") not in have]


MAX_CODES_AT_ONCE = 3


async def discount_code(t: TurnContext) -> Outcome:
    """Each code the message names ("can I use VELKOMMEN10 and SPAR100?"), in order."""
    if not t.state.codes:
        return t.ask("ask_code", ["code"], kind="discount")
    first, *rest = [await _one_code(t, code)
                    for code in list(dict.fromkeys(t.state.codes))[-MAX_CODES_AT_ONCE:]]
    first.following.extend(rest)
    return first


async def _one_code(t: TurnContext, code: str) -> Outcome:
    result = await t.tool("check_discount", code=code, subtotal=t.state.amount, product=_product(t))
    if result.code == "unknown":  # "my code X won't work" about a gift card's code
        card = await t.tool("gift_card_balance", code=code)
        if card.code != "unknown":
            return Outcome("gift_card", {"code": card.code, "g": card.data})
    return await _discount_outcome(t, result)


async def _discount_outcome(t: TurnContext, result: Any) -> Outcome:
    if result.code in ("excluded_category",) or result.data.get("excluded_categories"):
        result.data["excluded_titles"] = await _category_names(t, result.data.get("excluded_categories", []))
    return Outcome("discount_code", {"code": result.code, "d": result.data})


async def _category_names(t: TurnContext, categories: list[str]) -> list[str]:
    """Category ids in the shopper's language where phrases.yaml knows them."""
    return [t.phrase(f"category_{c}") or c.replace("_", " ") for c in categories]


async def gift_card(t: TurnContext) -> Outcome:
    if not t.state.codes:
        return t.ask("ask_code", ["code"], kind="gift_card")
    result = await t.tool("gift_card_balance", code=t.state.codes[-1])
    if result.code == "unknown":  # a discount code asked about as a gift card
        discount = await t.tool("check_discount", code=t.state.codes[-1], subtotal=t.state.amount,
                                product=_product(t))
        if discount.code != "unknown":
            return await _discount_outcome(t, discount)
    return Outcome("gift_card", {"code": result.code, "g": result.data})


def _email(t: TurnContext) -> str | None:
    if t.state.email:
        return t.state.email
    return t.tools.customer.email if t.tools.customer else None


async def account_help(t: TurnContext) -> Outcome:
    email = _email(t)
    if email is None:
        return t.ask("ask_email_only", ["email"], purpose="reset")
    await t.tool("reset_password", email=email)
    return Outcome("account_help", {"email": email})


async def newsletter_unsubscribe(t: TurnContext) -> Outcome:
    email = _email(t)
    if email is None:
        return t.ask("ask_email_only", ["email"], purpose="newsletter")
    await t.tool("unsubscribe", email=email)
    return Outcome("newsletter_unsubscribe", {"email": email})
