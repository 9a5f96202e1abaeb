"""The built-in connector: a whole store from one JSON fixture file.

The fixture's ``as_of`` is the store's "now". Actions change the in-memory state for the
life of the process, so a cancelled order stays cancelled until the server restarts.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from .connector import StoreError
from .models import (
    Address,
    Customer,
    DiscountCode,
    GiftCard,
    Order,
    OrderNumberFormat,
    Product,
    ReturnRequest,
    SizeChart,
    StoreFixture,
    StoreInfo,
    Variant,
)


class FixtureError(Exception):
    """A store file that cannot be served; the message is one line naming file and field."""


def load_fixture(path: Path) -> StoreFixture:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError(f"{path}: store file not found") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read store file ({exc.strerror})") from None
    try:
        fixture = StoreFixture.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(root)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise FixtureError(f"{path}: field {field}: {first['msg']}{more}") from None
    problem = _check_references(fixture)
    if problem:
        raise FixtureError(f"{path}: {problem}")
    return fixture


def _check_references(fx: StoreFixture) -> str | None:
    """Cross-references the JSON schema cannot express."""
    charts = {c.id for c in fx.size_charts}
    skus = {v.sku for p in fx.products for v in p.variants}
    customers = {c.id for c in fx.customers}
    methods = {m.id for m in fx.store.shipping_methods}
    for i, p in enumerate(fx.products):
        if p.size_chart and p.size_chart not in charts:
            return f"field products.{i}.size_chart: unknown size chart {p.size_chart!r}"
    for i, o in enumerate(fx.orders):
        if o.customer_id not in customers:
            return f"field orders.{i}.customer_id: unknown customer {o.customer_id!r}"
        if o.shipping_method and o.shipping_method not in methods:
            return f"field orders.{i}.shipping_method: unknown method {o.shipping_method!r}"
        for j, line in enumerate(o.lines):
            if line.sku not in skus:
                return f"field orders.{i}.lines.{j}.sku: unknown sku {line.sku!r}"
    return None


def _norm(s: str) -> str:
    return s.strip().lower()


class FixtureConnector:
    """Serves a :class:`StoreFixture` as a live shop system."""

    in_process = True  # a look-up is a dictionary read: it never waits

    def __init__(self, fixture: StoreFixture) -> None:
        self._fx = copy.deepcopy(fixture)
        self._orders = {o.number: o for o in self._fx.orders}
        self._products = {p.id: p for p in self._fx.products}
        self._handles = {p.handle: p for p in self._fx.products if p.handle}
        self._variants = {v.sku: (p, v) for p in self._fx.products for v in p.variants}
        self._charts = {c.id: c for c in self._fx.size_charts}
        self._customers = {c.id: c for c in self._fx.customers}
        self._by_email = {_norm(c.email): c for c in self._fx.customers}
        self._codes = {_norm(d.code): d for d in self._fx.discount_codes}
        self._cards = {_norm(g.code): g for g in self._fx.gift_cards}
        self.invoices_sent: list[str] = []
        self.password_resets: list[str] = []

    @classmethod
    def from_file(cls, path: Path) -> FixtureConnector:
        return cls(load_fixture(path))

    # lookups
    async def now(self) -> datetime:
        return self._fx.as_of

    async def store_info(self) -> StoreInfo:
        return self._fx.store

    async def find_order(self, number: str) -> Order | None:
        return self._orders.get(number.strip().lstrip("#"))

    async def order_number_format(self) -> OrderNumberFormat | None:
        return OrderNumberFormat.of(self._orders)

    async def orders_for_email(self, email: str) -> list[Order]:
        e = _norm(email)
        found = [o for o in self._fx.orders if _norm(o.email) == e]
        return sorted(found, key=lambda o: o.created_at, reverse=True)

    async def customer_by_email(self, email: str) -> Customer | None:
        return self._by_email.get(_norm(email))

    async def customer(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    async def products(self) -> list[Product]:
        return list(self._fx.products)

    async def product(self, id_or_handle: str) -> Product | None:
        return self._products.get(id_or_handle) or self._handles.get(id_or_handle)

    async def variant(self, sku: str) -> tuple[Product, Variant] | None:
        return self._variants.get(sku)

    async def size_chart(self, chart_id: str) -> SizeChart | None:
        return self._charts.get(chart_id)

    async def discount_code(self, code: str) -> DiscountCode | None:
        return self._codes.get(_norm(code))

    async def gift_card(self, code: str) -> GiftCard | None:
        return self._cards.get(_norm(code))

    # actions
    def _order(self, number: str) -> Order:
        order = self._orders.get(number)
        if order is None:
            raise StoreError("not_found", f"order {number} not found")
        return order

    async def cancel_order(self, number: str) -> Order:
        order = self._order(number)
        if order.status != "unfulfilled":
            raise StoreError("already_fulfilled")
        order.status = "cancelled"
        order.financial_status = "refunded" if order.financial_status == "paid" else "voided"
        return order

    async def change_address(self, number: str, address: Address) -> Order:
        order = self._order(number)
        if order.status != "unfulfilled":
            raise StoreError("already_fulfilled")
        order.shipping_address = address
        return order

    async def change_line(self, number: str, old_sku: str, new_sku: str) -> Order:
        order = self._order(number)
        if order.status != "unfulfilled":
            raise StoreError("already_fulfilled")
        line = order.line(old_sku)
        found = self._variants.get(new_sku)
        if line is None or found is None:
            raise StoreError("not_found")
        _, variant = found
        if variant.stock < line.quantity:
            raise StoreError("out_of_stock")
        variant.stock -= line.quantity
        old = self._variants.get(old_sku)
        if old:
            old[1].stock += line.quantity
        line.sku = new_sku
        return order

    async def create_return(
        self, number: str, skus: list[str], exchange_sku: str | None = None
    ) -> ReturnRequest:
        order = self._order(number)
        if exchange_sku:
            found = self._variants.get(exchange_sku)
            if found is None or found[1].stock < 1:
                raise StoreError("out_of_stock")
            found[1].stock -= 1
        rma = ReturnRequest(
            rma=f"R{number}-{len(order.returns) + 1}",
            status="requested",
            skus=list(skus),
            created_at=self._fx.as_of,
            exchange_sku=exchange_sku,
        )
        order.returns.append(rma)
        return rma

    async def resend_invoice(self, number: str) -> None:
        self._order(number)
        self.invoices_sent.append(number)

    async def unsubscribe(self, email: str) -> bool:
        customer = self._by_email.get(_norm(email))
        if customer is None or not customer.newsletter:
            return False
        customer.newsletter = False
        return True

    async def reset_password(self, email: str) -> None:
        self.password_resets.append(_norm(email))
