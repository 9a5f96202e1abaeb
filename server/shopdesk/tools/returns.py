"""Returns, exchanges and known product defects: the tools that give money or goods back."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from ..store.connector import StoreError
from ..store.models import Order, localized
from .base import ToolContext, ToolResult, tool
from .views import order_view, window_end


class ReturnArgs(BaseModel):
    number: str
    skus: list[str] = Field(description="The skus of the order lines to return")


class ExchangeArgs(BaseModel):
    number: str
    sku: str = Field(description="The sku of the order line to exchange")
    size: str | None = Field(default=None, description="The wanted size")
    color: str | None = Field(default=None, description="The wanted colour")


class DefectArgs(BaseModel):
    number: str
    sku: str = Field(description="The sku of the faulty item")
    description: str = Field(description="The fault in the shopper's words")


def delivered_on(ctx: ToolContext, order: Order, sku: str) -> date | None:
    for f in order.fulfillments:
        if sku in f.skus and f.status == "delivered":
            return ctx.local(f.delivered_at).date() if f.delivered_at else f.estimated_delivery
    return None


async def _eligibility(ctx: ToolContext, order: Order, skus: list[str]) -> tuple[str, dict[str, Any]]:
    """Why these lines cannot go back, or ``ok``: final sale, not delivered, window passed."""
    view = await order_view(ctx, order)
    chosen = [ln for ln in view["lines"] if ln["sku"] in skus]
    view["items"] = chosen
    view["window_days"] = ctx.store.return_window_days
    if not chosen:
        return "not_found", view
    returned = {sku for r in order.returns if r.status != "rejected" for sku in r.skus}
    again = [ln for ln in chosen if ln["sku"] in returned]
    if again:
        view["returned_items"] = again
        return "already_returned", view
    final = [ln for ln in chosen if ln["final_sale"]]
    if final:
        view["final_sale_items"] = final
        return "final_sale", view
    days = [delivered_on(ctx, order, ln["sku"]) for ln in chosen]
    if any(d is None for d in days):
        return "not_delivered", view
    last_day = window_end(min(d for d in days if d), ctx.store.return_window_days)
    view["delivered_on"] = min(d for d in days if d)
    view["window_end"] = last_day
    if ctx.today > last_day:
        return "outside_window", view
    view["amount"] = order.paid_for(skus)
    return "ok", view


async def returnable_lines(ctx: ToolContext, order: Order) -> list[dict[str, Any]]:
    """The lines of a verified order that could go back today (delivered, inside the window,
    not final sale, not returned yet), each as its line view with the day it was delivered:
    what a shopper choosing what to return chooses from. Their value does not count here:
    a return over the limit is still a return, which a person then takes."""
    lines = []
    for line in order.lines:
        code, view = await _eligibility(ctx, order, [line.sku])
        if code == "ok":
            lines.append(view["items"][0] | {"delivered_on": view["delivered_on"]})
    return lines


@tool("create_return", ReturnArgs)
async def create_return(ctx: ToolContext, args: ReturnArgs) -> ToolResult:
    """Create a return for lines of a verified, delivered order within the return window,
    not final sale, and worth at most the store's limit. Gives the return number, fee and
    refund."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("create_return", args.number, "not_verified")
        return ToolResult("not_verified")
    code, view = await _eligibility(ctx, order, args.skus)
    if code != "ok":
        ctx.record("create_return", order.number, code)
        return ToolResult(code, view)
    if view["amount"] > ctx.limit:
        ctx.record("create_return", order.number, "over_limit", amount=view["amount"])
        return ToolResult("over_limit", view)
    rma = await ctx.connector.create_return(order.number, args.skus)
    fee = ctx.store.return_shipping_fee
    view.update(rma=rma.rma, fee=fee, refund=max(0.0, view["amount"] - fee),
                refund_days=list(ctx.store.refund_days))
    ctx.record("create_return", order.number, rma=rma.rma, amount=view["amount"])
    return ToolResult("ok", view)


