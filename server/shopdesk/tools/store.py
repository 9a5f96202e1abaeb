"""Store facts: shipping, payment methods, opening hours, returns policy, FAQ."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..store.models import localized
from .base import ToolContext, ToolResult, tool


class FactsArgs(BaseModel):
    topic: str | None = Field(default=None, description="A FAQ topic, or none for the basics")


@tool("store_facts", FactsArgs)
async def store_facts(ctx: ToolContext, args: FactsArgs) -> ToolResult:
    """The store's shipping methods, free-shipping threshold, payment methods, return
    policy, opening hours, contact and FAQ answers."""
    s = ctx.store
    loc = ctx.locale
    view = {
        "name": s.name, "currency": s.currency, "support_email": s.support_email,
        "opening_hours": localized(s.opening_hours, loc) or None,
        "return_window_days": s.return_window_days, "return_fee": s.return_shipping_fee,
        "refund_days": list(s.refund_days), "free_shipping_threshold": s.free_shipping_threshold,
        "payment_methods": s.payment_methods,
        "shipping": [{"name": localized(m.name, loc), "carrier": m.carrier, "price": m.price,
                      "days": list(m.delivery_days), "countries": m.countries}
                     for m in s.shipping_methods],
        "faq": {f.topic: {"question": localized(f.question, loc), "answer": localized(f.answer, loc)}
                for f in s.faq},
    }
    ctx.record("store_facts", None, topic=args.topic)
    return ToolResult("ok", view)
