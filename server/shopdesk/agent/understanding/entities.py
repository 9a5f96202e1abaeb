"""What a shopper's message names: order numbers, emails, sizes, measurements, products,
colours, codes, amounts, phone numbers, a new address, and words that report a fault.

Extractors run from the most specific to the least and claim the characters they read
(see ``spans``), so "2200 København" is a postcode, "1042 kr" an amount, "+45 12 34 56 78"
a phone number and "170 cm" a height before anything is taken for an order number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shopdesk.store.models import OrderNumberFormat, Product
from shopdesk.tools.returns import matches_keyword

from .folding import alternation, skeleton
from .language import is_common_word
from .lexicon import lexicon
from .measurements import extract_sizes_and_measurements, known_size_pattern
from .products import ProductIndex, ProductMatch
from .spans import Spans


@dataclass(frozen=True)
class NewAddress:
    line1: str
    zip: str
    city: str


@dataclass
class Entities:
    order_numbers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    usual_size: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)
    products: list[ProductMatch] = field(default_factory=list)
    page_product: str | None = None
    colors: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    amounts: list[float] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    address: NewAddress | None = None
    defect_words: list[str] = field(default_factory=list)
    # Products named (or on the page) whose known defect the message describes.
    known_defects: list[str] = field(default_factory=list)
    warranty: bool = False  # the warranty (or guarantee, reklamationsret) is named

    @property
    def wanted_sizes(self) -> list[str]:
        """Sizes named other than the shopper's usual one ("I wear M, do you have it in L")."""
        return [s for s in self.sizes if s != self.usual_size]

    @property
    def reports_defect(self) -> bool:
        return bool(self.defect_words)

    @property
    def product_ids(self) -> list[str]:
        """Products named in the text, best first, then the one on the page."""
        ids = [m.product_id for m in self.products]
        if self.page_product and self.page_product not in ids:
            ids.append(self.page_product)
        return ids


_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)

