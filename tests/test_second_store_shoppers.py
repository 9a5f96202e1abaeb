"""What a second store of our own (Rask: menswear, sportswear, shoes, watches) taught the
offline agent, as shoppers notice it: the product they name is found, their address and
size are read, a known fault is recognised in a Danish compound, a question the store's
FAQ does not hold is not answered with an unrelated entry, and a parcel stuck with the
carrier goes to a person whatever they asked about it.

The conversations run in-process through the offline agent on tests/data/rask/store.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shopdesk.agent.offline.faq import FaqIndex
from shopdesk.agent.understanding import EntityExtractor
from shopdesk.engine.events import HandoffEvent
from shopdesk.store.fixture import load_fixture
from shopdesk.store.models import FaqEntry
from shopdesk.tools.returns import matches_keyword

from .conftest import in_store

STORE = Path(__file__).parent / "data" / "rask" / "store.json"
FIXTURE = load_fixture(STORE)


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(list(FIXTURE.products))


def products(extractor: EntityExtractor, text: str) -> list[str]:
    return [m.product_id for m in extractor.extract(text).products]


def test_a_danish_definite_ending_after_a_vowel_still_names_the_product(extractor) -> None:
    # "parkaen" is the parka, though "ae" is also how "æ" is typed without the key
    assert products(extractor, "hvad er parkaen lavet af") == ["tordenskjold-parka"]


def test_an_english_word_is_not_read_as_the_tail_of_a_title_word(extractor) -> None:
    # "theres" is not "leather" (Leather Belt) minus its head
    assert products(extractor, "it says delivered but theres nothing here") == []


def test_foreign_postcodes_are_part_of_a_new_address(extractor) -> None:
    swedish = extractor.extract("new one is Drottninggatan 5, 11151 Stockholm").address
    assert swedish is not None and (swedish.line1, swedish.zip, swedish.city) == ("Drottninggatan 5", "11151", "Stockholm")
    spaced = extractor.extract("send it to Kungsgatan 30, 111 35 Stockholm").address
    assert spaced is not None and spaced.zip == "111 35"
    danish = extractor.extract("ny adresse: Enghavevej 40, 1674 København V").address
    assert danish is not None and danish.zip == "1674"


def test_a_size_right_after_the_product_name_or_at_the_end_is_read(extractor) -> None:
    assert extractor.extract("black chelsea boot 42 available?").sizes == ["42"]
    assert extractor.extract("do u have the merino crew in forest medium").sizes == ["M"]
    assert extractor.extract("can I iron it on medium").sizes == []


def test_waist_said_as_round_the_middle_in_danish(extractor) -> None:
    assert extractor.extract("hvilken str skal jeg ha, har 92 cm i livet").measurements == {"waist": 92.0}


def test_known_defect_keywords_are_found_inside_danish_compounds() -> None:
    assert matches_keyword("reflekslogoet skaller af", "logo")
    assert matches_keyword("reflekslogoet skaller af", "refleks")
    assert not matches_keyword("my console broke", "sole")
    assert not matches_keyword("det var knapt nok", "knap")


def test_a_faq_entry_sharing_only_letters_with_the_question_is_not_an_answer() -> None:
    faq = FaqIndex([
        FaqEntry(topic="free_shipping", question="Hvornår er fragten gratis?", answer="Gratis fragt fra 650 kr."),
        FaqEntry(topic="contact", question="Hvordan kontakter jeg jer?", answer="Skriv til hej@shop.example."),
    ])
    assert faq.best("kan flyverdragten komme i tørretumbleren?", minimum=0.2) is None
    found = faq.best("hvornår er der gratis fragt", minimum=0.2)
    assert found is not None and found[0].topic == "free_shipping"


def chat(*texts: str, customer: str | None = None, page: str | None = None) -> list[Any]:
    """The agent's last event for each message of one conversation."""
    return in_store(STORE, *texts, customer=customer, page=page)


def test_the_item_named_is_returned_not_the_one_whose_title_shares_letters_with_the_email() -> None:
    # "mads.bech@example.dk" shares "ample" with "Storm Softshell (sample)"
    reply = chat("returnere huen fra 31008 mads.bech@example.dk")[-1]
    assert "Merino hue" in reply.text and "170" in reply.text


def test_the_item_that_does_not_fit_is_the_one_sent_back() -> None:
    reply = chat("bought a belt with the blazer but the belt is too short, can i send it back? "
                 "31005 jonas.krogh@example.dk")[-1]
    assert "Leather Belt" in reply.text and "Blazer" not in reply.text


def test_a_code_given_alone_after_the_question_is_checked() -> None:
    replies = chat("har en kode til fri fragt, virker den stadig?", "FRAGTFRI")
    assert "31. juli" in replies[-1].text


def test_a_gift_card_code_asked_about_as_a_discount_code_gets_its_gift_card_answer() -> None:
    reply = chat("my code RASK-GC-9VVD-60HC won't work at checkout")[-1]
    assert "blocked" in reply.text


def test_a_known_fault_named_with_an_order_is_a_defect_not_a_status_question() -> None:
    # the watch's replacement is worth more than the store's limit
    event = chat("watch glass has fog inside it, order 31029, magnus.eriksen@example.dk")[-1]
    assert isinstance(event, HandoffEvent) and event.reason == "amount_over_limit"


def test_a_parcel_sent_back_to_the_store_goes_to_a_person_whatever_was_asked() -> None:
    event = chat("GLS siger pakken er sendt retur til jer?? ordre 31013 frederik.holm@example.dk")[-1]
    assert isinstance(event, HandoffEvent) and event.reason == "policy"


def test_delivered_but_missing_means_the_delivered_order_of_a_logged_in_shopper() -> None:
    event = chat("it says my parcel was delivered but theres nothing here", customer="oskar.lind@example.se")[-1]
    assert isinstance(event, HandoffEvent) and event.reason == "policy"


def test_the_stores_own_faq_question_beats_a_product_or_discount_guess() -> None:
    assert "spray" in chat("how do i waterproof leather boots")[-1].text
    assert "newsletter" in chat("any student discount?")[-1].text


def test_a_product_question_the_faq_does_not_hold_gets_the_products_facts() -> None:
    reply = chat("kan merinotrøjen komme i tørretumbleren?")[-1]
    assert "tørretumbler" in reply.text
