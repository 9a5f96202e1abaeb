"""Discount codes and gift cards."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .base import ToolContext, ToolResult, tool


class CodeArgs(BaseModel):
    code: str
    subtotal: float | None = Field(default=None, description="The basket's value, if the shopper said")
    product: str | None = Field(default=None, description="A product the shopper wants to use it on")


class GiftCardArgs(BaseModel):
    code: str


@tool("check_discount", CodeArgs)
async def check_discount(ctx: ToolContext, args: CodeArgs) -> ToolResult:
    """Whether a discount code is valid and, if not, the exact reason: unknown, expired,
    not started, below minimum, excluded category, already used (told only to a logged-in
    shopper)."""
    code = await ctx.connector.discount_code(args.code)
    if code is None:
        ctx.record("check_discount", None, "unknown", code=args.code)
        return ToolResult("unknown", {"code": args.code.upper()})
    view = code.model_dump()
    view["ends_on"] = ctx.local(code.ends_at).date() if code.ends_at else None
    view["starts_on"] = ctx.local(code.starts_at).date() if code.starts_at else None
    product = await ctx.connector.product(args.product) if args.product else None
    reason = "ok"
    if code.starts_at and ctx.now < code.starts_at:
        reason = "not_started"
    elif code.ends_at and ctx.now > code.ends_at:
        reason = "expired"
    elif product is not None and product.category in code.excluded_categories:
        reason = "excluded_category"
        view["product_category"] = product.category
    elif code.min_subtotal and args.subtotal is not None and args.subtotal < code.min_subtotal:
        reason = "below_minimum"
    elif code.once_per_customer and ctx.customer is not None:
        customer = await ctx.connector.customer_by_email(ctx.customer.email)
        if customer and customer.id in code.used_by:
            reason = "already_used"
    view["logged_in"] = ctx.customer is not None
    view["subtotal"] = args.subtotal
    ctx.record("check_discount", None, reason, code=code.code)
    return ToolResult(reason, view)


@tool("gift_card_balance", GiftCardArgs)
async def gift_card_balance(ctx: ToolContext, args: GiftCardArgs) -> ToolResult:
    """Balance and expiry of a gift card by its code."""
    card = await ctx.connector.gift_card(args.code)
    if card is None:
        ctx.record("gift_card_balance", None, "unknown")
        return ToolResult("unknown", {"code": args.code.upper()})
    view = card.model_dump()
    reason = "ok"
    if card.disabled:
        reason = "disabled"
    elif card.expires_at and ctx.today > card.expires_at:
        reason = "expired"
    ctx.record("gift_card_balance", None, reason, code=card.code[-4:])
    return ToolResult(reason, view)
