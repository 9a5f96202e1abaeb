"""The understanding layer of the offline agent: what a shopper's message is about.

Built once per store at start-up (``Understander.build``, about half a second), then
``understand`` reads one message in well under a few milliseconds: the scenario class
with a calibrated confidence, the language, the entities (order numbers, emails, sizes,
measurements, products, codes, ...) and the signals the escalation policy needs.

    understander = Understander.build(fixture.products, ["da", "en"], "da")
    u = understander.understand("Hvor er min pakke? Ordre 1042, anna@example.dk")
    u.scenario, u.confidence, u.language, u.entities.order_numbers
    # ('order_status', 0.97, 'da', ['1042'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopdesk.store.models import OrderNumberFormat, Product

from .catalogue import Catalogue, CatalogueError, Scenario, load_catalogue
from .classifier import Prediction, ScenarioClassifier
from .entities import Entities, EntityExtractor, NewAddress, extract
from .language import detect_language
from .products import ProductMatch
from .signals import asks_for_human, is_business_inquiry, is_negative, negativity, wants_gdpr

__all__ = [
    "Catalogue",
    "CatalogueError",
    "Entities",
    "EntityExtractor",
    "NewAddress",
    "Prediction",
    "ProductMatch",
    "Scenario",
    "ScenarioClassifier",
    "Understander",
    "Understanding",
    "asks_for_human",
    "detect_language",
    "extract",
    "is_business_inquiry",
    "is_negative",
    "load_catalogue",
    "negativity",
    "wants_gdpr",
]


@dataclass(frozen=True)
class Understanding:
    scenario: str
    confidence: float
    top3: list[tuple[str, float]]
    language: str
    entities: Entities
    negative: bool
    sentiment: float
    asks_for_human: bool
    wants_gdpr: bool = False
    business: bool = False


class Understander:
    def __init__(
        self,
        catalogue: Catalogue,
        classifier: ScenarioClassifier,
        extractor: EntityExtractor,
        locales: list[str],
        default_locale: str,
    ) -> None:
        self.catalogue = catalogue
        self.classifier = classifier
        self._extractor = extractor
        self._locales = list(locales)
        self._default = default_locale

    @classmethod
    def build(
        cls,
        products: list[Product],
        locales: list[str],
        default_locale: str,
        catalogue_path: Path | str | None = None,
        order_format: OrderNumberFormat | None = None,
    ) -> Understander:
        catalogue = load_catalogue(catalogue_path)
        understander = cls(
            catalogue,
            ScenarioClassifier.train(catalogue),
            EntityExtractor(products, order_format),
            locales,
            default_locale,
        )
        understander.understand("hej")  # reads the lexicons now, not on the first shopper's turn
        for lang in {*locales, default_locale}:
            negativity("", lang)  # each language's sentiment word list (some 0.2 s to compile)
        return understander

    def language(self, text: str) -> str:
        return detect_language(text, self._locales, self._default)

    def understand(self, text: str, page_product: str | None = None) -> Understanding:
        prediction = self.classifier.predict(text)
        language = self.language(text)
        mood = negativity(text, language)
        return Understanding(
            scenario=prediction.scenario,
            confidence=prediction.confidence,
            top3=prediction.top3,
            language=language,
            entities=self._extractor.extract(text, page_product),
            negative=mood.negative,
            sentiment=mood.score,
            asks_for_human=asks_for_human(text),
            wants_gdpr=wants_gdpr(text),
            business=is_business_inquiry(text),
        )
