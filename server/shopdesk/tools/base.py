"""What every tool shares: the context it runs in, the result it returns, the registry.

Tools are the one place that touches shop data, for the offline and the Claude agent
alike, and they enforce the rules themselves (verification, money limit, window),
whatever called them. Every call is written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from ..engine import AuditRecord, Customer
from ..store.connector import StoreConnector
from ..store.models import Order, StoreInfo


@dataclass(slots=True)
class ToolResult:
    """``code`` is ``ok`` or one word saying why not (``not_verified``, ``over_limit``...)."""

    code: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code == "ok"


@dataclass(slots=True)
class ToolContext:
    connector: StoreConnector
    store: StoreInfo
    now: datetime
    customer: Customer | None
    verified_orders: set[str]
    locale: str = "en"
    audit: list[AuditRecord] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    @classmethod
    async def create(
        cls, connector: StoreConnector, customer: Customer | None, verified: set[str], locale: str = "en"
    ) -> ToolContext:
        store = await connector.store_info()
        return cls(connector, store, await connector.now(), customer, verified, locale)

    @property
    def today(self) -> date:
        return self.local(self.now).date()

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.store.timezone))

    @property
    def limit(self) -> float:
        return self.store.escalation_amount

    def record(self, action: str, order: str | None = None, outcome: str = "ok", **detail: Any) -> None:
        self.calls.append(action)
        self.audit.append(AuditRecord(action, order, outcome, detail))

    async def verified_order(self, number: str | None) -> Order | None:
        """The order, only if this shopper is verified for it (login email or number+email)."""
        if not number:
            return None
        order = await self.connector.find_order(number)
        if order is None:
            return None
        if order.number in self.verified_orders:
            return order
        if self.customer and self.customer.email.strip().lower() == order.email.strip().lower():
            self.verified_orders.add(order.number)
            return order
        return None


Args = TypeVar("Args", bound=BaseModel)
ToolFn = Callable[[ToolContext, Any], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    args: type[BaseModel]
    fn: ToolFn

    def json_schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "input_schema": self.args.model_json_schema()}


REGISTRY: dict[str, ToolSpec] = {}


def tool(name: str, args: type[Args]) -> Callable[[Callable[[ToolContext, Args], Awaitable[ToolResult]]], Callable[[ToolContext, Args], Awaitable[ToolResult]]]:
    """Register a tool; its docstring is its description (also for the Claude agent)."""

    def register(fn: Callable[[ToolContext, Args], Awaitable[ToolResult]]) -> Callable[[ToolContext, Args], Awaitable[ToolResult]]:
        REGISTRY[name] = ToolSpec(name, (fn.__doc__ or name).strip(), args, fn)  # type: ignore[arg-type]
        return fn

    return register


async def call(ctx: ToolContext, name: str, arguments: dict[str, Any]) -> ToolResult:
    spec = REGISTRY[name]
    return await spec.fn(ctx, spec.args.model_validate(arguments))
