"""Dialogue state of the offline agent: what is known, what is missing, what is pending.

Stored as plain JSON with the conversation, so a reconnect or a restart continues the
same scenario where it stopped.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DialogueState:
    lang: str | None = None
    scenario: str | None = None          # the scenario waiting for an answer from the shopper
    last_scenario: str | None = None     # the scenario answered last (for follow-ups)
    awaiting: list[str] = field(default_factory=list)
    clarified: bool = False              # one clarifying question was asked
    order: str | None = None             # the order this shopper is verified for and talks about
    verified: list[str] = field(default_factory=list)
    order_number: str | None = None      # given, not (yet) verified
    orders_named: list[str] = field(default_factory=list)  # several given at once, to look at each
    email: str | None = None
    product: str | None = None
    sizes: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    measurements: dict[str, float] = field(default_factory=dict)
    usual_size: str | None = None
    relative_size: int = 0
    amount: float | None = None
    address: dict[str, str] | None = None
    items: list[str] = field(default_factory=list)   # product ids the shopper named
    first_text: str | None = None        # the message that opened the pending scenario
    failed_verifications: int = 0
    last_return: str | None = None       # the return registered last, for what the shopper adds to it
    # What the scenario answered last was about (product, sizes, colours), so a follow-up
    # that names only one of them ("and in navy?") keeps the rest.
    focus: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: dict[str, Any]) -> DialogueState:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def dump(self) -> dict[str, Any]:
        """What ``dataclasses.asdict`` gives (lists and dicts copied), without its deep copy
        of every string: this runs on every turn."""
        return {name: _plain(getattr(self, name)) for name in _FIELDS}

    def finish(self) -> None:
        """The pending scenario is answered; facts about the shopper stay."""
        self.scenario = None
        self.awaiting = []
        self.clarified = False
        self.first_text = None
        product = self.items[-1] if self.items else self.product
        self.focus = {"product": product, "sizes": self.sizes, "colors": self.colors}
        self.sizes, self.colors, self.codes, self.items = [], [], [], []
        self.measurements, self.usual_size, self.relative_size = {}, None, 0
        self.address, self.amount = None, None
        self.orders_named = []


_FIELDS = tuple(DialogueState.__dataclass_fields__)
_ATOMIC = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    if isinstance(value, _ATOMIC):
        return value
    if type(value) is list:
        return [_plain(v) for v in value]
    if type(value) is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    return asdict(value) if hasattr(value, "__dataclass_fields__") else copy.deepcopy(value)
