"""Body measurements and clothing sizes in a shopper's message.

"jeg er 1,72 og vejer 68", "brystvidde 92 cm", "foot 26.5", "I'm 5'10", "talje 74, hofte
100"; "str. M", "size 40", "W32 L34", "a medium"; and the usual size ("I normally wear M",
"jeg bruger normalt str 38"). Measurements come out in centimetres (weight in kg), with
the Danish decimal comma read as a decimal, and inches converted where the number can
only be inches (a 32 waist).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .folding import alternation
from .lexicon import lexicon
from .spans import Spans

_LABELS = lexicon().measurement_labels
# A person followed by "is": "jeg er 172", "min søn er 158", "I'm 180".
_PERSON = (
    r"(?:\b(?:jeg|i|han|hun|he|she|vi|we|min\s+\w+|my\s+\w+)\s*(?:er|'m|’m|am|is|'s|’s)|\bi'?m"
    # "en pige på 101 cm", "a kid who's 115 cm": a child's height, the size of kids' clothes
    r"|\b(?:barn|barnet|pige|pigen|dreng|drengen|søn|sønnen|datter|datteren|baby|babyen|kid|child"
    r"|boy|girl|son|daughter|toddler|nephew|niece|nevø|niece|barnebarn|grandson|granddaughter)"
    r"\s+(?:på|paa|pa|of|who'?s|who\s+is|that'?s|som\s+er|er|is|'s|’s))"
)
_FILLER = (
    r"(?:\W|\b(?:er|is|are|was|of|på|paa|pa|omkring|ca|cirka|about|around|approx"
    r"|approximately|measures|measure|måler|maaler|maler|measuring|just|only|kun|lige|size"
    r"|str|min|mine|my|the|length|længde|laengde|langde|vidde|omkreds|circumference"
    r"|i|jeg|it|der|det|that|which)\b)*$"
)
_BEFORE = {
    name: re.compile(alternation(words) + _FILLER, re.IGNORECASE) for name, words in _LABELS.items()
}
_BEFORE["height"] = re.compile(
    r"(?:" + alternation(_LABELS["height"]) + "|" + _PERSON + r")" + _FILLER, re.IGNORECASE
)
_HEIGHT_WORD = re.compile(alternation(_LABELS["height"]), re.IGNORECASE)
_AFTER = {
    name: re.compile(
        r"^\s*(?:(?:i|in|om|around|over|rundt|paa|på|pa|the|my|min|mine|of|fra|from|measured)\s+)*"
        + alternation(words),
        re.IGNORECASE,
    )
    for name, words in _LABELS.items()
}
_NUMBER = re.compile(
    r"(?<![\w.,/#+-])(?P<num>\d{1,3}(?:[.,]\d{1,2})?)"
    r"(?:\s*(?P<unit>cm|centimeter|mm|meter|m|kg|kilo|kilos|lbs|lb|pounds|inches|inch|in|tommer|\"|''|”))?"
    r"(?![\w%]|[.,]\d)",
    re.IGNORECASE,
)
_FEET = re.compile(
    r"(?<![\w.,])(?P<ft>[4-7])\s*(?:'|’|ft|feet|foot)\s*(?P<inch>1[01]|\d)?\s*(?:\"|''|”|in\b|inch(?:es)?)?",
    re.IGNORECASE,
)
_RANGES = {
    "height": (50, 230),
    "weight": (2, 250),
    "chest": (50, 170),
    "waist": (40, 170),
    "hip": (50, 180),
    "foot_length": (10, 35),
    "inseam": (40, 110),
}
_INCH_BELOW = {"chest": 60, "waist": 50, "hip": 60, "inseam": 45}

_LETTERS = r"(?:XXXS|XXS|XS|XXXL|XXL|XL|[2-5]XL|[2-5]X|S|M|L)"
_SIZE_VALUE = r"(?:" + _LETTERS + r"|one\s?size|\d{2,3}(?:[.,]5)?(?:\s?[-/]\s?\d{2,3})?)(?![\w])"
_SIZE_LABEL = alternation(
    ["str", "strl", "størrelse", "størrelsen", "size", "sz", "eu", "skostørrelse", "shoe size"]
)
_LABELLED_SIZE = re.compile(
    _SIZE_LABEL + r"\.?\s*:?\s*(?:(?:a|an|en|et)\s+)?(?P<size>" + _SIZE_VALUE + ")", re.IGNORECASE
)
_WAIST_LENGTH = re.compile(
    r"(?<![\w/])W\s?(?P<w>\d{2})\s?(?:[/x]\s?)?L\s?(?P<l>\d{2})(?![\w])", re.IGNORECASE
)
_WAIST_SLASH = re.compile(
    r"(?<![\w/.,])(?P<w>2[3-9]|3\d|4[0-4])\s?/\s?(?P<l>2[6-9]|3[0-6])(?![\w/])"
)
_WAIST_ONLY = re.compile(r"(?<![\w/])W\s?(?P<w>\d{2})(?![\w/])", re.IGNORECASE)
_LETTER_SIZE = re.compile(
    r"(?<![\w'’/\-.])(?P<size>XXXS|XXS|XS|XXXL|XXL|XL|[2-5]XL|S|M|L)(?![\w'’/\-])"
)
_LOWER_SIZE = re.compile(
    r"(?<![\w'’/\-.])(?P<size>xxxs|xxs|xs|xxxl|xxl|xl|[2-5]xl)(?![\w'’/\-])", re.IGNORECASE
)
_WORD_SIZE = re.compile(
    r"(?<![\w])(?:a|an|in|en|et|i|size|str\.?|the|one|som|as)\s+"
    r"(?P<size>small|medium|large|x-?large|extra[\s-]large|xx-?large|x-?small|extra[\s-]small)"
    r"(?=\s*(?:$|[?.!,;)]|or\b|eller\b|in\b|i\b|instead|and\b|og\b|fit|size|str|would|will|vil|passer))",
    re.IGNORECASE,
)
# "in forest medium?": a size word that ends the message, after anything but a setting
# ("iron on medium").
_WORD_SIZE_LAST = re.compile(
    r"(?<![\w])(?<!on )(?<!at )(?<!to )(?<!til )(?<!paa )(?<!på )"
    r"(?P<size>small|medium|large|x-?large|extra[\s-]large|xx-?large|x-?small|extra[\s-]small)"
    r"\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_BARE_SIZE = re.compile(r"(?<![\w.,/#+-])(?P<size>\d{2}(?:[.,]5)?)(?![\w%]|[.,/]\d)")
_BARE_SIZE_BEFORE = re.compile(
    r"\b(?:i|in|a|en|et|str|size|wear|wears|bruger|bruge|take|tage|tager|took|til|to|for|fra|from|af"
    r"|eller|or|og|and|nummer|number|er|am|'m|like|som|as|instead of|i stedet for|usually|normally"
    r"|normalt|plejer|med|with|nr|have|ha|hellere|rather|prefer|foretrækker|foretraekker|want|need"
    r"|brug\s+for|få|faa|get|the|swap|change|ændre|aendre|skifte|bytte|byt|exchange)\s*$",
    re.IGNORECASE,
)
_NOT_A_SIZE_AFTER = re.compile(
    r"^\s*(?:dages|dagen|døgn|ugers|dage|dag|days|day|år|aar|years|year|yo|timer|hours|min|minutter|minutes|kr|dkk|stk|pcs"
    r"|%|procent|percent|grader|degrees|følgere|followers|gange|times|x|cm|kg|mm|m|euro|eur|kroner"
    r"|uger|weeks|måneder|months|sek|sekunder|seconds|km|personer|people|euros|pieces|units|items"
    r"|varer|styk|styks|par|pairs|timers|minutes|mins)\b",
    re.IGNORECASE,
)
_USUAL_CUE = r"(?:normally|usually|normalt|plejer(?:\s+at)?|typically|always|altid|generally|oftest|mostly|til\s+daglig|som\s+regel)"
_USUAL_VERB = r"(?:wear|wears|take|takes|buy|get|go\s+for|am|'m|’m|er|bruger|bruge|tager|tage|have|har|køber|købe|går\s+i|gaar\s+i|gar\s+i|passer|fit\s+in|fit|fits|a|an|en|et)"
_USUAL_SIZE = (
    r"(?:(?:in\s+)?(?:a|an|en|et)\s+)?(?:str\.?\s*|size\s*|størrelse\s*|stoerrelse\s*)?"
    r"(?P<size>XXXS|XXS|XS|XXXL|XXL|XL|[2-5]XL|S|M|L|small|medium|large|\d{2,3}(?:[.,]5)?(?:/\d{2})?)(?![\w])"
)
_USUAL = [
    re.compile(_USUAL_CUE + r"\s+(?:" + _USUAL_VERB + r"\s+)*" + _USUAL_SIZE, re.IGNORECASE),
    re.compile(
        _USUAL_VERB + r"\s+" + _USUAL_CUE + r"\s+(?:" + _USUAL_VERB + r"\s+)*" + _USUAL_SIZE,
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:i|jeg)\s+(?:wear|bruger|går\s+i|gaar\s+i|tager|take)\s+" + _USUAL_SIZE, re.IGNORECASE
    ),
    re.compile(r"\b(?:i'?m|i\s+am|jeg\s+er)\s+(?:a|an|en|et)\s+" + _USUAL_SIZE, re.IGNORECASE),
    # "I'm 42 in Nike", "jeg er M i trøjer": a size in a brand or a kind of garment
    re.compile(
        r"\b(?:i'?m|i\s+am|jeg\s+er)\s+"
        + _USUAL_SIZE
        + r"(?=\s+(?:in|i|hos|at|from|fra)\s+[a-zæøå])",
        re.IGNORECASE,
    ),
]
# Both patterns of "normally/plejer ..." need the word itself: looked for once, the rest of
# their work is skipped for the messages without one (most).
_USUAL_CUED = 2
_USUAL_CUE_WORD = re.compile(_USUAL_CUE, re.IGNORECASE)
_WORD_TO_SIZE = {
    "small": "S",
    "medium": "M",
    "large": "L",
    "xlarge": "XL",
    "extralarge": "XL",
    "xxlarge": "XXL",
    "xsmall": "XS",
    "extrasmall": "XS",
}


@dataclass
class SizesAndMeasurements:
    sizes: list[str] = field(default_factory=list)
    usual_size: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _size(raw: str) -> str:
    key = re.sub(r"[\s-]", "", raw.lower())
    if key in _WORD_TO_SIZE:
        return _WORD_TO_SIZE[key]
    if key.replace(".", "").replace(",", "").replace("/", "").isdigit():
        return raw.replace(",", ".").replace(" ", "")
    if key == "onesize":
        return "ONE SIZE"
    return key.upper()


def _label(text: str, start: int, end: int) -> str | None:
    """The measurement a number at [start, end) is labelled as, before or after it."""
    before = text[max(0, start - 40) : start]
    after = text[end : end + 30]
    best_before: tuple[int, str] | None = None
    for name, pattern in _BEFORE.items():
        m = pattern.search(before)
        if m and (best_before is None or m.start() > best_before[0]):
            best_before = (m.start(), name)
    after_name = next((name for name, p in _AFTER.items() if p.search(after)), None)
    if best_before and after_name:
        gap = before[best_before[0] :]
        # "74 talje, 100 hofte": the label before 100 belongs to 74.
        if re.search(r"[,;]", gap):
            return after_name
        # "jeg er 92 cm om livet": "jeg er" only says a person follows; the word after names it.
        if best_before[1] == "height" and after_name != "height" and not _HEIGHT_WORD.search(gap):
            return after_name
        return best_before[1]
    return best_before[1] if best_before else after_name


def _centimetres(name: str | None, value: float, unit: str) -> tuple[str, float] | None:
    unit = unit.lower()
    inches = unit in {"in", "inch", "inches", "tommer", '"', "''", "”"}
    if name is None:  # unlabelled: the unit decides
        if unit in {"kg", "kilo", "kilos", "lbs", "lb", "pounds"}:
            name = "weight"
        elif (unit in {"cm", "centimeter"} and 120 <= value <= 220) or (
            unit in {"m", "meter"} and 1.0 <= value <= 2.3
        ):
            name = "height"
        else:
            return None
    if name == "weight":
        value = value * 0.4536 if unit in {"lbs", "lb", "pounds"} else value
    elif unit == "mm":
        value /= 10
    elif unit in {"m", "meter"} or (name == "height" and value < 3):
        value *= 100
    elif inches or (not unit and value < _INCH_BELOW.get(name, 0)):
        value *= 2.54
    low, high = _RANGES[name]
    return (name, round(value, 1)) if low <= value <= high else None


def _measurements(text: str, spans: Spans) -> dict[str, float]:
    found: dict[str, float] = {}
    for m in _FEET.finditer(text):
        if spans.free(m.start(), m.end()):
            inches = int(m.group("inch") or 0)
            found["height"] = round(int(m.group("ft")) * 30.48 + inches * 2.54, 1)
            spans.take(m.start(), m.end())
    for m in _NUMBER.finditer(text):
        if not spans.free(m.start(), m.end()):
            continue
        unit = m.group("unit") or ""
        end = m.end()
        if (
            unit.lower() == "in"
            and re.match(r"\s*[a-zæøå]", text[end:], re.IGNORECASE)
            and not any(p.search(text[end : end + 30]) for p in _AFTER.values())
        ):
            unit, end = "", m.end("num")  # "42 in nike" is a size in a brand, not inches
        name = _label(text, m.start(), end)
        result = _centimetres(name, _number(m.group("num")), unit)
        if result:
            found.setdefault(result[0], result[1])
            spans.take(m.start(), end)
    if "chest" in found or "bust" in found:
        # Size charts call it one or the other; the shopper's word does not tell which.
        found["bust"] = found["chest"] = found.get("chest", found.get("bust", 0.0))
    return found


def known_size_pattern(sizes: set[str] | frozenset[str]) -> re.Pattern[str] | None:
    """The store's own sizes with a digit in them ("104", "30-33", "EU 28"), longest first:
    kids' sizes by height and ranges are sizes only a store's catalogue can tell."""
    numeric = sorted((s for s in sizes if any(c.isdigit() for c in s)), key=len, reverse=True)
    if not numeric:
        return None
    return re.compile(
        r"(?<![\w.,/#+-])(?P<size>" + "|".join(re.escape(s) for s in numeric) + r")(?![\w%]|[.,/-]\d)",
        re.IGNORECASE,
    )


def _sizes(
    text: str, spans: Spans, known: re.Pattern[str] | None = None, known_sizes: frozenset[str] = frozenset(),
    digits: bool = True,
) -> tuple[list[str], str | None]:
    """Sizes in the order written, and the one the shopper says they usually wear.
    ``digits=False`` (the text has none) skips the patterns of numeric sizes."""
    found: list[tuple[int, str]] = []

    def add(start: int, end: int, size: str) -> None:
        if spans.claim(start, end):
            found.append((start, size))

    usual: str | None = None
    cued = _USUAL_CUE_WORD.search(text) is not None
    for pattern in _USUAL if cued else _USUAL[_USUAL_CUED:]:
        m = pattern.search(text)
        if m and spans.free(m.start("size"), m.end("size")):
            raw = m.group("size")
            if len(raw) == 3 and raw.isdigit() and raw not in known_sizes:
                continue  # "normally 180" is no size unless the store sells one by that name
            usual = _size(raw)
            add(m.start("size"), m.end("size"), usual)
            break
    if known is not None and digits:
        for m in known.finditer(text):
            size = m.group("size")
            distinct = not size.isdigit()  # "30-33", "EU 28": nothing else is written so
            if distinct or (
                _BARE_SIZE_BEFORE.search(text[max(0, m.start() - 20) : m.start()])
                and not _NOT_A_SIZE_AFTER.match(text[m.end() :])
            ):
                add(m.start(), m.end(), size)
    for m in _WAIST_LENGTH.finditer(text) if digits else ():
        add(m.start(), m.end(), f"{m.group('w')}/{m.group('l')}")
    for m in _WAIST_SLASH.finditer(text) if digits else ():
        add(m.start(), m.end(), f"{m.group('w')}/{m.group('l')}")
    for m in _WAIST_ONLY.finditer(text) if digits else ():
        add(m.start(), m.end(), m.group("w"))
    for m in _LABELLED_SIZE.finditer(text):
        add(m.start("size"), m.end("size"), _size(m.group("size")))
    for pattern in (_LETTER_SIZE, _LOWER_SIZE, _WORD_SIZE, _WORD_SIZE_LAST):
        for m in pattern.finditer(text):
            add(m.start("size"), m.end("size"), _size(m.group("size")))
    for m in _BARE_SIZE.finditer(text) if digits else ():
        value = _number(m.group("size"))
        if (
            24 <= value <= 48
            and _BARE_SIZE_BEFORE.search(text[max(0, m.start() - 20) : m.start()])
            and not _NOT_A_SIZE_AFTER.match(text[m.end() :])
        ):
            add(m.start(), m.end(), _size(m.group("size")))
    sizes: list[str] = []
    for _, size in sorted(found):
        if size not in sizes:
            sizes.append(size)
    return sizes, usual


def extract_sizes_and_measurements(
    text: str, spans: Spans, known: re.Pattern[str] | None = None, known_sizes: frozenset[str] = frozenset()
) -> SizesAndMeasurements:
    """Measurements first (so "1,72 m" is not size M), then sizes, claiming what they read.

    ``known`` (from ``known_size_pattern``) and ``known_sizes`` are the store's own sizes."""
    digits = any(c.isdigit() for c in text)  # every measurement and numeric size has one
    measurements = _measurements(text, spans) if digits else {}
    sizes, usual = _sizes(text, spans, known, known_sizes, digits)
    return SizesAndMeasurements(sizes=sizes, usual_size=usual, measurements=measurements)
