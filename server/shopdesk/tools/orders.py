"""Order tools: verify, status and tracking, payment, refunds, invoice, changes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..store.connector import StoreError
from ..store.models import Address
from .base import ToolContext, ToolResult, tool
from .views import order_view


class OrderRef(BaseModel):
    number: str = Field(description="The order number the shopper gave, digits only")


class VerifyArgs(BaseModel):
    number: str = Field(description="Order number")
    email: str = Field(description="The email the shopper says is on the order")


class NoArgs(BaseModel):
    pass


@tool("verify_order", VerifyArgs)
async def verify_order(ctx: ToolContext, args: VerifyArgs) -> ToolResult:
    """Verify a shopper for one order with its number and the email on it. A wrong pair and
    an unknown order give the same answer: not verified."""
    order = await ctx.connector.find_order(args.number)
    if order is None or order.email.strip().lower() != args.email.strip().lower():
        ctx.record("verify_order", args.number, "not_verified")
        return ToolResult("not_verified")
    ctx.verified_orders.add(order.number)
    ctx.record("verify_order", order.number)
    return ToolResult("ok", {"number": order.number})


@tool("my_orders", NoArgs)
async def my_orders(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """The orders of the logged-in shopper (signed login only), newest first."""
    if ctx.customer is None:
        ctx.record("my_orders", None, "not_verified")
        return ToolResult("not_verified")
    orders = await ctx.connector.orders_for_email(ctx.customer.email)
    for o in orders:
        ctx.verified_orders.add(o.number)
    ctx.record("my_orders", None, count=len(orders))
    return ToolResult("ok", {"orders": [o.number for o in orders]})


@tool("order_status", OrderRef)
async def order_status(ctx: ToolContext, args: OrderRef) -> ToolResult:
    """Status of a verified order: items, payment, each fulfilment with carrier, tracking,
    estimated or actual delivery and pick-up point."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("order_status", args.number, "not_verified")
        return ToolResult("not_verified")
    ctx.record("order_status", order.number)
    return ToolResult("ok", await order_view(ctx, order))


@tool("payment_status", OrderRef)
async def payment_status(ctx: ToolContext, args: OrderRef) -> ToolResult:
    """What the payment provider reported for a verified order: failed, authorized,
    captured once or twice."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("payment_status", args.number, "not_verified")
        return ToolResult("not_verified")
    events = order.payment_events
    captures = [e for e in events if e.kind == "capture"]
    refunds = sum(e.amount for e in events if e.kind == "refund")
    failed = order.financial_status in ("failed", "pending") and not captures
    if failed and any(e.kind == "failure" for e in events):
        kind = "failed"
    elif len(captures) >= 2 and sum(c.amount for c in captures) - refunds > order.total + 0.01:
        kind = "double_capture"
    elif captures and any(e.kind == "authorization" for e in events):
        kind = "auth_and_capture"
    elif order.financial_status == "authorized":
        kind = "authorized"
    elif failed:
        kind = "failed"
    else:
        kind = "paid"
    ctx.record("payment_status", order.number, kind=kind)
    view = await order_view(ctx, order)
    view.update(payment=kind, captured=sum(c.amount for c in captures))
    return ToolResult("ok", view)


@tool("refund_status", OrderRef)
async def refund_status(ctx: ToolContext, args: OrderRef) -> ToolResult:
    """Returns and refunds of a verified order: received or not, refunded on which day."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("refund_status", args.number, "not_verified")
        return ToolResult("not_verified")
    view = await order_view(ctx, order)
    titles = {ln["sku"]: ln["title"] for ln in view["lines"]}
    view["returns"] = [{
        "rma": r.rma, "status": r.status, "items": [titles.get(s, s) for s in r.skus],
        "refund_amount": r.refund_amount,
        "refunded_on": ctx.local(r.refunded_at).date() if r.refunded_at else None,
        "created_on": ctx.local(r.created_at).date(),
        "exchange": r.exchange_sku is not None,
    } for r in order.returns]
    view["refunds"] = [{"amount": e.amount, "on": ctx.local(e.at).date()}
                       for e in order.payment_events if e.kind == "refund"]
    view["refund_days"] = list(ctx.store.refund_days)
    ctx.record("refund_status", order.number, returns=len(order.returns))
    return ToolResult("ok", view)


