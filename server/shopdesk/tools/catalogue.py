"""Catalogue tools: products, stock and restock, size advice. No verification needed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..store.models import Product, SizeChart
from .base import ToolContext, ToolResult, tool
from .views import product_view

# The names a chart may use for the same body measurement.
SYNONYMS = {"bust": ("bust", "chest"), "chest": ("chest", "bust"), "hip": ("hip", "hips"),
            "foot_length": ("foot_length", "foot"), "waist": ("waist",), "inseam": ("inseam", "leg")}


class ProductRef(BaseModel):
    product: str = Field(description="Product id or handle")


class StockArgs(BaseModel):
    product: str = Field(description="Product id or handle")
    size: str | None = None
    color: str | None = None


class SizeArgs(BaseModel):
    product: str = Field(description="Product id or handle")
    measurements: dict[str, float] = Field(
        default_factory=dict, description="Body measurements in cm: bust, chest, waist, hip, foot_length, inseam")
    usual_size: str | None = Field(default=None, description="The size the shopper usually wears")


async def _product(ctx: ToolContext, key: str) -> Product | None:
    return await ctx.connector.product(key)


@tool("product_info", ProductRef)
async def product_info(ctx: ToolContext, args: ProductRef) -> ToolResult:
    """Material, care, fit, price, sizes and colours of a product."""
    product = await _product(ctx, args.product)
    if product is None:
        ctx.record("product_info", None, "not_found", product=args.product)
        return ToolResult("not_found")
    ctx.record("product_info", None, product=product.id)
    return ToolResult("ok", product_view(ctx, product))


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


@tool("stock", StockArgs)
async def stock(ctx: ToolContext, args: StockArgs) -> ToolResult:
    """Whether a product is in stock, in a size and colour if given; else the restock date."""
    product = await _product(ctx, args.product)
    if product is None:
        ctx.record("stock", None, "not_found", product=args.product)
        return ToolResult("not_found")
    variants = [v for v in product.variants
                if (args.size is None or _same(v.size, args.size))
                and (args.color is None or _same(v.color, args.color))]
    view = product_view(ctx, product)
    view.update(size=args.size, color=args.color)
    ctx.record("stock", None, product=product.id, size=args.size, color=args.color)
    if not variants:
        return ToolResult("no_such_variant", view)
    sizes = {size: i for i, size in enumerate(_size_order(product, None))}
    in_stock = sorted((v for v in variants if v.stock > 0), key=lambda v: sizes.get(v.size or "", -1))
    view["in_stock"] = [{"size": v.size, "color": v.color, "stock": v.stock} for v in in_stock]
    out = [v for v in variants if v.stock == 0]
    view["out_of_stock"] = [{"size": v.size, "color": v.color, "restock_date": v.restock_date} for v in out]
    restocks = sorted(v.restock_date for v in out if v.restock_date)
    view["restock_date"] = restocks[0] if restocks else None
    return ToolResult("ok" if in_stock else "out_of_stock", view)


def size_from_measurements(chart: SizeChart, measurements: dict[str, float]) -> tuple[int, list[str]] | None:
    """Index of the smallest size that fits every given measurement, and which were used.

    A measurement between two sizes' ranges (or above all) takes the larger size.
    """
    needed = -1
    used: list[str] = []
    for name, value in measurements.items():
        for key in SYNONYMS.get(name, (name,)):
            ranges = [row.ranges().get(key) for row in chart.sizes]
            if not any(ranges):
                continue
            index = next((i for i, r in enumerate(ranges) if r and value <= r[1]), len(ranges) - 1)
            needed = max(needed, index)
            used.append(name)
            break
    return (needed, used) if used else None


def _size_order(product: Product, chart: SizeChart | None) -> list[str]:
    if chart:
        return [row.size for row in chart.sizes]
    return list(dict.fromkeys(v.size for v in product.variants if v.size))


def _find(sizes: list[str], wanted: str) -> int | None:
    wanted = wanted.strip().upper()
    aliases = {"SMALL": "S", "MEDIUM": "M", "LARGE": "L", "EXTRA LARGE": "XL", "2XL": "XXL", "XXXL": "3XL"}
    wanted = aliases.get(wanted, wanted)
    return next((i for i, s in enumerate(sizes) if s.upper() == wanted), None)


@tool("recommend_size", SizeArgs)
async def recommend_size(ctx: ToolContext, args: SizeArgs) -> ToolResult:
    """One size for a product from body measurements or the shopper's usual size, using its
    size chart and fit (runs small: one up; runs large: one down), and why."""
    product = await _product(ctx, args.product)
    if product is None:
        ctx.record("recommend_size", None, "not_found", product=args.product)
        return ToolResult("not_found")
    chart = await ctx.connector.size_chart(product.size_chart) if product.size_chart else None
    sizes = _size_order(product, chart)
    view = product_view(ctx, product)
    view.update(offset=product.size_offset, chart_sizes=sizes,
                measures=sorted({k for row in (chart.sizes if chart else []) for k in row.ranges()}))
    if not sizes and not any(v.size for v in product.variants):
        ctx.record("recommend_size", None, "one_size", product=product.id)
        return ToolResult("one_size", view)  # a beanie, a bag: nothing to choose
    base: int | None = None
    if args.measurements and chart:
        found = size_from_measurements(chart, args.measurements)
        if found:
            base, used = found
            view["basis"] = "measurements"
            view["used"] = used
    if base is None and args.usual_size:
        base = _find(sizes, args.usual_size)
        view["basis"] = "usual"
        view["usual_size"] = args.usual_size
    if base is None or not sizes:
        ctx.record("recommend_size", None, "need_input", product=product.id)
        return ToolResult("need_input", view)
    index = min(max(base + product.size_offset, 0), len(sizes) - 1)
    sold = {v.size for v in product.variants if v.size}
    if sold and sizes[index] not in sold:  # the chart goes further than the product is made
        made = [i for i, size in enumerate(sizes) if size in sold]
        if made:
            index = min(made, key=lambda i: abs(i - index))
    view["chart_size"] = sizes[base]
    view["size"] = sizes[index]
    variants = [v for v in product.variants if v.size == sizes[index]]
    view["size_in_stock"] = any(v.stock > 0 for v in variants)
    ctx.record("recommend_size", None, product=product.id, size=sizes[index])
    return ToolResult("ok", view)
