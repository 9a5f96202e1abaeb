"""The matchers of ``shopdesk eval``: how an include/exclude alternative is found in the agent's text.

An alternative (see ../shared/eval/README.md) is one of

- a string: found case-insensitively, white space folded;
- ``{"amount": 2499}``: the number in any usual writing: ``2499``, ``2.499``, ``2,499``,
  ``2 499``, with or without ``,00``/``.00`` (or ``,-``), ``kr``, ``kr.``, ``DKK`` around it;
- ``{"date": "2026-11-26"}``: the day in any usual Danish or English writing: ``2026-11-26``,
  ``26/11``, ``26.11``, ``26. november``, ``26 november``, ``november 26``, ``Nov 26``,
  ``26 Nov``, ``26th of November``; a year written next to it must be the right one;
- ``{"re": "..."}``: a Python regular expression, searched case-insensitively.

``compile_alternative`` checks a spec (raising ``ValueError`` with a short reason) and gives a
``Matcher``; ``matches(spec, text)`` is the one-shot form.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_WS = re.compile(r"\s+")

# Characters that separate thousands: dot, comma and the spaces (incl. no-break and narrow
# no-break) that Danish typesetting uses.
_SPACES = " \u00a0\u202f\u2009"
_THOUSANDS = (".", ",", *_SPACES)

MONTHS: dict[int, tuple[str, ...]] = {
    1: ("januar", "january", "jan"),
    2: ("februar", "february", "feb"),
    3: ("marts", "march", "mar"),
    4: ("april", "apr"),
    5: ("maj", "may"),
    6: ("juni", "june", "jun"),
    7: ("juli", "july", "jul"),
    8: ("august", "aug"),
    9: ("september", "sept", "sep"),
    10: ("oktober", "october", "okt", "oct"),
    11: ("november", "nov"),
    12: ("december", "dec"),
}


def normalize(text: str) -> str:
    """NFC, one space for any run of white space."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text))


def fold(text: str) -> str:
    """The form strings are compared in: normalized, case-folded."""
    return normalize(text).casefold()


class Matcher:
    spec: Any

    def found(self, text: str) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class StringMatcher(Matcher):
    spec: Any
    needle: str

    def found(self, text: str) -> bool:
        return self.needle in fold(text)


@dataclass
class PatternMatcher(Matcher):
    """Any of a few compiled patterns, searched in the normalized text."""

    spec: Any
    patterns: list[re.Pattern[str]]

    def found(self, text: str) -> bool:
        text = unicodedata.normalize("NFC", text)
        return any(p.search(text) for p in self.patterns)


# -- amounts -----------------------------------------------------------------------------


def _group_thousands(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def amount_pattern(value: Any) -> re.Pattern[str]:
    """A pattern for the amount ``value`` (a number, or a numeric string) in any usual writing."""
    if value is True or value is False:
        raise ValueError("amount must be a number, not true or false")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"amount {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amount {value!r} must be a non-negative number")
    cents = int((amount * 100).to_integral_value())
    whole, frac = divmod(cents, 100)
    digits = str(whole)

    space = "[" + _SPACES + "]"
    # Written with spaces between thousands, "2 499" is one number: a leading group of exactly
    # three digits may not follow a 1-3 digit group and a space ("2 499" is not 499), and a
    # trailing one may not be followed by a space and three digits ("499 000" is not 499).
    space_before = "".join(rf"(?<!(?<![\d.,]){'[0-9]' * n}{space})" for n in (1, 2, 3))
    space_after = rf"(?!{space}\d{{3}}(?!\d))"

    # The whole part: (pattern, separator of thousands, head group, last group).
    wholes: list[tuple[str, str | None, str, str]] = [(re.escape(digits), None, digits, digits)]
    if whole >= 1000:
        for sep in _THOUSANDS:
            grouped = _group_thousands(digits, sep)
            wholes.append((re.escape(grouped), sep, grouped.split(sep)[0], grouped.split(sep)[-1]))

    alternatives = []
    for whole_re, sep, head, last in wholes:
        spaced = sep is None or sep in _SPACES
        decimal_seps = "".join(re.escape(c) for c in ".," if c != sep)
        if frac == 0:
            tail = rf"(?:[{decimal_seps}]00?|,-|\.-)?"
        elif frac % 10 == 0:
            tail = rf"[{decimal_seps}]{frac // 10}0?"
        else:
            tail = rf"[{decimal_seps}]{frac:02d}"
        alternatives.append(
            (space_before if spaced and len(head) == 3 else "")
            + whole_re
            + (space_after if spaced and len(last) == 3 else "")
            + tail
        )

    # Not part of a longer number: no digit (or digit and separator) before, none after.
    before = r"(?<!\d)(?<!\d[.,])"
    after = r"(?!\d)(?![.,]\d)"
    return re.compile(before + "(?:" + "|".join(alternatives) + ")" + after, re.IGNORECASE)


