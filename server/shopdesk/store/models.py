"""The store's data as typed models, shaped like the store fixture (schema version 1).

The same models are what any connector (fixture, Shopify) returns, so tools never see a
shop system's own shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Text = str | dict[str, str]
Money = float


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def localized(text: Text | None, locale: str, fallback: str = "en") -> str:
    """Pick a locale from a text that may be one string or one per locale."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(locale) or text.get(fallback) or next(iter(text.values()), "")


class Address(Strict):
    name: str
    line1: str
    line2: str | None = None
    zip: str
    city: str
    country: str = Field(min_length=2, max_length=2)

    def one_line(self) -> str:
        parts = [self.name, self.line1, self.line2, f"{self.zip} {self.city}", self.country]
        return ", ".join(p for p in parts if p)


class ShippingMethod(Strict):
    id: str
    name: Text
    carrier: str | None = None
    countries: list[str]
    price: Money = Field(ge=0)
    delivery_days: tuple[int, int]


class FaqEntry(Strict):
    topic: str
    question: Text | None = None
    answer: Text


class StoreInfo(Strict):
    name: str
    currency: str = Field(min_length=3, max_length=3)
    locales: list[Literal["da", "en"]] = Field(min_length=1)
    timezone: str = "Europe/Copenhagen"
    support_email: str
    opening_hours: Text | None = None
    escalation_amount: Money = Field(ge=0)
    return_window_days: int = Field(ge=0)
    return_shipping_fee: Money = Field(default=0, ge=0)
    refund_days: tuple[int, int] = (3, 5)
    free_shipping_threshold: Money | None = Field(default=None, ge=0)
    shipping_methods: list[ShippingMethod]
    payment_methods: list[str]
    faq: list[FaqEntry] = Field(default_factory=list)

    @property
    def default_locale(self) -> str:
        return self.locales[0]


class SizeRow(BaseModel):
    """One size of a chart: ``size`` plus body measurements as [min, max]."""

    model_config = ConfigDict(extra="allow")
    size: str

    def ranges(self) -> dict[str, tuple[float, float]]:
        extra = self.model_extra or {}
        return {k: (float(v[0]), float(v[1])) for k, v in extra.items()}


class SizeChart(Strict):
    id: str
    unit: Literal["cm"]
    sizes: list[SizeRow]


class KnownDefect(Strict):
    id: str
    description: Text
    keywords: list[str] = Field(default_factory=list)
    remedy: Literal["replacement", "refund", "repair_kit"]


class Variant(Strict):
    sku: str
    size: str | None = None
    color: str | None = None
    stock: int = Field(ge=0)
    restock_date: date | None = None


class Product(Strict):
    id: str
    handle: str | None = None
    title: Text
    category: str
    price: Money = Field(ge=0)
    size_chart: str | None = None
    fit: Literal["slim", "regular", "relaxed", "oversized"] | None = None
    fit_advice: Text | None = None
    size_offset: int = 0
    material: Text | None = None
    care: Text | None = None
    final_sale: bool = False
    known_defects: list[KnownDefect] = Field(default_factory=list)
    variants: list[Variant]

    def titles(self) -> list[str]:
        return [self.title] if isinstance(self.title, str) else list(self.title.values())


class Customer(Strict):
    id: str
    email: str
    name: str
    phone: str | None = None
    locale: Literal["da", "en"] | None = None
    newsletter: bool = False


class OrderLine(Strict):
    sku: str
    quantity: int = Field(ge=1)
    unit_price: Money = Field(ge=0)

    @property
    def amount(self) -> float:
        return self.quantity * self.unit_price


class PaymentEvent(Strict):
    kind: Literal["authorization", "capture", "void", "failure", "refund"]
    amount: Money = Field(ge=0)
    at: datetime
    note: str | None = None


FulfillmentStatus = Literal[
    "label_created", "in_transit", "out_for_delivery", "delivered", "exception", "returned_to_sender"
]


class Fulfillment(Strict):
    skus: list[str]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    status: FulfillmentStatus
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    pickup_point: str | None = None


class ReturnRequest(Strict):
    rma: str
    status: Literal["requested", "label_sent", "in_transit", "received", "refunded", "rejected"]
    skus: list[str]
    created_at: datetime
    refund_amount: Money | None = None
    refunded_at: datetime | None = None
    exchange_sku: str | None = None


OrderStatus = Literal["unfulfilled", "partially_fulfilled", "fulfilled", "delivered", "cancelled"]
FinancialStatus = Literal[
    "pending", "authorized", "paid", "partially_refunded", "refunded", "voided", "failed"
]


class Order(Strict):
    number: str
    customer_id: str
    email: str
    created_at: datetime
    status: OrderStatus
    financial_status: FinancialStatus
    payment_method: str | None = None
    shipping_method: str | None = None
    shipping_address: Address | None = None
    discount_code: str | None = None
    lines: list[OrderLine] = Field(min_length=1)
    shipping_price: Money = 0
    discount_total: Money = 0
    total: Money
    payment_events: list[PaymentEvent] = Field(default_factory=list)
    fulfillments: list[Fulfillment] = Field(default_factory=list)
    returns: list[ReturnRequest] = Field(default_factory=list)

    def line(self, sku: str) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.sku == sku), None)

    def paid_for(self, skus: list[str]) -> float:
        """What was paid for these lines: their prices less their share of the discount."""
        subtotal = sum(ln.amount for ln in self.lines)
        part = sum(ln.amount for ln in self.lines if ln.sku in skus)
        if subtotal <= 0:
            return 0.0
        return round(part - self.discount_total * part / subtotal, 2)


class DiscountCode(Strict):
    code: str
    kind: Literal["percent", "amount", "free_shipping"]
    value: float
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    min_subtotal: Money | None = None
    excluded_categories: list[str] = Field(default_factory=list)
    once_per_customer: bool = False
    used_by: list[str] = Field(default_factory=list)


class GiftCard(Strict):
    code: str
    balance: Money = Field(ge=0)
    expires_at: date | None = None
    disabled: bool = False


class StoreFixture(Strict):
    schema_version: Literal[1]
    as_of: datetime
    store: StoreInfo
    size_charts: list[SizeChart]
    products: list[Product]
    customers: list[Customer]
    orders: list[Order]
    discount_codes: list[DiscountCode] = Field(default_factory=list)
    gift_cards: list[GiftCard] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OrderNumberFormat:
    """What this store's order numbers look like: how many digits, and the digits they
    all start with.

    Shoppers write "204 526", "3.100.001" or "ordre 2045-26"; the groups are one order
    number only when joined they look like one of this store's, and a phone number, a
    postcode or two sizes do not.
    """

    lengths: frozenset[int]
    prefix: str = ""

    # The last digits of sequential numbers vary: a prefix never takes them, even when
    # the store has a single order.
    VARYING = 2

    @classmethod
    def of(cls, numbers: Iterable[str]) -> OrderNumberFormat | None:
        """The format of these order numbers; None when they are not all digits."""
        digits = [n.strip().lstrip("#") for n in numbers]
        if not digits or not all(d.isdigit() for d in digits):
            return None
        prefix = digits[0][: max(0, min(map(len, digits)) - cls.VARYING)]
        for d in digits[1:]:
            while not d.startswith(prefix):
                prefix = prefix[:-1]
        return cls(frozenset(map(len, digits)), prefix)

    def fits(self, digits: str) -> bool:
        """These digits could be one of this store's order numbers."""
        return len(digits) in self.lengths and digits.startswith(self.prefix) and digits.isdigit()
