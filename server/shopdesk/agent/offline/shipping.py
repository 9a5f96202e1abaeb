"""The shipping answer: the store's own FAQ text where it answers the question, else the
generic list of methods built from the store's data; never both, which said the same
prices twice.

An FAQ entry stands in for the generic list only when it names every shipping method
with its price (and its delivery days, when the shopper asks how long): then it says all
the list would, in the store's own words. The store's own text on free shipping (an
entry that states the threshold and says "free") stands in for the generic threshold
line the same way; it also says which methods are left out.

What each entry says is worked out once per language, not on every shipping question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...store.models import FaqEntry, ShippingMethod, StoreInfo, localized
from .faq import FaqIndex

# A number as a text writes a price: "39", "1.299", "3,000", "39,95".
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,]\d{3})+|\d+)(?:[.,](\d{1,2}))?(?!\d)")
_FREE = re.compile(r"\b(?:free|gratis|fri|omkostningsfri)\b", re.IGNORECASE)
# The shopper asks how long delivery takes (or how fast it can be).
_ASKS_TIME = re.compile(
    r"how\s+long|how\s+fast|how\s+quick|how\s+soon|when\s+(?:will|would|does|do|can)|delivery\s+time"
    r"|\bdays?\b|tomorrow|express|hvor\s+lang\s+tid|hvor\s+hurtig|leveringstid|\bdage\b|\bdag\b"
    r"|i\s+morgen|ekspres"
    r"|hvorn(?:å|aa|a)r\s+(?:kommer|bliver|får|faar|kan|vil|er\s+(?:den|de|pakken|det|varen))\b",
    re.IGNORECASE,
)


# Countries a shopper may ship to, by ISO code: the words that name them (English, Danish,
# their own) and their names in a reply.
COUNTRIES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "DK": (("denmark", "danmark"), {"en": "Denmark", "da": "Danmark"}),
    "SE": (("sweden", "sverige"), {"en": "Sweden", "da": "Sverige"}),
    "NO": (("norway", "norge"), {"en": "Norway", "da": "Norge"}),
    "FI": (("finland", "suomi"), {"en": "Finland", "da": "Finland"}),
    "DE": (("germany", "tyskland", "deutschland"), {"en": "Germany", "da": "Tyskland"}),
    "NL": (("netherlands", "holland", "nederlandene"), {"en": "the Netherlands", "da": "Holland"}),
    "BE": (("belgium", "belgien"), {"en": "Belgium", "da": "Belgien"}),
    "FR": (("france", "frankrig"), {"en": "France", "da": "Frankrig"}),
    "AT": (("austria", "østrig"), {"en": "Austria", "da": "Østrig"}),
    "GB": (("united kingdom", "great britain", "england", "the uk", "storbritannien"),
           {"en": "the UK", "da": "Storbritannien"}),
    "FO": (("faroe islands", "færøerne"), {"en": "the Faroe Islands", "da": "Færøerne"}),
    "GL": (("greenland", "grønland"), {"en": "Greenland", "da": "Grønland"}),
    "PL": (("poland", "polen"), {"en": "Poland", "da": "Polen"}),
    "ES": (("spain", "spanien"), {"en": "Spain", "da": "Spanien"}),
    "IT": (("italy", "italien"), {"en": "Italy", "da": "Italien"}),
    "PT": (("portugal",), {"en": "Portugal", "da": "Portugal"}),
    "IE": (("ireland", "irland"), {"en": "Ireland", "da": "Irland"}),
    "CH": (("switzerland", "schweiz"), {"en": "Switzerland", "da": "Schweiz"}),
    "US": (("united states", "the us", "usa", "america", "amerika"), {"en": "the US", "da": "USA"}),
    "CA": (("canada",), {"en": "Canada", "da": "Canada"}),
    "AU": (("australia", "australien"), {"en": "Australia", "da": "Australien"}),
}
_COUNTRY_WORDS = re.compile(
    r"\b(" + "|".join(re.escape(w) for words, _ in COUNTRIES.values() for w in words) + r")\b", re.IGNORECASE
)
_COUNTRY_OF = {w: code for code, (words, _) in COUNTRIES.items() for w in words}
# In the store's text on free shipping, what leaves methods out: "not with DHL Express",
# "except DHL Express", "UPS is always charged", "gælder ikke PostNord Norden".
_LEAVES_OUT = re.compile(
    r"\b(?:not|never|except|excluding|always\s+(?:charged|costs?|paid)|ikke|aldrig|undtagen|"
    r"undtaget|altid\s+(?:betalt|betales|koster))\b",
    re.IGNORECASE,
)
_EXCEPT = re.compile(r"\b(?:except|excluding|undtagen|undtaget)\b", re.IGNORECASE)
_FREE_ASKED = re.compile(r"\b(?:free|gratis|fri\s+fragt|fragtfri)", re.IGNORECASE)


def country_name(code: str, lang: str) -> str:
    names = COUNTRIES[code][1]
    return names.get(lang, names["en"])


def countries_in(text: str) -> list[str]:
    """The ISO codes of the countries a text names, in order."""
    return list(dict.fromkeys(_COUNTRY_OF[m.group(1).lower()] for m in _COUNTRY_WORDS.finditer(text)))


class FreeShippingScope:
    """Which deliveries the store's free shipping covers, as its own text on it says:
    the countries it names ("free in Denmark") and the methods it leaves out ("does not
    apply to PostNord Nordic", "except DHL Express", "UPS is always charged")."""

    def __init__(self, text: str, methods: list[ShippingMethod]) -> None:
        self.methods = methods
        self.countries: set[str] = set()
        self.left_out: set[str] = set()
        for clause in re.split(r"[.;:]\s+|\n+", text):
            if _LEAVES_OUT.search(clause):
                cut = _EXCEPT.search(clause)
                named = self.named(clause[cut.end():] if cut else clause)
                self.left_out |= {m.id for m in named}
            elif _FREE.search(clause):
                self.countries |= set(countries_in(clause))

    def named(self, text: str) -> list[ShippingMethod]:
        """The methods a text names: by their whole name, or by a carrier only one has."""
        lowered = text.lower()
        carriers = [m.carrier.lower() for m in self.methods if m.carrier]
        found = []
        for m in self.methods:
            names = [n.lower() for n in (m.name.values() if isinstance(m.name, dict) else [m.name])]
            carrier = (m.carrier or "").lower()
            if any(n in lowered for n in names) or (
                    carrier and carriers.count(carrier) == 1 and re.search(rf"\b{re.escape(carrier)}\b", lowered)):
                found.append(m)
        return found

    def not_covered(self, question: str, lang: str) -> str | None:
        """What the question names that free shipping does not cover (a country, a
        method), as the reply names it; None when it names nothing of the kind."""
        for m in self.named(question):
            if m.id in self.left_out or (self.countries and not self.countries & set(m.countries)):
                return localized(m.name, lang)
        for code in countries_in(question):
            serving = [m for m in self.methods if code in m.countries]
            if not serving:
                continue
            if (self.countries and code not in self.countries) or all(m.id in self.left_out for m in serving):
                return country_name(code, lang)
        return None


@dataclass(frozen=True)
class _Text:
    """One FAQ answer in one language, and what it says about shipping."""

    entry: FaqEntry
    text: str
    prices: bool  # names every method with its price
    days: bool  # ... and its delivery days
    free: bool  # states the free-shipping threshold, and that it is free


class OwnShippingTexts:
    """The store's own FAQ texts on shipping, per language."""

    def __init__(self, store: StoreInfo, faq: FaqIndex) -> None:
        self.store = store
        self.faq = faq
        self._texts: dict[str, list[_Text]] = {}

    def for_question(self, question: str, lang: str) -> dict[str, Any]:
        """What of the store's FAQ the shipping answer shows: ``own_list`` (an entry that
        lists every method itself), ``own_free`` (its text on free shipping) and
        ``free_said`` (the threshold is already in ``own_list``); and what the question
        names that the store does not do: ``not_shipped_to`` (countries no method serves),
        ``free_not_for`` (a country or method free shipping leaves out)."""
        data: dict[str, Any] = {}
        served = {c for m in self.store.shipping_methods for c in m.countries}
        if nowhere := [country_name(c, lang) for c in countries_in(question) if c not in served]:
            data["not_shipped_to"] = nowhere  # "do you ship to the US?": no, said first
        texts = self._texts.get(lang)
        if texts is None:
            texts = self._texts[lang] = self._read(lang)
        if not texts:
            return data
        timed = _ASKS_TIME.search(question) is not None
        listing = next((t for t in texts if t.prices and (t.days or not timed)), None)
        if listing is not None:
            data["own_list"] = listing.text
            data["free_said"] = listing.free
        # (an entry that lists the prices beside the generic list, shown because the days
        # asked for are not in it, would say them twice)
        free = [t for t in texts if t.free and t is not listing and not t.prices]
        if len(free) > 1:  # the one the question comes closest to
            ranked = [e for e, _ in self.faq.ranked(question, minimum=0.0)]
            free.sort(key=lambda t: ranked.index(t.entry) if t.entry in ranked else len(ranked))
        if free:
            data["own_free"] = free[0].text
        # what the store's words on free shipping leave out, where the shopper names it
        terms = free[0] if free else next((t for t in texts if t.free), None)
        if terms is not None and (_FREE_ASKED.search(question) or _NUMBER.search(question)):
            scope = FreeShippingScope(terms.text, self.store.shipping_methods)
            if (outside := scope.not_covered(question, lang)) is not None:
                data["free_not_for"] = outside
        return data

    def _read(self, lang: str) -> list[_Text]:
        """The entries that say something of shipping: every method's price, or the
        free-shipping threshold."""
        methods = self.store.shipping_methods
        threshold = self.store.free_shipping_threshold
        texts = []
        for entry in self.store.faq:
            text = localized(entry.answer, lang)
            amounts = _amounts(text)
            prices = bool(methods) and all(_names_method(text, amounts, m, lang) for m in methods)
            days = prices and all(_states_days(text, m.delivery_days) for m in methods)
            free = bool(threshold) and float(threshold or 0) in amounts and _FREE.search(text) is not None
            if prices or free:
                texts.append(_Text(entry, text, prices, days, free))
        return texts


def _names_method(text: str, amounts: set[float], method: ShippingMethod, lang: str) -> bool:
    """The text names the method (its carrier, or the first word of its name) and its price."""
    words = re.findall(r"[^\W\d_]{3,}", localized(method.name, lang))
    name = method.carrier or (words[0] if words else "")
    if not name or name.lower() not in text.lower():
        return False
    price = float(method.price)
    return price in amounts if price else _FREE.search(text) is not None


def _amounts(text: str) -> set[float]:
    """Every number the text writes, as amounts: "1.299 kr." is 1299, "39,95" is 39.95."""
    found = set()
    for m in _NUMBER.finditer(text):
        whole = re.sub(r"[.,]", "", m.group(1))
        found.add(float(f"{whole}.{m.group(2)}" if m.group(2) else whole))
    return found


def _states_days(text: str, days: tuple[int, int]) -> bool:
    low, high = days
    pattern = (rf"(?<!\d){low}(?!\d)" if low == high
               else rf"(?<!\d){low}\s*(?:-|–|—|to|til)\s*{high}(?!\d)")
    return re.search(pattern, text) is not None