_UP = r"[A-ZÆØÅ]"
_STREET_WORD = _UP + r"[\wæøåÆØÅ.'’\-]*"
_FLOOR = r"(?:\s?,?\s?(?:\d{1,2}\.?\s?(?:sal|th|tv|mf|t\.?h\.?|t\.?v\.?)\.?|st\.?(?:\s?(?:th|tv|mf)\.?)?|(?:th|tv|mf)\.?)(?![\w]))?"
_LINE1 = (
    r"(?P<line1>"
    + _STREET_WORD
    + r"(?:\s(?:"
    + _STREET_WORD
    + r"|de|la|le|van|von|der|den|og|st\.|skt\.))*?"
    r"\s\d{1,4}[A-Za-z]?"
    + _FLOOR
    + r"|\d{1,4}[A-Za-z]?\s"
    + _STREET_WORD
    + r"(?:\s"
    + _STREET_WORD
    + r"){0,3})"
)
_ZIP_CITY = (
    r",?\s*(?:(?:DK|SE|S|D|DE|NO|N)-?\s?)?(?P<zip>\d{3}\s?\d{2}|\d{4})\s+(?P<city>" + _UP + r"[\wæøåÆØÅ.\-]*"
    r"(?:\s(?:" + _UP + r"[a-zæøå.\-]+|C|V|K|N|S|Ø|SV|NV|SØ|NØ)(?![\w]))?)"
)
_ADDRESS = re.compile(r"(?<![\w])" + _LINE1 + _ZIP_CITY)
# Typed in lower case: only after the word address itself.
_ADDRESS_LABELLED = re.compile(
    r"(?:adresse|address|adr)\w*\s*(?:er|is|til|to|:)?\s*:?\s*"
    r"(?P<line1>[a-zæøå][\wæøå.'\-]*(?:\s[a-zæøå][\wæøå.'\-]*){0,3}\s\d{1,4}[a-z]?" + _FLOOR + r")"
    r",?\s*(?P<zip>\d{3}\s?\d{2}|\d{4})\s+(?P<city>[a-zæøå][\wæøå.\-]*(?:\s(?:c|v|k|n|s|ø|sv|nv|sø|nø)(?![\w]))?)",
    re.IGNORECASE,
)
_LEADING_WORDS = re.compile(
    r"^(?:(?:hej|hi|ny|nye|new|min|my|adresse|address|er|is|til|to|send|ship|skriv|write|please|venligst"
    r"|den|it|the|kan|can|i|jeg|vil|want|gerne|bor|live|paa|på|pa|at|in|flyttet|moved|deliver|lever|og|and)\s+)+",
    re.IGNORECASE,
)
_PHONE_LABEL = (
    r"(?:tlf|telefon\w*|mobil\w*|phone(?:\s+number)?|mobile(?:\s+number)?|cell|tel|mit\s+nummer|my\s+number"
    r"|nummeret|ring(?:e)?(?:\s+(?:til\s+)?mig)?(?:\s+(?:op|på|paa|pa))?|call(?:\s+me)?(?:\s+(?:on|at))?"
    r"|sms|text\s+me(?:\s+(?:on|at))?)"
)
_PHONES = [
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s-]?\d){6,12}(?!\d)"),
    re.compile(
        r"(?<![\w])"
        + _PHONE_LABEL
        + r"\.?\s*(?:er|is|:|-)?\s*(?P<num>(?:00\d{2}\s?)?\d{2}(?:[\s-]?\d{2}){3}|\d{4}\s\d{4})(?!\d)",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\d+])\d{2}\s\d{2}\s\d{2}\s\d{2}(?![\d])"),
]
_AMOUNT_NUMBER = r"\d{1,3}(?:[. ]\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY_AFTER = r"(?:kr\.?|kroner|dkk|,-|€|eur|euro|sek|nok)(?![\w])"
_AMOUNT = re.compile(
    r"(?:(?<![\w])(?:kr\.?|dkk|€|eur)\s*(?P<a>" + _AMOUNT_NUMBER + r")(?![\d])"
    r"|(?<![\w.,])(?P<b>" + _AMOUNT_NUMBER + r")\s*" + _CURRENCY_AFTER + ")",
    re.IGNORECASE,
)
# Month names written out or cut short ("jan.", "sept"), not any word that starts like one:
# "JULEGAVE15" is a code, not "jul 15".
_MONTHS = (
    r"(?:januar|january|jan|februar|february|feb|marts|march|mar|april|apr|maj|may|juni|june|jun"
    r"|juli|july|jul|august|aug|september|sept|sep|oktober|october|okt|oct|november|nov"
    r"|december|dec)\.?"
)
_DATES = [
    re.compile(r"(?<![\w])\d{4}-\d{2}-\d{2}(?![\w])"),
    re.compile(
        r"(?<![\w.,/])(?:[12]\d|3[01]|0?[1-9])[./-](?:1[0-2]|0?[1-9])(?:[./-]\d{4}|[./-]\d{2}|\s(?:19|20)\d{2})?(?![\w]|[.,/]\d)"
    ),
    re.compile(r"(?<![\w])\d{1,2}\.?\s*" + _MONTHS + r"(?:\s*\d{4})?", re.IGNORECASE),
    re.compile(
        # a space or a dot between month and day: "nov 26", "Nov. 26"; glued ("JUL25") it is a code
        r"(?<![\w])" + _MONTHS + r"(?:(?<=\.)\s*|\s+)\d{1,2}(?:st|nd|rd|th)?(?:,?\s*\d{4})?(?![\w])", re.IGNORECASE
    ),
    re.compile(
        r"(?<![\w])(?:kl\.?|klokken)\s*\d{1,2}(?:[.:]\d{2})?|(?<![\w])\d{1,2}:\d{2}(?![\w])",
        re.IGNORECASE,
    ),
]
_CODE_CUE = re.compile(
    r"(?:rabat)?kode\w*|codes?|voucher|coupon|kupon|promo\w*|gavekort\w*|gift\s*cards?(?:\s+(?:code|number|no))?"
    r"|giftcard|kampagnekode|discount",
    re.IGNORECASE,
)
# The word right before a code: "koden X", "rabatkoden: X", "the code X", "promo code 'X'".
_CODE_RIGHT_BEFORE = re.compile(
    r"(?<![\wæøå])(?:(?:rabat|kampagne|velkomst|promo|gavekort|rabat\s)?kode(?:n|r|rne)?"
    r"|(?:discount|promo|coupon|voucher|gift\s*card)?\s*codes?|voucher|coupon|kupon(?:en)?"
    r"|promo)(?:\s+(?:hedder|called|named))?\s*(?:[:=-]\s*)?[\"'“”‘’«]?$",
    re.IGNORECASE,
)
_CODE_TOKEN = re.compile(r"(?<![\w@./#-])(?P<code>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)(?![\w@-]|\.\w)")
_NOT_A_CODE = re.compile(
    r"[2-5]?x{0,3}[sl]|[2-5]xl|xxs|[wl]\d{2}(?:l\d{2})?|eu\d{2}|dk-?\d{4}|\d+(?:cm|mm|kg|kr|dkk|m|g|l|ml|x|stk"
    r"|pcs|h|t|min|sek|s|gb|mb|pm|am|st|nd|rd|th|dage|days|år|aar|yrs|k)|covid-?19|mp[34]|4k|3d|a4|b2b|b2c|24-?7"
    r"|(?:ordre|order|ordrenr|ordernr|nr|no)-\d{3,8}",  # "ordre-1003" is an order number
    re.IGNORECASE,
)
_ORDER_NUMBER = re.compile(r"(?<![\w@.,/+-])(?P<hash>#\s?)?(?P<num>\d{3,8})(?![\w@]|[.,:/]\d)")
# Digit groups that may be one order number written in parts: "204 526", "3.100.001",
# "2045-26"; joined only when the store's own order numbers look like that.
_GROUPED_NUMBER = re.compile(
    r"(?<![\w@.,/+-])(?P<hash>#\s?)?(?P<num>\d{1,4}(?:[ .\u00a0-]\d{2,4}){1,3})(?![\w@]|[.,:/ -]?\d)"
)
# A number glued to its cue word: "ordre nr.1003", "order-1003", "no.1003".
_GLUED_TO_CUE = re.compile(
    r"(?<![\w])(?:ordre\w*|order\w*|bestilling\w*|nr|no)[.-](?P<num>\d{3,8})(?![\w@]|[.,:/]\d)", re.IGNORECASE
)
_ORDER_CUE = re.compile(
    r"(?:(?<![\w])(?:ordre\w*|order\w*|bestilling\w*|ordrenr|ordernr|nr|no|number|nummer|ref|reference|id)|#)"
    r"\.?\s*[:#.]?\s*"
    r"(?:(?:er|is|was|var)\s*:?\s*)?$",
    re.IGNORECASE,
)
_ORDER_LIST = re.compile(r"(?:\d{3,8})\s*(?:,|og|and|&|\+|/|samt)\s*(?:#\s?)?$", re.IGNORECASE)
_MONEY_BEFORE = re.compile(
    r"\b(?:betalt|paid|pay|betale|pris|prisen|price|koster|koste|costs?|beløb\w*|amount|trukket|charged|"
    r"refund\w*|saldo|balance|værdi|worth|total|over|under|mindst|at least|minimum)[^\w.!?]*(?:\w+[^\w.!?]+)?$",
    re.IGNORECASE,
)
_NOT_ORDER_AFTER = re.compile(
    r"^\s*(?:(?:stk|pcs|styk|dage|days|timer|hours|år|aar|years|følgere|followers|km|x|gange|times|units|"
    r"kunder|customers|medlemmer|members|ansatte|employees|grader|degrees|kcal|meter|gram|g|ml|mb|gb"
    r")(?![\w@]|\.\w)|%|[A-ZÆØÅ]{1,2}\b)",
)
_LEXICON = lexicon()
_POSTCODE_AFTER = re.compile(r"^\s+" + alternation(_LEXICON.towns), re.IGNORECASE)
_STREET_NAME_BEFORE = re.compile(
    r"(?:gade|vej|allé|alle|stræde|straede|plads|boulevard|torv|road|street|avenue|lane|vænge|vænget"
    r"|parken|bakke|bakken|toften|haven|gyde|stien|engen|marken)\s*$",
    re.IGNORECASE,
)
_ADDRESS_WORDS = re.compile(
    r"adresse|address|\bbor\b|\blive\b|\bvej\b|gade\b|postnummer|postcode|zip", re.IGNORECASE
)
_STREET_BEFORE = re.compile(
    r"[A-Za-zæøåÆØÅ]+\.?\s\d{1,4}[A-Za-z]?(?:\s?,?\s?\d{1,2}\.?\s?(?:th|tv|mf|sal))?\s*,?\s*$"
)
_COLOUR = re.compile(alternation(list(_LEXICON.colours)), re.IGNORECASE)
_COLOUR_FALSE_FRIENDS = re.compile(alternation(_LEXICON.colour_false_friends), re.IGNORECASE)
_DEFECT = re.compile(alternation(_LEXICON.defect_words), re.IGNORECASE)
_WARRANTY = re.compile(alternation(_LEXICON.warranty_words), re.IGNORECASE)
# The first four letters of the warranty words: a message without any of them (nearly all)
# is not searched for one.
_WARRANTY_STEMS = tuple(sorted({w.lower()[:4] for w in _LEXICON.warranty_words}))


