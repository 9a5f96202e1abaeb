"""Personal data out of what goes to the model, and back into what the shopper reads.

Emails, phone numbers, names, street addresses and card-like numbers become stable
placeholders (``<EMAIL_1>``, ``<PHONE_1>``, ``<NAME_1>``, ``<ADDRESS_1>``, ``<CARD_1>``):
the same value gets the same placeholder for the whole conversation (the mapping lives
in the conversation's state), so the model can refer to it, pass it to a tool, and a
cached prompt prefix stays the same from turn to turn. Names come from where they are
known (the logged-in shopper, names on orders and addresses in tool results, "my name
is ..." in a message); the rest by pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

KINDS = ("EMAIL", "PHONE", "NAME", "ADDRESS", "CARD")
PLACEHOLDER = re.compile(r"<(EMAIL|PHONE|NAME|ADDRESS|CARD)_(\d{1,4})>")
_LONGEST = max(len(f"<{k}_9999>") for k in KINDS)

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = r"(?<![\w<+])(?:\+|00)?\d(?:[ \-]?\d){%d,%d}(?![\w>])"
CARD = re.compile(_DIGITS % (12, 18))
PHONE = re.compile(_DIGITS % (7, 14))
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_L = r"[^\W\d_]"  # a letter, any alphabet
STREET_WORDS = ("vej|vejen|gade|gaden|stræde|strædet|plads|pladsen|torv|torvet|vænge|vænget|"
                "boulevard|kaj|kajen|gatan|gata|vägen|veien|straße|strasse")
ADDRESS = re.compile(
    # Strandvejen 12, Fiskergade 4 2. th., H.C. Andersens Boulevard 27
    rf"(?<!\w)(?:[A-ZÆØÅ][\w.'-]*\s+){{0,3}}(?:{_L}|[.'-]){{2,}}(?i:{STREET_WORDS})\s+\d{{1,4}}[A-Za-z]?"
    rf"(?:,?\s*\d{{1,2}}\.?\s*(?i:th|tv|mf|sal)\b\.?)?(?!\w)"
    # Ryvangs Allé 3, Gammel Torv 8 (the street word on its own after a name)
    rf"|(?<!\w)(?:[A-ZÆØÅ][\w.'-]+\s+)+(?:All[eé]|Plads|Torv|Vej|Gade|Boulevard)\s+\d{{1,4}}[A-Za-z]?(?!\w)"
    # 221 Baker Street
    r"|(?<!\w)\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive|Way)(?!\w)")
_NAME = r"[A-ZÆØÅ][\wæøåéü'-]+(?:[ \t]+[A-ZÆØÅ][\wæøåéü'-]+){0,2}"
INTRODUCED = re.compile(
    r"(?i:\bmy name is|\bi am called|\bjeg hedder|\bmit navn er|\bnavn:|\bname:|\bmvh\.?|"
    r"\bmed venlig hilsen|\bvenlig hilsen|\bkind regards|\bbest regards|\bregards)[,:]?[ \t]+(" + _NAME + ")")

# Tool result fields: what they hold, or that they are shop data no pattern should touch.
FIELD_KINDS = {"email": "EMAIL", "phone": "PHONE", "address": "ADDRESS"}
SHOP_FIELDS = frozenset({"tracking_number", "tracking_url", "sku", "rma", "number", "code",
                         "carrier", "status", "id", "product_id", "category"})
DROPPED_FIELDS = frozenset({"used_by", "customer_id"})


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _key(kind: str, value: str) -> str:
    if kind in ("PHONE", "CARD"):
        return kind + re.sub(r"\D", "", value)
    return kind + " ".join(value.split()).casefold()


class Redactor:
    """One conversation's placeholders: ``mapping`` is placeholder -> original text."""

    def __init__(self, mapping: dict[str, str] | None = None) -> None:
        self.mapping: dict[str, str] = {}
        self._by_key: dict[str, str] = {}
        self._counts = dict.fromkeys(KINDS, 0)
        self._known: re.Pattern[str] | None = None
        self._fingerprint: int | None = None
        for token, value in (mapping or {}).items():
            m = PLACEHOLDER.fullmatch(token)
            if m and isinstance(value, str):
                self._remember(token, m.group(1), value)

    def dump(self) -> dict[str, str]:
        return dict(self.mapping)

    @property
    def fingerprint(self) -> int:
        """Changes whenever the mapping does (for caching redacted texts)."""
        if self._fingerprint is None:
            self._fingerprint = hash(tuple(self.mapping.items()))
        return self._fingerprint

    def _remember(self, token: str, kind: str, value: str) -> None:
        self.mapping[token] = value
        self._fingerprint = None
        self._by_key.setdefault(_key(kind, value), token)
        self._counts[kind] = max(self._counts[kind], int(PLACEHOLDER.fullmatch(token).group(2)))  # type: ignore[union-attr]
        if kind in ("NAME", "ADDRESS"):
            self._known = None

    def token(self, kind: str, value: str) -> str:
        """The placeholder of a value, the same one every time."""
        found = self._by_key.get(_key(kind, value))
        if found:
            return found
        self._counts[kind] += 1
        token = f"<{kind}_{self._counts[kind]}>"
        self._remember(token, kind, value)
        return token

    def has(self, kind: str) -> bool:
        return any(t.startswith(f"<{kind}_") for t in self.mapping)

    def add_name(self, name: str | None) -> None:
        """A person's name, and its parts, so that any of them is replaced."""
        if not name or not name.strip():
            return
        name = " ".join(name.split())
        self.token("NAME", name)
        parts = name.split(" ")
        if len(parts) > 1:
            for part in parts:
                if len(part) >= 3 and part[0].isupper():
                    self.token("NAME", part)

    def add_address(self, address: str) -> str:
        """An address from the shop: its first part is the recipient's name."""
        parts = [p.strip() for p in address.split(",")]
        if len(parts) > 2:
            self.add_name(parts[0])
        return self.token("ADDRESS", address)

    # -- text ------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        if not text:
            return text
        for m in INTRODUCED.finditer(text):
            self.add_name(m.group(1))
        text = EMAIL.sub(lambda m: self.token("EMAIL", m.group(0)), text)
        text = CARD.sub(self._card, text)
        text = PHONE.sub(self._phone, text)
        text = ADDRESS.sub(lambda m: self.token("ADDRESS", m.group(0)), text)
        known = self._known_pattern()
        if known is not None:
            text = known.sub(self._known_value, text)
        return text

    def _card(self, m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits):
            return self.token("CARD", m.group(0))
        return m.group(0)

    def _phone(self, m: re.Match[str]) -> str:
        value = m.group(0)
        if ISO_DATE.fullmatch(value):
            return value
        digits = re.sub(r"\D", "", value)
        if 8 <= len(digits) <= 15:
            return self.token("PHONE", value)
        return value

    def _known_pattern(self) -> re.Pattern[str] | None:
        """Names and addresses already known, longest first (a full name before its parts)."""
        if self._known is None:
            values = sorted({v for t, v in self.mapping.items() if t.startswith(("<NAME_", "<ADDRESS_"))},
                            key=len, reverse=True)
            if not values:
                return None
            alternatives = []
            for v in values:
                escaped = r"\s+".join(re.escape(p) for p in v.split())
                # A single word is matched as written (a capital), so "Mark" spares "mark".
                alternatives.append(escaped if " " not in v else f"(?i:{escaped})")
            self._known = re.compile(r"(?<![\w<])(?:" + "|".join(alternatives) + r")(?![\w>])")
        return self._known

    def _known_value(self, m: re.Match[str]) -> str:
        value = m.group(0)
        kind = "NAME"
        found = self._by_key.get(_key("NAME", value))
        if found is None:
            found = self._by_key.get(_key("ADDRESS", value))
            kind = "ADDRESS"
        return found or self.token(kind, value)

    def restore(self, text: str) -> str:
        if "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(0), m.group(0)), text)

    # -- structured data (tool results and arguments) ---------------------------------

    def redact_value(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self.redact_value(v, k) for k, v in value.items() if k not in DROPPED_FIELDS}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(v, key) for v in value]
        if not isinstance(value, str) or not value:
            return value
        kind = FIELD_KINDS.get(key or "")
        if kind == "ADDRESS":
            return self.add_address(value)
        if kind:
            return self.token(kind, value)
        if key in SHOP_FIELDS:
            return value
        return self.redact(value)

    def restore_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.restore_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore_value(v) for v in value]
        if isinstance(value, str):
            return self.restore(value)
        return value

    def seed(self, names: Iterable[str | None] = (), emails: Iterable[str | None] = ()) -> None:
        for name in names:
            self.add_name(name)
        for email in emails:
            if email:
                self.token("EMAIL", email)


class StreamRestorer:
    """Maps placeholders back in a stream of text deltas.

    A placeholder can arrive split over deltas (``"<EMA"``, ``"IL_1> ..."``): a tail that
    could still become one is held back until it completes or cannot.
    """

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor
        self._held = ""

    def feed(self, delta: str) -> str:
        if self.redactor is None:
            return delta
        text = self._held + delta
        self._held = ""
        start = text.rfind("<")
        if start != -1 and _could_become_placeholder(text[start:]):
            text, self._held = text[:start], text[start:]
        return self.redactor.restore(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self.redactor.restore(text) if self.redactor else text


_PARTIAL = re.compile(r"<[A-Z]{0,7}(?:_\d{0,4})?")


def _could_become_placeholder(tail: str) -> bool:
    if len(tail) > _LONGEST or ">" in tail or not _PARTIAL.fullmatch(tail):
        return False
    letters = tail[1:].split("_")[0]
    return any(k.startswith(letters) for k in KINDS) and (
        "_" not in tail or letters in KINDS)
