"""The tools as the model sees them: generated from the tool registry, plus ``hand_over``.

One source of truth: a tool's name, description (its docstring) and argument schema (its
pydantic model) are the ones the offline agent calls. Only the schema's ``title`` noise
is dropped.
"""

from __future__ import annotations

from typing import Any

from ...engine.events import HANDOFF_REASONS
from ...tools import REGISTRY

HAND_OVER = "hand_over"

HAND_OVER_TOOL: dict[str, Any] = {
    "name": HAND_OVER,
    "description": (
        "Hand the conversation to a person from customer service, with the reason and a short "
        "summary for them. Use it when the support policy says a person takes over: the "
        "shopper asks for a person, is angry or distressed, wants money moved above the "
        "store's limit, reports a fault that is not a known defect, a case the store keeps "
        "for people (parcel delivered but not received, more than 7 days late, exception or "
        "returned to sender, double charge, personal data requests, press/wholesale), or you "
        "cannot tell what the shopper wants after one clarifying question. Say nothing "
        "after calling it: the shopper is told what happens next."),
    "input_schema": {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "enum": list(HANDOFF_REASONS)},
            "topic": {"type": "string",
                      "enum": ["parcel", "double_charge", "personal_data", "business", "other"],
                      "description": "For reason policy: what the case is about"},
            "summary": {"type": "string",
                        "description": "Two or three sentences for the colleague: what the shopper "
                                       "wants, which order, what was found or done"},
        },
        "required": ["reason", "summary"],
    },
}

# hand_over's topic -> the ``why`` of the hand-over text (templates/replies/*/handoff.j2).
POLICY_TOPICS = {"parcel": None, "double_charge": "double_capture", "personal_data": "gdpr",
                 "business": "business", "other": "business"}

# Tools that change something in the shop (money, goods, addresses, emails sent).
ACTIONS = frozenset({"cancel_order", "change_address", "change_line", "create_return",
                     "create_exchange", "report_defect", "resend_invoice", "reset_password",
                     "unsubscribe"})

# The status line the shopper sees while a tool runs (templates/replies/phrases.yaml).
STATUS_PHRASES = {
    "verify_order": "status_order", "order_status": "status_order", "payment_status": "status_order",
    "refund_status": "status_order", "resend_invoice": "status_order", "cancel_order": "status_order",
    "change_address": "status_order", "change_line": "status_order", "my_orders": "status_orders",
    "create_return": "status_return", "create_exchange": "status_return",
    "report_defect": "status_return", "recommend_size": "status_size", "stock": "status_stock",
    "product_info": "status_product", "check_discount": "status_code",
    "gift_card_balance": "status_code",
}


def _clean(schema: Any) -> Any:
    """A pydantic JSON schema without its ``title`` keys (property names are kept)."""
    if isinstance(schema, list):
        return [_clean(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _clean(s) for name, s in value.items()}
        else:
            out[key] = _clean(value)
    return out


def tool_definitions() -> list[dict[str, Any]]:
    """Every registered tool, in registry order (stable, so the cached prefix is too)."""
    tools = []
    for spec in REGISTRY.values():
        definition = spec.json_schema()
        definition["description"] = " ".join(definition["description"].split())
        definition["input_schema"] = _clean(definition["input_schema"])
        definition["input_schema"].setdefault("properties", {})
        tools.append(definition)
    tools.append(HAND_OVER_TOOL)
    return tools