# -- dates -------------------------------------------------------------------------------


def date_patterns(iso: str) -> list[re.Pattern[str]]:
    """Patterns for the day ``iso`` (YYYY-MM-DD) written the Danish or the English way."""
    if not isinstance(iso, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso.strip()):
        raise ValueError(f"date {iso!r} is not YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(iso.strip())
    except ValueError as err:
        raise ValueError(f"date {iso!r}: {err}") from None
    d, m, y = day.day, day.month, day.year
    dd = rf"0?{d}" if d < 10 else str(d)
    mm = rf"0?{m}" if m < 10 else str(m)
    yy = rf"(?:{y}|{y % 100:02d})"
    other_year = r"(?!,?\s*\d{4}(?!\d))"  # "26. november 2027" is not 2026-11-26
    months = "|".join(sorted(MONTHS[m], key=len, reverse=True))
    month = rf"(?:{months})(?![a-zæøå])\.?"
    ordinal = r"(?:st|nd|rd|th|\.)?"
    year_after = rf"(?:,?\s*{y}(?!\d))?"
    return [
        # 2026-11-26
        re.compile(rf"(?<!\d){y}-{m:02d}-{d:02d}(?!\d)"),
        # 26/11, 26.11, 26.11., 26/11/2026, 01.12, 24/11-26/11 (but not "1-2", a range of days)
        re.compile(rf"(?<!\d)(?<!\d[./]){dd}([./]){mm}(?:\1{yy}(?!\d)|\.)?(?!\d)(?![./]\d)"),
        # 26-11-2026
        re.compile(rf"(?<!\d)(?<!\d[./-]){dd}-{mm}-{yy}(?!\d)"),
        # 26. november, 26 Nov, 26th of November, 26.nov., 26. november 2026
        re.compile(rf"(?<!\d)(?<!\d[.,]){dd}{ordinal}\s*(?:of\s+)?{month}{year_after}{other_year}",
                   re.IGNORECASE),
        # november 26, Nov. 26th, November 26, 2026
        re.compile(rf"(?<![a-zæøå]){month}\s*{dd}{ordinal}(?!\d){year_after}(?![.,/-]\d){other_year}",
                   re.IGNORECASE),
    ]


# -- building ----------------------------------------------------------------------------


def compile_alternative(spec: Any) -> Matcher:
    if isinstance(spec, str):
        needle = fold(spec).strip()
        if not needle:
            raise ValueError("empty string alternative")
        return StringMatcher(spec, needle)
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, value), = spec.items()
        if kind == "amount":
            if not isinstance(value, (int, float, str)):
                raise ValueError("amount must be a number")
            return PatternMatcher(spec, [amount_pattern(value)])
        if kind == "date":
            return PatternMatcher(spec, date_patterns(value))
        if kind == "re":
            if not isinstance(value, str):
                raise ValueError("re must be a string")
            try:
                return PatternMatcher(spec, [re.compile(value, re.IGNORECASE)])
            except re.error as err:
                raise ValueError(f"bad regular expression {value!r}: {err}") from None
    raise ValueError(f"not an alternative (a string, amount, date or re): {spec!r}")


def matches(spec: Any, text: str) -> bool:
    return compile_alternative(spec).found(text)
