"""Orders and products as the facts a reply may state, in the shopper's language."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..store.models import Fulfillment, Order, Product, localized
from .base import ToolContext

LATE_DAYS = 7  # policy: "more than 7 days past the estimate" goes to a person


async def line_views(ctx: ToolContext, order: Order) -> list[dict[str, Any]]:
    views = []
    for line in order.lines:
        found = await ctx.connector.variant(line.sku)
        product, variant = found if found else (None, None)
        views.append({
            "sku": line.sku,
            "title": localized(product.title, ctx.locale) if product else line.sku,
            "product_id": product.id if product else None,
            "category": product.category if product else None,
            "final_sale": bool(product and product.final_sale),
            "size": variant.size if variant else None,
            "color": variant.color if variant else None,
            "quantity": line.quantity,
            "paid": order.paid_for([line.sku]),
            "restock_date": variant.restock_date if variant and variant.stock == 0 else None,
        })
    return views


def fulfillment_view(ctx: ToolContext, f: Fulfillment, titles: dict[str, str]) -> dict[str, Any]:
    days_late = 0
    if f.estimated_delivery and f.status not in ("delivered",):
        days_late = max(0, (ctx.today - f.estimated_delivery).days)
    return {
        "carrier": f.carrier,
        "tracking_number": f.tracking_number,
        "tracking_url": f.tracking_url,
        "status": f.status,
        "estimated_delivery": f.estimated_delivery,
        "delivered_on": ctx.local(f.delivered_at).date() if f.delivered_at else None,
        "shipped_on": ctx.local(f.shipped_at).date() if f.shipped_at else None,
        "pickup_point": f.pickup_point,
        "contents": [titles.get(s, s) for s in f.skus],
        "days_late": days_late,
        "late_for_person": f.estimated_delivery is not None and f.status != "delivered"
        and ctx.today > f.estimated_delivery + timedelta(days=LATE_DAYS),
        "today": f.estimated_delivery == ctx.today if f.estimated_delivery else False,
    }


async def order_view(ctx: ToolContext, order: Order) -> dict[str, Any]:
    lines = await line_views(ctx, order)
    titles = {ln["sku"]: ln["title"] for ln in lines}
    shipped = {s for f in order.fulfillments for s in f.skus}
    method = next((m for m in ctx.store.shipping_methods if m.id == order.shipping_method), None)
    return {
        "number": order.number,
        "status": order.status,
        "financial_status": order.financial_status,
        "created_on": ctx.local(order.created_at).date(),
        "total": order.total,
        "payment_method": order.payment_method,
        "lines": lines,
        "fulfillments": [fulfillment_view(ctx, f, titles) for f in order.fulfillments],
        "unshipped": [ln for ln in lines if ln["sku"] not in shipped],
        "shipping_method": localized(method.name, ctx.locale) if method else None,
        "delivery_days": list(method.delivery_days) if method else None,
        "address": order.shipping_address.one_line() if order.shipping_address else None,
    }


def product_view(ctx: ToolContext, product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": localized(product.title, ctx.locale),
        "category": product.category,
        "price": product.price,
        "fit": product.fit,
        "fit_advice": localized(product.fit_advice, ctx.locale) or None,
        "material": localized(product.material, ctx.locale) or None,
        "care": localized(product.care, ctx.locale) or None,
        "final_sale": product.final_sale,
        "sizes": list(dict.fromkeys(v.size for v in product.variants if v.size)),
        "colors": list(dict.fromkeys(v.color for v in product.variants if v.color)),
    }


def window_end(delivered: date, days: int) -> date:
    """The last day a return is accepted (delivered on the 1st, 14 days: the 15th)."""
    return delivered + timedelta(days=days)