@tool("resend_invoice", OrderRef)
async def resend_invoice(ctx: ToolContext, args: OrderRef) -> ToolResult:
    """Send the invoice of a verified order again, to the email on the order."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("resend_invoice", args.number, "not_verified")
        return ToolResult("not_verified")
    await ctx.connector.resend_invoice(order.number)
    ctx.record("resend_invoice", order.number)
    return ToolResult("ok", {"number": order.number, "email": order.email})


@tool("cancel_order", OrderRef)
async def cancel_order(ctx: ToolContext, args: OrderRef) -> ToolResult:
    """Cancel a verified, unfulfilled order and refund it to the original payment method.
    The order total counts against the store's limit."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("cancel_order", args.number, "not_verified")
        return ToolResult("not_verified")
    view = await order_view(ctx, order)
    if order.status == "cancelled":
        ctx.record("cancel_order", order.number, "already_cancelled")
        return ToolResult("already_cancelled", view)
    if order.status != "unfulfilled":
        ctx.record("cancel_order", order.number, "already_shipped")
        return ToolResult("already_shipped", view)
    if order.total > ctx.limit:
        ctx.record("cancel_order", order.number, "over_limit", amount=order.total)
        return ToolResult("over_limit", view | {"amount": order.total})
    await ctx.connector.cancel_order(order.number)
    ctx.record("cancel_order", order.number, amount=order.total)
    view.update(status="cancelled", refund_days=list(ctx.store.refund_days),
                paid=order.financial_status in ("paid", "refunded"))
    return ToolResult("ok", view)


class AddressArgs(BaseModel):
    number: str
    line1: str
    zip: str
    city: str
    name: str | None = None
    country: str | None = None


@tool("change_address", AddressArgs)
async def change_address(ctx: ToolContext, args: AddressArgs) -> ToolResult:
    """Change the delivery address of a verified order that has not shipped yet."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("change_address", args.number, "not_verified")
        return ToolResult("not_verified")
    view = await order_view(ctx, order)
    if order.status != "unfulfilled":
        ctx.record("change_address", order.number, "already_shipped")
        return ToolResult("already_shipped", view)
    old = order.shipping_address
    address = Address(
        name=args.name or (old.name if old else ""), line1=args.line1, zip=args.zip, city=args.city,
        country=(args.country or (old.country if old else "DK"))[:2].upper(),
    )
    await ctx.connector.change_address(order.number, address)
    ctx.record("change_address", order.number)
    view["address"] = address.one_line()
    return ToolResult("ok", view)


class ChangeLineArgs(BaseModel):
    number: str
    sku: str = Field(description="The sku of the order line to change")
    size: str | None = None
    color: str | None = None


@tool("change_line", ChangeLineArgs)
async def change_line(ctx: ToolContext, args: ChangeLineArgs) -> ToolResult:
    """Swap a line of a verified, unfulfilled order to another size or colour in stock."""
    order = await ctx.verified_order(args.number)
    if order is None:
        ctx.record("change_line", args.number, "not_verified")
        return ToolResult("not_verified")
    view = await order_view(ctx, order)
    if order.status != "unfulfilled":
        ctx.record("change_line", order.number, "already_shipped")
        return ToolResult("already_shipped", view)
    found = await ctx.connector.variant(args.sku)
    if found is None or order.line(args.sku) is None:
        ctx.record("change_line", order.number, "not_found")
        return ToolResult("not_found", view)
    product, current = found
    size = args.size or current.size
    color = args.color or current.color
    target = next((v for v in product.variants if v.size == size and v.color == color), None)
    view["wanted"] = {"size": size, "color": color}
    if target is None:
        ctx.record("change_line", order.number, "no_such_variant")
        return ToolResult("no_such_variant", view)
    if target.stock < 1:
        ctx.record("change_line", order.number, "out_of_stock")
        return ToolResult("out_of_stock", view | {"restock_date": target.restock_date})
    try:
        await ctx.connector.change_line(order.number, args.sku, target.sku)
    except StoreError as err:
        ctx.record("change_line", order.number, err.code)
        return ToolResult(err.code, view)
    ctx.record("change_line", order.number, old=args.sku, new=target.sku)
    return ToolResult("ok", view)
