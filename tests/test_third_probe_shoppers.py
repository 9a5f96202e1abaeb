"""What a third probe of our own (a women's fashion store, older and very polite shoppers,
long messages that end in thanks, gift buyers, Danish and English mixed) taught the offline
agent: a code that looks like a month and a day is a code, a request wrapped in greetings and
thanks is still the request, a kind remark gets a short answer instead of a person, and
polite phrasings of a return, a colour change and a refund question reach their flows.

Runs in-process on the demo store; no probe files needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shopdesk.agent.understanding import EntityExtractor, Understander
from shopdesk.engine.events import HandoffEvent
from shopdesk.store.fixture import load_fixture

from .conftest import in_store

STORE = Path(__file__).resolve().parents[1] / "server" / "shopdesk" / "store" / "demo-store.json"
FIXTURE = load_fixture(STORE)


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander.build(list(FIXTURE.products), ["da", "en"], "da")


def test_a_code_glued_from_a_month_and_a_number_is_a_code_not_a_date() -> None:
    extractor = EntityExtractor(list(FIXTURE.products))
    assert extractor.extract("I tried JUL25 but it says invalid").codes == ["JUL25"]
    assert extractor.extract("koden MAJ10 virker ikke").codes == ["MAJ10"]
    assert extractor.extract("it was due nov 26").codes == []  # written apart it is a day


def test_a_request_wrapped_in_greetings_and_thanks_is_the_request(understander) -> None:
    u = understander.understand(
        "Goddag, jeg venter stadig på min jakke. Ordre 1042 og anna@example.dk. Mange tak for hjælpen."
    )
    assert u.scenario in ("delivery_delay", "order_status")
    # a greeting alone is still a greeting
    assert understander.understand("Goddag og mange tak for hjælpen").scenario == "greeting"


@pytest.mark.parametrize(
    ("text", "scenario"),
    [
        ("I'm afraid the coat simply does not suit me, so I would like to send it back", "return_request"),
        ("Kan jeg få trøjen fra ordre 1042 i grøn i stedet? anna@example.dk", "change_order"),
        ("Jeg returnerede en kjole for et par uger siden og vil blot høre om pengene er sendt", "refund_status"),
        ("I wonder whether my granddaughter can send it back if it doesn't fit, and how long she has",
         "return_policy"),
        ("Jeg vil meget gerne høre hvordan det går med min bestilling, på forhånd tak", "order_status"),
    ],
)
def test_polite_long_winded_phrasings_reach_their_flow(understander, text: str, scenario: str) -> None:
    assert understander.understand(text).scenario == scenario


def chat(*texts: str) -> list[Any]:
    return in_store(STORE, *texts)


def test_a_kind_remark_gets_a_short_answer_not_a_person() -> None:
    for remark in ("Good morning! What a lovely website you have.", "Hej, sikke en flot hjemmeside I har"):
        (last,) = chat(remark)
        assert not isinstance(last, HandoffEvent), remark


def test_a_question_outside_the_store_still_goes_to_a_person() -> None:
    last = chat("Can you recommend a good restaurant for lunch?", "no, really, just a restaurant tip")
    assert isinstance(last[-1], HandoffEvent) and last[-1].reason == "low_confidence"