@tool("create_exchange", ExchangeArgs)
async def create_exchange(ctx: ToolContext, args: ExchangeArgs) -> ToolResult:
    """Exchange a line of a verified, delivered order for another size or colour: as a return,
    with the wanted variant reserved if in stock; out of stock gives the restock date."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("create_exchange", args.number, "not_verified")
        return ToolResult("not_verified")
    code, view = await _eligibility(ctx, order, [args.sku])
    if code != "ok":
        ctx.record("create_exchange", order.number, code)
        return ToolResult(code, view)
    found = await ctx.connector.variant(args.sku)
    if found is None:
        ctx.record("create_exchange", order.number, "not_found", sku=args.sku)
        return ToolResult("not_found", view)
    product, current = found
    size, color = args.size or current.size, args.color or current.color
    target = next((v for v in product.variants if v.size == size and v.color == color), None)
    view["wanted"] = {"size": size, "color": color, "title": localized(product.title, ctx.locale)}
    view["fee"] = 0
    if target is None:
        ctx.record("create_exchange", order.number, "no_such_variant")
        return ToolResult("no_such_variant", view | {"sizes": [v.size for v in product.variants if v.color == color]})
    if view["amount"] > ctx.limit:
        ctx.record("create_exchange", order.number, "over_limit", amount=view["amount"])
        return ToolResult("over_limit", view)
    if target.stock < 1:
        ctx.record("create_exchange", order.number, "out_of_stock", sku=target.sku)
        return ToolResult("out_of_stock", view | {"restock_date": target.restock_date,
                                                   "fee": ctx.store.return_shipping_fee})
    try:
        rma = await ctx.connector.create_return(order.number, [args.sku], exchange_sku=target.sku)
    except StoreError as err:
        ctx.record("create_exchange", order.number, err.code)
        return ToolResult(err.code, view)
    view["rma"] = rma.rma
    ctx.record("create_exchange", order.number, rma=rma.rma, sku=target.sku)
    return ToolResult("ok", view)


def _fold(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# Endings a keyword may take in the shopper's words (Danish and English inflection).
ENDINGS = ("", "s", "es", "e", "en", "er", "et", "ne", "ene", "erne", "ens", "ets", "ed", "ing",
           "ede", "ende")
E_STEM_ENDINGS = ("e", "es", "er", "en", "et", "ede", "ende", "ene", "erne")  # no English -ed


@lru_cache(maxsize=1024)
def _forms(keyword: str) -> frozenset[str]:
    """The words a one-word keyword may appear as: 'knap' -> knapper, knappen; 'pilling' -> pills;
    'knirke' -> knirkede; never 'handle' -> handled (another word) nor 'knap' -> knapt."""
    if keyword.endswith("e") and len(keyword) >= 4:
        forms = {keyword[:-1] + e for e in E_STEM_ENDINGS}
    else:
        forms = {keyword + e for e in ENDINGS}
        if keyword[-1:] not in "aeiouy" and len(keyword) >= 3:
            forms |= {keyword + keyword[-1] + e for e in ENDINGS if e}  # knap -> knappen
    for ending in ("ing", "er", "en", "es"):
        stem = keyword[: -len(ending)]
        if keyword.endswith(ending) and len(stem) >= 3:
            forms |= {stem + e for e in ENDINGS}
    return frozenset(forms)


@lru_cache(maxsize=256)
def _words(text: str) -> tuple[str, ...]:
    """Folded words, kept for the last texts: one message is tried against every keyword."""
    return tuple(re.findall(r"[a-z0-9]+", _fold(text)))


def matches_keyword(description: str, keyword: str) -> bool:
    """Whether a known defect's keyword is in the shopper's words, inflections allowed,
    other words not ('knapt' is not 'knap', 'handled' is not 'handle')."""
    words = _words(description)
    parts = _words(keyword)
    if not parts:
        return False
    head, last = parts[:-1], parts[-1]
    forms = _forms(last)
    for i in range(len(head), len(words)):
        if words[i] in forms and words[i - len(head):i] == head:
            return True
    if not head:
        return any(_in_compound(word, last, forms) for word in words)
    return False


MIN_COMPOUND_PART = 4


def _in_compound(word: str, keyword: str, forms: frozenset[str]) -> bool:
    """A Danish compound holds the keyword: "reflekslogoet" has "logo" (its head, at the
    end, inflected) and "refleks" (its first part); parts of four letters or more only,
    so "sole" is not found in "console"."""
    if len(keyword) < MIN_COMPOUND_PART or len(word) < len(keyword) + MIN_COMPOUND_PART:
        return False
    if any(word.endswith(f) and len(word) - len(f) >= MIN_COMPOUND_PART for f in forms):
        return True
    return len(keyword) >= 6 and word.startswith(keyword)


@tool("report_defect", DefectArgs)
async def report_defect(ctx: ToolContext, args: DefectArgs) -> ToolResult:
    """Match a reported fault against the product's known defects. A known one gets its
    standard remedy (replacement, refund or repair kit) within the limit; an unknown one
    is for a person."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("report_defect", args.number, "not_verified")
        return ToolResult("not_verified")
    found = await ctx.connector.variant(args.sku)
    if found is None or order.line(args.sku) is None:
        ctx.record("report_defect", order.number, "not_found", sku=args.sku)
        return ToolResult("not_found")
    product, _ = found
    view = await order_view(ctx, order)
    view["item"] = localized(product.title, ctx.locale)
    defect = next((d for d in product.known_defects
                   if any(matches_keyword(args.description, k) for k in d.keywords)), None)
    if defect is None:
        ctx.record("report_defect", order.number, "unknown_defect", sku=args.sku)
        return ToolResult("unknown_defect", view)
    value = 0.0 if defect.remedy == "repair_kit" else order.paid_for([args.sku])
    view.update(remedy=defect.remedy, defect=localized(defect.description, ctx.locale),
                amount=value, refund_days=list(ctx.store.refund_days))
    if value > ctx.limit:
        ctx.record("report_defect", order.number, "over_limit", amount=value)
        return ToolResult("over_limit", view)
    ctx.record("report_defect", order.number, remedy=defect.remedy, defect=defect.id)
    return ToolResult("ok", view)