def reports_fault(text: str) -> bool:
    """The text holds a word that reports a fault ("pilling", "i stykker", "torn")."""
    return _DEFECT.search(text) is not None


def names_warranty(text: str) -> bool:
    """The message names the warranty ("garantien", "reklamationsret", "a guarantee")."""
    lowered = text.lower()
    return any(stem in lowered for stem in _WARRANTY_STEMS) and _WARRANTY.search(text) is not None


def _colour_key(word: str) -> str:
    """A colour word as a key: "Grå", "graa", "gra" -> "gra"; "off-white" -> "off white"."""
    return re.sub(r"[\s-]+", " ", skeleton(word)).strip()


def _amount(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:[. ]\d{3})+(?:,\d{1,2})?", raw):
        raw = raw.replace(".", "").replace(" ", "")
    return float(raw.replace(",", "."))


class EntityExtractor:
    """Built once per store (it indexes the products and their colours)."""

    def __init__(self, products: list[Product], order_format: OrderNumberFormat | None = None) -> None:
        self._index = ProductIndex(products)
        self._order_format = order_format
        store_colours = {v.color.lower() for p in products for v in p.variants if v.color}
        self._colours = {**_LEXICON.colours, **{c: c for c in store_colours}}
        self._colour_pattern = (
            re.compile(alternation(list(self._colours)), re.IGNORECASE)
            if store_colours
            else _COLOUR
        )
        self._colour_keys = {_colour_key(k): v for k, v in self._colours.items()}
        self._sizes = frozenset(v.size for p in products for v in p.variants if v.size)
        self._size_pattern = known_size_pattern(self._sizes)

    def extract(self, text: str, page_product: str | None = None) -> Entities:
        spans = Spans()
        found = Entities(page_product=self._index.resolve(page_product))
        for m in _URL.finditer(text):
            spans.take(m.start(), m.end())
        for m in _EMAIL.finditer(text):
            if spans.claim(m.start(), m.end()):
                found.emails.append(m.group().lower())
        found.address = self._address(text, spans)
        found.phones = self._phones(text, spans)
        found.amounts = self._amounts(text, spans)
        sized = extract_sizes_and_measurements(text, spans, self._size_pattern, self._sizes)
        found.sizes, found.usual_size, found.measurements = (
            sized.sizes,
            sized.usual_size,
            sized.measurements,
        )
        for pattern in _DATES:
            for m in pattern.finditer(text):
                spans.claim(m.start(), m.end())
        found.codes = self._codes(text, spans)
        found.order_numbers = self._order_numbers(text, spans, found.amounts)
        found.products = self._index.match(text)
        if not found.sizes and found.products and self._size_pattern is not None:
            found.sizes = self._sizes_after_product(text, spans, found.products[0].product_id)
        found.colors = self._colours_in(text)
        found.defect_words = list(dict.fromkeys(m.group().lower() for m in _DEFECT.finditer(text)))
        found.known_defects = self._known_defects(text, [*(m.product_id for m in found.products),
                                                         *([found.page_product] if found.page_product else [])])
        found.warranty = names_warranty(text)
        return found

    def _known_defects(self, text: str, product_ids: list[str]) -> list[str]:
        described = []
        for pid in dict.fromkeys(product_ids):
            product = self._index.get(pid)
            if product is not None and any(
                matches_keyword(text, k) for d in product.known_defects for k in d.keywords or []
            ):
                described.append(pid)
        return described

    def _sizes_after_product(self, text: str, spans: Spans, product_id: str) -> list[str]:
        """"the chelsea boot 42", "tights XL": one of the product's own sizes right after
        a word of its name is that size, without "size" said."""
        product = self._index.get(product_id)
        assert self._size_pattern is not None
        if product is None:
            return []
        own = {v.size for v in product.variants if v.size}
        for m in self._size_pattern.finditer(text):
            before = re.findall(r"[\wæøåÆØÅ]+", text[max(0, m.start() - 30) : m.start()])
            if (m.group("size") in own and before and len(before[-1]) >= 3 and spans.free(m.start(), m.end())
                    and any(p.product_id == product_id for p in self._index.match(before[-1]))):
                spans.take(m.start(), m.end())
                return [m.group("size")]
        return []

    def _address(self, text: str, spans: Spans) -> NewAddress | None:
        for pattern in (_ADDRESS, _ADDRESS_LABELLED):
            for m in pattern.finditer(text):
                line1 = _LEADING_WORDS.sub("", m.group("line1")).strip(" ,")
                if not re.search(r"[A-Za-zæøåÆØÅ]{2}", line1) or not spans.free(
                    m.start("line1"), m.end()
                ):
                    continue
                spans.take(m.start("line1"), m.end())
                # (a full stop after the city ends the sentence: "... 8000 Aarhus C. Tak")
                return NewAddress(line1=line1, zip=m.group("zip"), city=m.group("city").strip().rstrip("."))
        return None

    @staticmethod
    def _phones(text: str, spans: Spans) -> list[str]:
        phones: list[str] = []
        for pattern in _PHONES:
            for m in pattern.finditer(text):
                start, end = (
                    (m.start("num"), m.end("num"))
                    if "num" in pattern.groupindex
                    else (m.start(), m.end())
                )
                if spans.claim(start, end):
                    raw = text[start:end]
                    phones.append(("+" if raw.startswith("+") else "") + re.sub(r"\D", "", raw))
        return phones

    @staticmethod
    def _amounts(text: str, spans: Spans) -> list[float]:
        amounts: list[float] = []
        for m in _AMOUNT.finditer(text):
            if spans.claim(m.start(), m.end()):
                amounts.append(_amount(m.group("a") or m.group("b")))
        return amounts

    @staticmethod
    def _codes(text: str, spans: Spans) -> list[str]:
        codes: list[str] = []
        cue = _CODE_CUE.search(text)
        shouting = cue is not None and sum(map(str.isupper, text)) > 0.6 * max(sum(map(str.isalpha, text)), 1)
        for m in _CODE_TOKEN.finditer(text):
            token = m.group("code")
            bare = token.replace("-", "")
            # ASCII letters and digits only (the pattern), so one of each test settles both
            has_letter, has_digit = not bare.isdigit(), not bare.isalpha()
            if has_digit and has_letter:
                ok = len(bare) >= 4 and not _NOT_A_CODE.fullmatch(token)
            elif cue is None:
                # Letters or digits alone make a code only where a code is spoken of (every
                # word right before a code, below, is also a cue): most messages end here.
                continue
            elif has_letter:  # letters only: "koden SOMMERSALG", not shouting, not "GLS"
                named = bool(_CODE_RIGHT_BEFORE.search(text[max(0, m.start() - 25) : m.start()]))
                ok = (
                    len(bare) >= 4
                    and token.upper() not in _LEXICON.acronyms
                    and not is_common_word(token)
                    and (
                        (bool(cue) and not shouting and token.isupper())
                        # right after "koden"/"the code", in any case: "koden sommersalg",
                        # unless it is a word that goes on the sentence ("the code expired")
                        or (
                            named
                            and token.lower() not in _LEXICON.code_followers
                            and not re.match(r"['’][a-z]", text[m.end() :], re.IGNORECASE)
                        )
                    )
                )
            else:  # digits only: a gift card number written in groups, "1234-5678-9012"
                ok = bool(cue) and "-" in token and len(bare) >= 8
            if ok and spans.claim(m.start(), m.end()):
                codes.append(token.upper())
        return list(dict.fromkeys(codes))

    def _order_numbers(self, text: str, spans: Spans, amounts: list[float]) -> list[str]:
        leftover = re.sub(r"[\W\d_]+", " ", _EMAIL.sub(" ", text)).split()
        alone = len(leftover) <= 3  # "1042", "1042, anna@x.dk", "Anna Holm 1042"
        numbers: list[str] = []
        for m in _GLUED_TO_CUE.finditer(text):
            if spans.claim(m.start("num"), m.end("num")):
                numbers.append(m.group("num"))
        for start, end, num, hashed in self._order_candidates(text, spans):
            before = text[max(0, start - 30) : start]
            after = text[end : end + 25]
            cued = (
                hashed
                or bool(_ORDER_CUE.search(before))
                or (bool(numbers) and bool(_ORDER_LIST.search(before)))
            )
            # one of this store's order numbers by its form: digits that fit it are no
            # phone number without its label, however long the message around them
            own = self._order_format is not None and self._order_format.fits(num)
            if not cued:
                if _MONEY_BEFORE.search(before):
                    amounts.append(float(num))
                    continue
                if (
                    _NOT_ORDER_AFTER.match(after)
                    or _POSTCODE_AFTER.match(after)
                    or _STREET_NAME_BEFORE.search(before)
                ):
                    continue
                if (
                    len(num) == 4
                    and re.match(r"\s+[A-ZÆØÅ][a-zæøå]", after)
                    and (_STREET_BEFORE.search(before) or _ADDRESS_WORDS.search(text))
                ):
                    continue  # a postcode: "..., 4400 Kalundborg"
                if len(num) == 4 and 1950 <= int(num) <= 2039 and leftover:
                    continue  # a year
                if (len(num) in (3, 8)) and not alone and not own:
                    continue  # too short to be sure / a phone number without its label
            if spans.claim(start, end):
                numbers.append(num)
        return list(dict.fromkeys(numbers))

    def _order_candidates(self, text: str, spans: Spans) -> list[tuple[int, int, str, bool]]:
        """Numbers that may be an order number: (start, end, digits, written after '#').

        Digit groups come first, joined, when joined they look like this store's order
        numbers and apart they do not ("ordre nr. 204 526"; "ordre 1003 og 1004" stays two).
        """
        found: list[tuple[int, int, str, bool]] = []
        fmt = self._order_format
        if fmt is not None:
            for m in _GROUPED_NUMBER.finditer(text):
                groups = re.split(r"\D", m.group("num"))
                joined = "".join(groups)
                if (fmt.fits(joined) and not all(fmt.fits(g) for g in groups)
                        and spans.free(m.start("num"), m.end("num"))):
                    found.append((m.start("num"), m.end("num"), joined, bool(m.group("hash"))))
        for m in _ORDER_NUMBER.finditer(text):
            overlaps = any(m.start() < e and s < m.end() for s, e, _, _ in found)
            if spans.free(m.start(), m.end()) and not overlaps:
                found.append((m.start(), m.end(), m.group("num"), bool(m.group("hash"))))
        return sorted(found)

    def _colours_in(self, text: str) -> list[str]:
        blocked = [(m.start(), m.end()) for m in _COLOUR_FALSE_FRIENDS.finditer(text)]
        colours: list[str] = []
        for m in self._colour_pattern.finditer(text):
            if any(s <= m.start() < e for s, e in blocked):
                continue
            colour = self._colour_keys.get(_colour_key(m.group()))
            if colour and colour not in colours:
                colours.append(colour)
        return colours


_CAPITAL_WORD = re.compile(r"(?<![\w@./#-])(?P<code>[A-ZÆØÅ]{4,20})(?![\w@-])")


def loose_codes(text: str) -> list[str]:
    """Words in capitals that may be a code when the talk is about codes ("is SOMMERFEST
    still valid?"): not shouting, not an acronym, not a Danish or English word."""
    if sum(map(str.isupper, text)) > 0.6 * max(sum(map(str.isalpha, text)), 1):
        return []
    return list(dict.fromkeys(
        m.group("code") for m in _CAPITAL_WORD.finditer(text)
        if m.group("code") not in _LEXICON.acronyms and not is_common_word(m.group("code"))
    ))


def extract(text: str, products: list[Product], page_product: str | None = None,
            order_format: OrderNumberFormat | None = None) -> Entities:
    """One-off extraction; build an ``EntityExtractor`` once to extract from many messages."""
    return EntityExtractor(products, order_format).extract(text, page_product)
