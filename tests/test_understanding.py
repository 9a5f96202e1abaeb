"""The understanding layer: scenario classes, language, entities and escalation signals.

The held-out messages below were written apart from the catalogue's examples (a test
asserts they do not overlap), in the ways shoppers write: terse, typos, no æøå, mixed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from shopdesk.agent.understanding import (
    EntityExtractor,
    ScenarioClassifier,
    Understander,
    asks_for_human,
    detect_language,
    is_negative,
    load_catalogue,
    negativity,
    wants_gdpr,
)
from shopdesk.agent.understanding.catalogue import CatalogueError
from shopdesk.agent.understanding.folding import alternation, skeleton, spelling_pattern
from shopdesk.agent.understanding.lexicon import lexicon
from shopdesk.store.models import KnownDefect, Product, Variant

DEMO_STORE = (
    Path(__file__).resolve().parents[1] / "server" / "shopdesk" / "store" / "demo-store.json"
)
SCENARIOS = [
    "order_status",
    "delivery_delay",
    "parcel_not_received",
    "change_address",
    "cancel_order",
    "change_order",
    "return_request",
    "exchange",
    "refund_status",
    "return_policy",
    "size_advice",
    "stock_availability",
    "product_info",
    "shipping_info",
    "payment_methods",
    "payment_problem",
    "invoice_copy",
    "discount_code",
    "gift_card",
    "account_help",
    "newsletter_unsubscribe",
    "product_defect",
    "store_info",
    "greeting",
    "human_request",
    "gdpr",
    "business",
    "other",
]

HELD_OUT: list[tuple[str, str]] = [
    # order_status
    ("Hejsa, er min ordre 60218 blevet sendt afsted?", "order_status"),
    ("hvornår sender i mine bukser", "order_status"),
    ("kan i fortælle mig hvor min pakke befinder sig", "order_status"),
    ("har min bestilling fået et tracking nr?", "order_status"),
    ("hvornar kommer min ordre frem, nr 60218", "order_status"),
    ("any news on order 77120?", "order_status"),
    ("has my parcel shipped yet", "order_status"),
    ("where's my package? ordered thursday", "order_status"),
    ("can you give me the tracking for my order", "order_status"),
    # delivery_delay
    ("min pakke er 4 dage forsinket", "delivery_delay"),
    ("estimeret levering var i går men der er intet kommet", "delivery_delay"),
    ("det tager alt for lang tid, har ventet 12 dage", "delivery_delay"),
    ("trackingen står stille siden sidste uge", "delivery_delay"),
    ("pakken skulle have vaeret her i fredags", "delivery_delay"),
    ("my delivery is 5 days late", "delivery_delay"),
    ("the estimated date was yesterday and nothing has come", "delivery_delay"),
    ("been 2 weeks and still no package, this is taking too long", "delivery_delay"),
    ("no tracking movement for a week, is it stuck?", "delivery_delay"),
    # parcel_not_received
    ("der står pakken er leveret i dag men den er her ikke", "parcel_not_received"),
    ("min ordre viser leveret, men jeg har ikke modtaget noget", "parcel_not_received"),
    (
        "den er angiveligt afleveret i pakkeshoppen, men de kan ikke finde den",
        "parcel_not_received",
    ),
    ("leveret ifølge gls, men intet i postkassen", "parcel_not_received"),
    ("tracking says it was delivered this morning but I have nothing", "parcel_not_received"),
    ("order shows as delivered, I never received it", "parcel_not_received"),
    ("it says left in the mailbox but the mailbox is empty", "parcel_not_received"),
    ("my pakke says delivered but its not here", "parcel_not_received"),
    # change_address
    ("jeg har lavet en fejl i min adresse, kan det rettes?", "change_address"),
    ("kan pakken sendes til Østergade 8, 9000 Aalborg i stedet", "change_address"),
    ("vil gerne ændre leveringsadresse på ordre 60218", "change_address"),
    ("jeg har skrevet forkert postnr", "change_address"),
    ("can you change the shipping address to Parkvej 3, 2800 Lyngby", "change_address"),
    ("I made a mistake in my address", "change_address"),
    ("need the delivery address updated on my order", "change_address"),
    ("wrong zip code on my order, can you fix it", "change_address"),
    # cancel_order
    ("jeg vil gerne annullere bestillingen jeg lavede i går", "cancel_order"),
    ("kan I annullere min ordre 60218?", "cancel_order"),
    ("fortryder, vil ikke have varerne, stop ordren", "cancel_order"),
    ("afbestilling af ordre tak", "cancel_order"),
    ("please cancel my order, I don't need it anymore", "cancel_order"),
    ("can I still cancel order 77120?", "cancel_order"),
    ("I want to cancel the order I placed an hour ago", "cancel_order"),
    ("cancel it please, I ordered by accident", "cancel_order"),
    # change_order
    ("kan jeg ændre str på min ordre fra S til M, den er ikke afsendt", "change_order"),
    ("kan jeg lige tilføje en hue til min bestilling", "change_order"),
    ("vil gerne ændre farven på varen i min ordre inden i sender", "change_order"),
    ("kan i skifte skoene i min ordre til 43", "change_order"),
    ("can I change the size in my order from S to M before it ships", "change_order"),
    ("I'd like to add a scarf to my order", "change_order"),
    ("can you switch the colour on my order to grey, not shipped yet", "change_order"),
    ("please change the shoes in my order to 43", "change_order"),
    # return_request
    ("hvordan sender jeg jakken retur? den passede ikke", "return_request"),
    ("jeg vil gerne returnere kjolen og have pengene tilbage", "return_request"),
    ("kan jeg få en returseddel til ordre 60218", "return_request"),
    ("jeg vil gerne returnerer de sko jeg fik i sidste uge", "return_request"),
    ("I need to return the coat, it doesn't fit me", "return_request"),
    ("how can I send back my order and get a refund", "return_request"),
    ("please send me a return label for order 77120", "return_request"),
    ("I'd like to return the boots I got last week", "return_request"),
    # exchange
    ("kan jeg bytte bukserne til en str større", "exchange"),
    ("vil bytte kjolen til en M", "exchange"),
    ("er det muligt at bytte til en anden farve", "exchange"),
    ("skoene er for store, kan jeg bytte dem til 40", "exchange"),
    ("vil gerne bytte til storre str", "exchange"),
    ("can I exchange the trousers for one size up", "exchange"),
    ("I want to exchange the dress for a medium", "exchange"),
    ("is it possible to swap for another colour", "exchange"),
    ("the shoes are too big, can I exchange them for a 40", "exchange"),
    # refund_status
    ("jeg har sendt min retur for 10 dage siden, hvornår kommer pengene", "refund_status"),
    ("har i modtaget min returnering endnu?", "refund_status"),
    ("hvornår bliver mine penge for returen sat ind", "refund_status"),
    ("jeg mangler stadig refusion for ordre 60218", "refund_status"),
    ("I sent my return 10 days ago, when do I get the money", "refund_status"),
    ("have you received my returned parcel yet?", "refund_status"),
    ("when will my refund be paid out", "refund_status"),
    ("still haven't got the refund for order 77120", "refund_status"),
    # return_policy
    ("hvor mange dage har man returret hos jer", "return_policy"),
    ("koster det noget at sende varer retur", "return_policy"),
    ("kan udsalgsvarer byttes eller returneres", "return_policy"),
    ("hvad er reglerne for returnering", "return_policy"),
    ("how long is your return period", "return_policy"),
    ("is it free to send items back", "return_policy"),
    ("can I return items bought on sale", "return_policy"),
    ("what are your rules for returns", "return_policy"),
    # size_advice
    ("hvilken str skal jeg vælge, jeg er 176 cm og vejer 70 kg", "size_advice"),
    ("falder jakken lille i størrelsen?", "size_advice"),
    ("jeg plejer at bruge M, hvad skal jeg tage i denne", "size_advice"),
    ("min fod måler 27 cm, hvilken str sko", "size_advice"),
    ("hvilken størelse passer til 182 cm", "size_advice"),
    ("which size do you recommend, I'm 176cm and 70kg", "size_advice"),
    ("does the jacket come up small?", "size_advice"),
    ("I normally wear M, what should I get in this one", "size_advice"),
    ("my foot measures 27 cm, what size shoe", "size_advice"),
    # stock_availability
    ("har i jakken i str L på lager", "stock_availability"),
    ("hvornår kommer str 40 på lager igen", "stock_availability"),
    ("findes kjolen i sort", "stock_availability"),
    ("er den udsolgt i M?", "stock_availability"),
    ("do you have the jacket in L in stock", "stock_availability"),
    ("when will size 40 be back", "stock_availability"),
    ("does the dress come in black", "stock_availability"),
    ("is it out of stock in M?", "stock_availability"),
    # product_info
    ("hvad er materialet i kjolen", "product_info"),
    ("kan jakken vaskes i vaskemaskinen", "product_info"),
    ("er skoene vandtætte", "product_info"),
    ("hvad koster trøjen", "product_info"),
    ("what is the dress made from", "product_info"),
    ("can I put the jacket in the washing machine", "product_info"),
    ("are the shoes waterproof", "product_info"),
    ("what's the price of the jumper", "product_info"),
    # shipping_info
    ("hvad koster det at få leveret", "shipping_info"),
    ("hvor mange dage går der fra jeg bestiller til jeg har det", "shipping_info"),
    ("sender i til finland", "shipping_info"),
    ("hvornår får man gratis fragt", "shipping_info"),
    ("what does delivery cost", "shipping_info"),
    ("how many days from ordering until I have it", "shipping_info"),
    ("do you ship to finland", "shipping_info"),
    ("at what amount is shipping free", "shipping_info"),
    # payment_methods
    ("kan jeg betale med klarna eller mobilepay", "payment_methods"),
    ("hvilke betalingsformer accepterer i", "payment_methods"),
    ("kan man betale med paypal hos jer", "payment_methods"),
    ("tager i imod visa/dankort", "payment_methods"),
    ("can I pay using klarna or mobilepay", "payment_methods"),
    ("which forms of payment do you take", "payment_methods"),
    ("is paypal accepted", "payment_methods"),
    ("do you take visa", "payment_methods"),
    # payment_problem
    ("betalingen blev afvist men pengene er trukket", "payment_problem"),
    ("jeg er blevet trukket dobbelt for min ordre", "payment_problem"),
    ("mit kort virker ikke i kassen", "payment_problem"),
    ("der står fejl i betalingen når jeg prøver at købe", "payment_problem"),
    ("payment was rejected but money has been taken", "payment_problem"),
    ("I was charged twice for my order", "payment_problem"),
    ("my card doesn't work at checkout", "payment_problem"),
    ("error when paying, can't complete my purchase", "payment_problem"),
    # invoice_copy
    ("kan i sende en kopi af fakturaen til min mail", "invoice_copy"),
    ("jeg har brug for en kvittering for mit køb", "invoice_copy"),
    ("hvor kan jeg finde fakturaen for ordre 60218", "invoice_copy"),
    ("kan jeg få tilsendt ordrebekræftelsen igen", "invoice_copy"),
    ("can you email me a copy of the invoice", "invoice_copy"),
    ("I need a receipt for my purchase", "invoice_copy"),
    ("where can I find the invoice for order 77120", "invoice_copy"),
    ("can you resend my order confirmation", "invoice_copy"),
    # discount_code
    ("rabatkoden HEJ10 virker ikke i kurven", "discount_code"),
    ("hvorfor bliver min kode afvist", "discount_code"),
    ("har i nogen rabatkoder", "discount_code"),
    ("rabatkode virker ik", "discount_code"),
    ("the discount code HELLO10 doesn't work in the basket", "discount_code"),
    ("why is my code rejected", "discount_code"),
    ("do you have any discount codes", "discount_code"),
    ("can I use my promo code on sale items", "discount_code"),
    # gift_card
    ("hvad er saldoen på mit gavekort", "gift_card"),
    ("hvordan indløser jeg et gavekort", "gift_card"),
    ("kan jeg se hvor meget der er på gavekort QX77-B2K9", "gift_card"),
    ("udløber gavekort?", "gift_card"),
    ("what is the balance on my gift card", "gift_card"),
    ("how do I redeem a gift card", "gift_card"),
    ("how much is on gift card QX77-B2K9", "gift_card"),
    ("do gift cards expire?", "gift_card"),
    # account_help
    ("jeg kan ikke huske mit kodeord", "account_help"),
    ("hvordan logger jeg ind på min konto", "account_help"),
    ("jeg har ikke modtaget mail om nyt password", "account_help"),
    ("glemt mit pasword", "account_help"),
    ("I can't remember my password", "account_help"),
    ("how do I log into my account", "account_help"),
    ("didn't get the email to reset my password", "account_help"),
    ("can't sign into my profile", "account_help"),
    # newsletter_unsubscribe
    ("jeg vil gerne afmeldes jeres nyhedsbrev", "newsletter_unsubscribe"),
    ("stop venligst med at sende mig mails", "newsletter_unsubscribe"),
    ("fjern mig fra nyhedsbrevet", "newsletter_unsubscribe"),
    ("afmeld mig nyhedsbrevet pls", "newsletter_unsubscribe"),
    ("please unsubscribe me from your emails", "newsletter_unsubscribe"),
    ("stop emailing me please", "newsletter_unsubscribe"),
    ("take me off the newsletter", "newsletter_unsubscribe"),
    ("how do I opt out of your promotional emails", "newsletter_unsubscribe"),
    # product_defect
    ("lynlåsen på min jakke er knækket efter to dage", "product_defect"),
    ("der er gået hul i bukserne", "product_defect"),
    ("sålen på mine støvler er gået løs", "product_defect"),
    ("tasken kom med en flænge i", "product_defect"),
    ("the zip on my jacket broke after two days", "product_defect"),
    ("there's a hole in my trousers", "product_defect"),
    ("the sole of my boots has come loose", "product_defect"),
    ("the bag arrived with a tear in it", "product_defect"),
    # store_info
    ("hvornår har i åbent", "store_info"),
    ("hvordan kan jeg kontakte jeres kundeservice", "store_info"),
    ("ligger i en butik i aarhus", "store_info"),
    ("hvad er jeres mailadresse", "store_info"),
    ("when are you open", "store_info"),
    ("how can I contact customer service", "store_info"),
    ("do you have a shop in aarhus", "store_info"),
    ("what is your email", "store_info"),
    # greeting
    ("hej med jer", "greeting"),
    ("mange tak!", "greeting"),
    ("tak for hjælpen, hav en god dag", "greeting"),
    ("godmorgen 😊", "greeting"),
    ("hello there", "greeting"),
    ("many thanks!", "greeting"),
    ("thanks for your help, have a good day", "greeting"),
    ("morning 😊", "greeting"),
    # human_request
    ("kan jeg snakke med et rigtigt menneske", "human_request"),
    ("jeg vil gerne have fat i en medarbejder", "human_request"),
    ("kan en person ringe til mig", "human_request"),
    ("stil mig videre til kundeservice", "human_request"),
    ("can I speak with a real human", "human_request"),
    ("I'd like to talk to an employee", "human_request"),
    ("can a person call me", "human_request"),
    ("put me through to customer service", "human_request"),
    # gdpr
    ("jeg ønsker alle mine data slettet", "gdpr"),
    ("hvilke oplysninger har i gemt om mig", "gdpr"),
    ("jeg vil have indsigt i mine data", "gdpr"),
    ("slet venligst min konto og mine personoplysninger", "gdpr"),
    ("I want all my data deleted", "gdpr"),
    ("what information have you stored about me", "gdpr"),
    ("I want access to my personal data", "gdpr"),
    ("please delete my account and personal info", "gdpr"),
    # business
    ("vi er en butik der gerne vil forhandle jeres varer", "business"),
    ("jeg er influencer og vil gerne samarbejde", "business"),
    ("kan vi købe ind til engrospris", "business"),
    ("jeg skriver for et magasin og vil gerne interviewe jer", "business"),
    ("we are a shop and want to resell your products", "business"),
    ("I'm an influencer and would like to collaborate", "business"),
    ("can we buy at wholesale prices", "business"),
    ("I write for a magazine and would like to interview you", "business"),
    # other
    ("har i brug for nye medarbejdere", "other"),
    ("bliver det regnvejr i weekenden", "other"),
    ("kan du fortælle mig en joke", "other"),
    ("sælger i køleskabe", "other"),
    ("do you have any job openings", "other"),
    ("will it rain this weekend", "other"),
    ("can you tell me something funny", "other"),
    ("do you sell fridges", "other"),
]


# Weak spots found in integration, written apart from the catalogue (different wording):
# each is (message, the classes that are right for it).
_NOT_RECEIVED = {"parcel_not_received", "order_status"}
_NOT_ARRIVED = _NOT_RECEIVED | {"delivery_delay"}
WEAK_SPOTS: list[tuple[str, set[str]]] = [
    # 1a "not received" without an order number: a parcel question, not a refund
    ("har ikke modtaget min taske endnu", _NOT_RECEIVED),
    ("jeg har endnu ikke fået de bukser jeg bestilte", _NOT_RECEIVED),
    ("mine sneakers er ikke modtaget endnu", _NOT_RECEIVED),
    ("har stadig ikk modtaget min skjorte", _NOT_RECEIVED),
    ("har ikke faaet noget fra jer endnu", _NOT_RECEIVED),
    ("jeg har ikke modtaget min hue", _NOT_RECEIVED),
    ("I haven't received my bag yet", _NOT_RECEIVED),
    ("still haven't got the trousers I ordered", _NOT_RECEIVED),
    ("not received my shirt yet", _NOT_RECEIVED),
    ("havent recieved anything from you yet", _NOT_RECEIVED),
    ("i didnt get my beanie", _NOT_RECEIVED),
    ("my order never reached me", _NOT_RECEIVED),
    ("min frakke er ikke kommet endnu", _NOT_ARRIVED),
    ("the boots havent arrived yet", _NOT_ARRIVED),
    # 1b money for a return already sent: refund_status
    ("Har I sendt pengene retur for de støvler jeg returnerede?", {"refund_status"}),
    ("er pengene for de bukser jeg sendte retur blevet sat ind?", {"refund_status"}),
    ("hvad sker der med min retur af jakken", {"refund_status"}),
    ("har i modtaget de sko jeg returnerede, og er pengene sendt", {"refund_status"}),
    ("jeg sendte kjolen tilbage, hvornår er pengene på kontoen", {"refund_status"}),
    ("min returnering, hvordan står det til med den?", {"refund_status"}),
    ("have you sent my money back for the boots I returned?", {"refund_status"}),
    ("when will I be refunded for the trousers I sent back", {"refund_status"}),
    ("what's happening with the return I sent last week", {"refund_status"}),
    ("did the money for my returned jacket go out yet", {"refund_status"}),
    ("I returned two shirts, where's my money", {"refund_status"}),
    ("has my returned parcel been refunded", {"refund_status"}),
    # 1c material and price: product_info
    ("er den lavet af ægte kashmir? og hvad koster den", {"product_info"}),
    ("hvad er tasken lavet af", {"product_info"}),
    ("er det ægte læder på skoene", {"product_info"}),
    ("hvad koster sweateren", {"product_info"}),
    ("er jakken i ren bomuld", {"product_info"}),
    ("hvilket materiale er huen af", {"product_info"}),
    ("is this genuine silk? and what's the price", {"product_info"}),
    ("what is the bag made out of", {"product_info"}),
    ("are these real leather", {"product_info"}),
    ("what's the cost of the sweater", {"product_info"}),
    ("is the jacket pure cotton", {"product_info"}),
    ("what material is the beanie", {"product_info"}),
    # 1d a code that does not work: discount_code
    ("JULEGAVE15 virker ikke", {"discount_code"}),
    ("koden virker ikk", {"discount_code"}),
    ("rabatkoden bliver afvist", {"discount_code"}),
    ("rabatkoden gik ikke igennem ved kassen", {"discount_code"}),
    ("koden jeg fik på mail bliver ikke godtaget", {"discount_code"}),
    ("SAVE15 isn't working", {"discount_code"}),
    ("the code won't work", {"discount_code"}),
    ("discount code got rejected at checkout", {"discount_code"}),
    ("my voucher code isnt accepted", {"discount_code"}),
    ("promo code fails when I check out", {"discount_code"}),
    # 1e a payment that went wrong: payment_problem
    (
        "jeg prøvede at betale med dankort men noget gik galt, kommer ordren stadig?",
        {"payment_problem"},
    ),
    ("betalingen i mobilepay fejlede, er min ordre gået igennem", {"payment_problem"}),
    ("jeg forsøgte med klarna men fik en fejl", {"payment_problem"}),
    ("noget gik galt under betalingen med paypal", {"payment_problem"}),
    (
        "I tried to pay with klarna but something went wrong, will my order still arrive?",
        {"payment_problem"},
    ),
    ("paying with mobilepay failed, is the order placed", {"payment_problem"}),
    ("tried to check out with paypal and got an error", {"payment_problem"}),
    ("something went wrong when paying by card, did it go through?", {"payment_problem"}),
    # 1f gift wrapping: store_info, not gift_card
    ("kan I gavepakke den", {"store_info"}),
    ("tilbyder I at pakke ind som gave?", {"store_info"}),
    ("er der mulighed for gaveindpakning", {"store_info"}),
    ("kan jeg få den gaveindpakket", {"store_info"}),
    ("do you offer gift wrapping", {"store_info"}),
    ("could you wrap it up as a present", {"store_info"}),
    ("is there a gift wrap option", {"store_info"}),
    ("can I get it in gift packaging", {"store_info"}),
    # 1g damage described, product named, no order: product_defect
    ("foret i min jakke er revnet", {"product_defect"}),
    ("sømmen er gået op på bukserne", {"product_defect"}),
    ("en knap faldt af skjorten", {"product_defect"}),
    ("lynlåsen på kjolen er gået i stykker", {"product_defect"}),
    ("sålen løsner sig", {"product_defect"}),
    ("trøjen smitter af", {"product_defect"}),
    ("hanken er revet af tasken", {"product_defect"}),
    ("the lining of my jacket has ripped", {"product_defect"}),
    ("the seam came undone on the trousers", {"product_defect"}),
    ("one of the buttons fell off", {"product_defect"}),
    ("the zipper on the dress is broken", {"product_defect"}),
    ("the sole is coming loose", {"product_defect"}),
    ("the sweater's colour rubs off on my skin", {"product_defect"}),
    ("the handle tore off the bag", {"product_defect"}),
    # 1i out of scope though shop words appear: other
    ("er I ved at ansætte?", {"other"}),
    ("søger i sælgere til butikken", {"other"}),
    ("har i en praktikplads til mig", {"other"}),
    ("hvordan bliver vejret på lørdag", {"other"}),
    ("kan du anbefale en skrædder i aarhus", {"other"}),
    ("hvor kan man få repareret en taske", {"other"}),
    ("fortæl mig en vittighed", {"other"}),
    ("hvad synes du om statsministeren", {"other"}),
    ("are you hiring right now", {"other"}),
    ("do you offer internships", {"other"}),
    ("what's the forecast for tomorrow", {"other"}),
    ("know any good tailors in copenhagen?", {"other"}),
    ("where can I get my boots resoled", {"other"}),
    ("can you recommend a good restaurant nearby", {"other"}),
    ("tell me something funny", {"other"}),
    ("what do you think about the president", {"other"}),
]
# Vague: nothing to act on. Low confidence or `other`, never a greeting.
VAGUE = [
    "hej, jeg har lige et par spørgsmål",
    "du ved, det der",
    "det virker bare ikke",
    "hvad med det andet jeg spurgte om",
    "jeg skrev til jer om det forleden",
    "I have a question about the thing from last time",
    "the thing doesn't work",
    "hello, got a question for you",
    "you know what I'm talking about",
    "something isn't right",
    "it's about the last thing",
    "hej jeg har et spørgsmål",
    "du ved godt hvad jeg mener",
]
# Greetings are only greetings, thanks and goodbyes.
PURE_GREETINGS = [
    "hej",
    "hi there",
    "tak for hjælpen",
    "thanks!",
    "tusind tak for det",
    "bye for now",
    "hejsa, godmorgen",
]


def _product(
    pid: str,
    en: str,
    da: str,
    colours: tuple[str, ...] = ("black",),
    handle: str | None = None,
    sizes: tuple[str, ...] = ("S", "M", "L"),
) -> Product:
    return Product(
        id=pid,
        handle=handle,
        title={"en": en, "da": da},
        category="clothing",
        price=899.0,
        known_defects=[
            KnownDefect(
                id="zip",
                description="zip",
                keywords=[
                    "zip",
                ],
                remedy="repair_kit",
            )
        ],
        variants=[
            Variant(sku=f"{pid}-{c}-{s}", size=s, color=c, stock=2) for c in colours for s in sizes
        ],
    )


PRODUCTS = [
    _product(
        "p1", "Quilted Jacket", "Quiltet jakke", ("black", "forest green"), handle="quilted-jacket"
    ),
    _product("p2", "Rain Jacket", "Regnjakke", ("navy", "sage"), handle="rain-jacket"),
    _product("p3", "Wool Coat", "Uldfrakke", ("camel", "charcoal")),
    _product("p4", "Linen Shirt", "Hørskjorte", ("white",)),
    _product("p5", "Chelsea Boots", "Chelsea støvler", ("brown",), sizes=("40", "41", "42")),
    _product("p6", "Merino Beanie", "Merino hue", ("oat",), sizes=()),
    _product("p7", "Denim Jacket", "Denimjakke", ("blue",)),
]


@pytest.fixture(scope="module")
def classifier() -> ScenarioClassifier:
    return ScenarioClassifier.train(load_catalogue())


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(PRODUCTS)


# --- the catalogue -----------------------------------------------------------------------


def test_catalogue_has_every_scenario_with_examples_in_both_languages() -> None:
    catalogue = load_catalogue()
    assert sorted(catalogue.names) == sorted(SCENARIOS)
    for scenario in catalogue.scenarios:
        assert scenario.flow and scenario.description
        assert len(scenario.examples["da"]) >= 25, scenario.name
        assert len(scenario.examples["en"]) >= 25, scenario.name


def test_held_out_messages_are_not_catalogue_examples() -> None:
    seen = {skeleton(t).strip(" ?!.") for t in load_catalogue().training_pairs()[0]}
    written = [text for text, _ in HELD_OUT] + [text for text, _ in WEAK_SPOTS] + VAGUE
    overlap = [text for text in written if skeleton(text).strip(" ?!.") in seen]
    assert overlap == []


def test_a_broken_catalogue_file_is_reported_with_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "scenarios:\n  - name: Order Status\n    description: x\n    examples: {en: [a, b, c, d, e]}\n"
        "  - name: other\n    description: y\n    examples: {en: [f, g, h, i, j]}\n"
    )
    with pytest.raises(CatalogueError, match=r"catalogue.yaml: scenarios.0.name"):
        load_catalogue(bad)
    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue(tmp_path / "missing.yaml")
    bad.write_text("scenarios: [unclosed\n")
    with pytest.raises(CatalogueError, match=r"not valid YAML \(line \d+"):
        load_catalogue(bad)


def test_an_operator_catalogue_teaches_new_classes(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text(
        "scenarios:\n"
        "  - {name: engraving, description: engraving, flow: [faq], examples: {en: "
        "[can you engrave my ring, is engraving possible, add a name engraving, engrave initials please, "
        "is engraving free]}}\n"
        "  - {name: other, description: other, examples: {en: [tell me a joke, weather today, who are you, "
        "write a poem, what time is it]}}\n"
    )
    understander = Understander.build(PRODUCTS, ["en"], "en", catalogue_path=own)
    assert (
        understander.understand("could you engrave the ring with a name?").scenario == "engraving"
    )


# --- scenario classification ----------------------------------------------------------------


def test_held_out_top1_accuracy_is_at_least_90_percent(classifier: ScenarioClassifier) -> None:
    wrong = [(text, label, classifier.predict(text).top3) for text, label in HELD_OUT]
    wrong = [w for w in wrong if w[2][0][0] != w[1]]
    accuracy = 1 - len(wrong) / len(HELD_OUT)
    assert accuracy >= 0.90, f"{accuracy:.1%}: {wrong}"


@pytest.mark.parametrize("lang", ["da", "en"])
def test_each_language_is_classified_well_on_its_own(
    classifier: ScenarioClassifier, lang: str
) -> None:
    texts = [(t, label) for t, label in HELD_OUT if detect_language(t, ["da", "en"], "xx") == lang]
    right = sum(classifier.predict(t).scenario == label for t, label in texts)
    assert len(texts) > 60 and right / len(texts) >= 0.88


def test_the_right_class_is_almost_always_in_the_top3(classifier: ScenarioClassifier) -> None:
    hits = sum(label in [s for s, _ in classifier.predict(t).top3] for t, label in HELD_OUT)
    assert hits / len(HELD_OUT) >= 0.97


def test_weak_spots_found_in_integration_are_classified_right(
    classifier: ScenarioClassifier,
) -> None:
    wrong = [
        (text, sorted(right), classifier.predict(text).top3)
        for text, right in WEAK_SPOTS
        if classifier.predict(text).scenario not in right
    ]
    assert 1 - len(wrong) / len(WEAK_SPOTS) >= 0.93, wrong


@pytest.mark.parametrize("text", VAGUE)
def test_a_vague_message_is_not_understood_with_confidence(
    classifier: ScenarioClassifier, text: str
) -> None:
    prediction = classifier.predict(text)
    assert prediction.scenario != "greeting", prediction.top3
    assert prediction.scenario == "other" or prediction.confidence < 0.45, prediction.top3


@pytest.mark.parametrize("text", PURE_GREETINGS)
def test_pure_greetings_and_thanks_are_greetings(classifier: ScenarioClassifier, text: str) -> None:
    assert classifier.predict(text).scenario == "greeting"


@pytest.mark.parametrize(
    "text",
    [
        "kender du en god skrædder",
        "hej, kan du anbefale en frisør",
        "hello, I need help with something",
    ],
)
def test_a_greeting_word_does_not_make_a_question_a_greeting(
    classifier: ScenarioClassifier, text: str
) -> None:
    assert classifier.predict(text).scenario != "greeting"


@pytest.mark.parametrize(
    ("text", "confusable", "expected"),
    [
        (
            "pakken skulle have været her i mandags, hvor bliver den af",
            "order_status",
            "delivery_delay",
        ),
        ("tracking siger leveret men jeg har ingen pakke", "delivery_delay", "parcel_not_received"),
        ("jeg vil gerne bytte til en M", "return_request", "exchange"),
        ("I sent it back last week, where is my money", "return_request", "refund_status"),
        ("how many days do I have to send something back", "return_request", "return_policy"),
        ("zipper broke after two days, I want my money back", "return_request", "product_defect"),
        ("is it in stock in L", "size_advice", "stock_availability"),
        ("I'm 180 cm, is L right for me?", "stock_availability", "size_advice"),
        ("can I pay with PayPal", "payment_problem", "payment_methods"),
        ("my card keeps getting declined", "payment_methods", "payment_problem"),
        ("stop sending me newsletters", "cancel_order", "newsletter_unsubscribe"),
    ],
)
def test_confusable_classes_are_kept_apart(
    classifier: ScenarioClassifier, text: str, confusable: str, expected: str
) -> None:
    prediction = classifier.predict(text)
    assert prediction.scenario == expected, prediction.top3


def test_identifiers_do_not_change_the_class(classifier: ScenarioClassifier) -> None:
    plain = classifier.predict("hvor er min pakke")
    with_ids = classifier.predict("hvor er min pakke, ordre 77812, kirsten.o@webmail.dk")
    assert plain.scenario == with_ids.scenario == "order_status"


def test_confidence_is_a_probability_and_low_for_a_mixed_message(
    classifier: ScenarioClassifier,
) -> None:
    sure = classifier.predict("I want to cancel my order")
    assert sure.confidence >= 0.8 and sure.top3[0] == (sure.scenario, sure.confidence)
    assert sum(p for _, p in sure.top3) <= 1.0001
    assert [p for _, p in sure.top3] == sorted((p for _, p in sure.top3), reverse=True)
    mixed = classifier.predict("gavekort afmeld størrelse")
    assert mixed.confidence < sure.confidence


# --- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hvor bliver min pakke af?", "da"),
        ("hvornaar kommer min ordre", "da"),  # æøå written as digraphs
        ("hvornar kommer min ordre", "da"),  # æøå left out
        ("jeg vil gerne bytte til en str storre", "da"),
        ("tak for hjaelpen", "da"),
        ("Where is my order?", "en"),
        ("can I return the jacket", "en"),
        ("hej, where is my order 4410", "en"),  # a Danish greeting on English
        ("my pakke says delivered but its not here", "en"),
        ("JULEGAVE20 doesnt work", "en"),  # a Danish word in a code is no Danish
        ("FRAGTFRI doesnt work", "en"),
        ("koden SUMMERSALE virker ikke", "da"),
        ("HVOR ER MIN PAKKE", "da"),  # a shout is still words
    ],
)
def test_language_is_detected(text: str, expected: str) -> None:
    assert detect_language(text, ["da", "en"], "da") == expected
    assert detect_language(text, ["da", "en"], "en") == expected


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "1042",
        "anna@example.dk",
        "1042, anna@example.dk",
        "👍",
        "M",
    ],
)
def test_language_falls_back_to_the_store_default_when_unsure(text: str) -> None:
    assert detect_language(text, ["da", "en"], "da") == "da"
    assert detect_language(text, ["da", "en"], "en") == "en"


def test_language_is_one_of_the_store_locales() -> None:
    assert detect_language("Where is my order?", ["da"], "da") == "da"


# --- entities: numbers that are and are not order numbers --------------------------------------


@pytest.mark.parametrize(
    ("text", "orders"),
    [
        ("ordre 1042", ["1042"]),
        ("#1042", ["1042"]),
        ("order no. 1042", ["1042"]),
        ("Ordrenummer: 58812", ["58812"]),
        ("ordrenr:1042", ["1042"]),
        ("1042, anna@example.dk", ["1042"]),
        ("1042", ["1042"]),
        ("hvor er 10452?", ["10452"]),
        ("ordre 1042 og 1043", ["1042", "1043"]),
        ("ring på +45 12 34 56 78", []),
        ("mit telefonnummer er 12345678", []),
        ("tlf 12345678, ordre 20931", ["20931"]),
        ("det kostede 1042 kr", []),
        ("kr. 1.042 blev trukket", []),
        ("I paid 599 and was charged twice", []),
        ("jeg er 170 cm", []),
        ("jeg bestilte den 12/11 2025", []),
        ("my order from 2024 never came", []),
        ("ny adresse: Vestergade 12, 8000 Aarhus C", []),
        ("jeg bor i 2200 København", []),
        ("Vestergade 120", []),
        ("har 3 varer i kurven", []),
        ("jeg har ventet i 14 dage", []),
        ("min pakke til 1042 er forsinket", ["1042"]),
    ],
)
def test_order_numbers(extractor: EntityExtractor, text: str, orders: list[str]) -> None:
    assert extractor.extract(text).order_numbers == orders


def test_phones_amounts_and_emails_are_read_for_what_they_are(extractor: EntityExtractor) -> None:
    e = extractor.extract(
        "Ring på +45 12 34 56 78 eller mail Anna.Holm@Example.dk, jeg betalte 1.299,50 kr"
    )
    assert e.phones == ["+4512345678"]
    assert e.emails == ["anna.holm@example.dk"]
    assert e.amounts == [1299.5]
    assert extractor.extract("ring mig op på 20 30 40 50").phones == ["20304050"]
    assert extractor.extract("it was DKK 2.499").amounts == [2499.0]


def test_a_new_address_is_split_into_street_postcode_and_town(extractor: EntityExtractor) -> None:
    e = extractor.extract("ny adresse: Vestergade 12, 8000 Aarhus C")
    assert e.address is not None
    assert (e.address.line1, e.address.zip, e.address.city) == ("Vestergade 12", "8000", "Aarhus C")
    e = extractor.extract("kan I sende den til Søndergade 22 1.tv, 7100 Vejle i stedet? ordre 4821")
    assert (
        e.address is not None
        and e.address.line1 == "Søndergade 22 1.tv"
        and e.address.city == "Vejle"
    )
    assert e.order_numbers == ["4821"]
    e = extractor.extract("Ændr den til Vestergade 12, 8000 Aarhus C. Tak!")  # the sentence's full stop
    assert e.address is not None and e.address.city == "Aarhus C"
    e = extractor.extract("min nye adresse er vestergade 12, 8000 aarhus c")
    assert e.address is not None and e.address.zip == "8000"
    assert extractor.extract("hvor er min pakke").address is None


# --- entities: sizes and measurements --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "measurements"),
    [
        ("jeg er 172 cm og vejer 68 kg", {"height": 172.0, "weight": 68.0}),
        ("jeg er 1,72 m", {"height": 172.0}),
        ("jeg er 1,72", {"height": 172.0}),
        ("jeg er 172", {"height": 172.0}),
        ("I'm 5'10", {"height": 177.8}),
        (
            "brystvidde 92, talje 74, hofte 100",
            {"chest": 92.0, "bust": 92.0, "waist": 74.0, "hip": 100.0},
        ),
        ("74 i talje, 100 over hofterne", {"waist": 74.0, "hip": 100.0}),
        ("fodlængde 26,5 cm", {"foot_length": 26.5}),
        ("foot 26.5", {"foot_length": 26.5}),
        ("min fod er 25 cm lang", {"foot_length": 25.0}),
        # foot length said as the way it is measured, before or after the number
        ("from heel to toe I measure 25.5 cm", {"foot_length": 25.5}),
        ("jeg måler 24,5 cm fra hælen til tåen", {"foot_length": 24.5}),
        ("fra hæl til tå er der 27 cm", {"foot_length": 27.0}),
        # "jeg er" says a person follows; the label after the number names the measure
        ("jeg er 92 cm om livet", {"waist": 92.0}),
        ("han er 110 cm i brystet", {"chest": 110.0, "bust": 110.0}),
        ("waist 32 inseam 34", {"waist": 81.3, "inseam": 86.4}),  # jeans inches
        ("skridtlængde 80", {"inseam": 80.0}),
        ("str 40 tak", {}),
        ("jeg er 40 år", {}),
    ],
)
def test_measurements(
    extractor: EntityExtractor, text: str, measurements: dict[str, float]
) -> None:
    assert extractor.extract(text).measurements == measurements


@pytest.mark.parametrize(
    ("text", "sizes", "usual"),
    [
        ("har i den i str. M?", ["M"], None),
        ("size 40 please", ["40"], None),
        ("jeg vil gerne bytte til XL", ["XL"], None),
        ("bytte skoene til 41 i stedet for 40", ["41", "40"], None),
        ("W32 L34", ["32/34"], None),
        ("exchange the jeans for 32/32", ["32/32"], None),
        ("would a medium fit?", ["M"], None),
        ("I normally wear M, do you have it in L?", ["M", "L"], "M"),
        ("jeg bruger normalt str 38", ["38"], "38"),
        ("jeg plejer at have L i trøjer", ["L"], "L"),
        ("I'm a 42 in adidas", ["42"], "42"),
        ("jeg er 1,72 M", [], None),  # metres, not size M
        ("a small problem with my order", [], None),
        ("returret 30 dage?", [], None),
        ("it's 26/11 today", [], None),  # a date, not waist/length
        # a wanted size as a bare number after a wish
        ("jeg vil hellere have 40", ["40"], None),
        ("I'd rather have a 40", ["40"], None),
        ("kan jeg få dem i en 40", ["40"], None),
        ("have you got them in 42?", ["42"], None),
        ("størrelse 40 tak", ["40"], None),
        ("do you have a size 39", ["39"], None),
        ("har i en str. 38", ["38"], None),
        ("jeg foretrækker 41", ["41"], None),
        ("can I swap to 44", ["44"], None),
        ("returretten er 30 dages", [], None),
        ("I have 30 days, right?", [], None),
    ],
)
def test_sizes_and_usual_size(
    extractor: EntityExtractor, text: str, sizes: list[str], usual: str | None
) -> None:
    e = extractor.extract(text)
    assert (e.sizes, e.usual_size) == (sizes, usual)


def test_wanted_sizes_leave_out_the_usual_one(extractor: EntityExtractor) -> None:
    assert extractor.extract("I usually wear M but want it in L").wanted_sizes == ["L"]
    e = extractor.extract("jeg bruger normalt 39 men vil hellere have 40")
    assert (e.usual_size, e.wanted_sizes) == ("39", ["40"])
    assert extractor.extract("the 39 is too small, I'd rather have a 40").wanted_sizes == [
        "39",
        "40",
    ]


# --- entities: products, colours, codes, defects ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("the quilted jacket", "p1"),
        ("har i den quiltede jakke i sort?", "p1"),
        ("quilted jakcet", "p1"),  # typo
        ("the quilted one", "p1"),  # partial name
        ("har i regnjakken i M", "p2"),  # Danish definite form of a compound
        ("regn jakke", "p2"),  # compound written apart
        ("the wol coat", "p3"),
        ("the linnen shirt", "p4"),
        ("chelsa boot i 42", "p5"),
        ("merino huen", "p6"),
    ],
)
def test_products_are_found_by_partial_and_misspelt_names(
    extractor: EntityExtractor, text: str, product: str
) -> None:
    matches = extractor.extract(text).products
    assert matches and matches[0].product_id == product


COMPOUND_STORE = [
    _product("k1", "Summer dress", "Sommerkjole"),
    _product("k2", "Oxford shirt", "Oxfordskjorte"),
    _product("k3", "Winter boots", "Vinterstøvler", sizes=("40", "41")),
    _product("k4", "Hooded sweatshirt", "Hættetrøje"),
    _product("k5", "Cable-knit cardigan", "Kabelstrikket cardigan"),
    _product("k6", "Gift card", "Gavekort", sizes=()),
    _product("k7", "Rain jacket", "Regnjakke"),
    _product("k8", "Quilted jacket", "Quiltet jakke"),
]


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("kjolen er for kort", "k1"),
        ("hvad er skjorten lavet af", "k2"),
        ("har i støvlerne i 41", "k3"),
        ("stovlerne er utætte", "k3"),  # no æøå
        ("trøjen fnuller", "k4"),
        ("er cardiganen på lager", "k5"),  # an ending the stem misses
    ],
)
def test_a_definite_or_plural_word_names_the_one_compound_title_it_ends(
    text: str, product: str
) -> None:
    matches = EntityExtractor(COMPOUND_STORE).extract(text).products
    assert matches and matches[0].product_id == product, matches


def test_compound_tails_name_nothing_when_several_products_share_them() -> None:
    store = EntityExtractor(COMPOUND_STORE)
    assert store.extract("jakken er for lille").products == []  # two jackets
    assert store.extract("den er for kort").products == []  # "kort" is a word, not "Gavekort"
    assert store.extract("jeg vil gerne vide hvornår den kommer").products == []
    two_dresses = EntityExtractor(
        [_product("d1", "Summer dress", "Sommerkjole"), _product("d2", "Knit dress", "Strikkjole")]
    )
    assert two_dresses.extract("kjolen").products == []
    assert [m.product_id for m in two_dresses.extract("strikkjolen").products] == ["d2"]


def test_shirt_coat_and_boots_are_found_by_their_danish_definite_forms(
    extractor: EntityExtractor,
) -> None:
    assert [m.product_id for m in extractor.extract("skjorten er for stor").products] == ["p4"]
    assert [m.product_id for m in extractor.extract("frakken").products] == ["p3"]
    assert [m.product_id for m in extractor.extract("støvlerne").products] == ["p5"]


@pytest.mark.parametrize(
    "text",
    [
        "the jacket",
        "hvor er min pakke",
        "jeg har glemt min adgangskode",
        "jakke",
    ],
)
def test_vague_or_unrelated_words_name_no_product(extractor: EntityExtractor, text: str) -> None:
    assert extractor.extract(text).products == []


def test_the_page_product_is_resolved_from_id_or_handle(extractor: EntityExtractor) -> None:
    assert extractor.extract("hvilken str?", page_product="quilted-jacket").page_product == "p1"
    assert extractor.extract("hvilken str?", page_product="p2").page_product == "p2"
    assert extractor.extract("hvilken str?", page_product="no-such").page_product is None
    e = extractor.extract("is the wool coat warmer?", page_product="p1")
    assert e.product_ids == ["p3", "p1"]


@pytest.mark.parametrize(
    ("text", "colours"),
    [
        ("har i den i sort?", ["black"]),
        ("den hvide eller den blå", ["white", "blue"]),
        ("graa eller bla?", ["grey", "blue"]),  # no æøå
        ("marineblå", ["navy"]),
        ("can I get it in forest green", ["forest green"]),  # a store's variant colour
        ("is it in camel or charcoal", ["camel", "charcoal"]),
        ("what sort of fabric is it", []),
    ],
)
def test_colours_map_to_english_names(
    extractor: EntityExtractor, text: str, colours: list[str]
) -> None:
    assert extractor.extract(text).colors == colours


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("rabatkoden WELCOME10 virker ikke", ["WELCOME10"]),
        ("saldo på gavekort ABCD-1234-XY99", ["ABCD-1234-XY99"]),
        ("koden welcome10 virker ikke", ["WELCOME10"]),
        ("koden SOMMERSALG virker ikke", ["SOMMERSALG"]),
        ("gift card 4H7K-99QX, ordre 1042", ["4H7K-99QX"]),
        ("har i den i 3XL?", []),
        ("jeg er 172cm og vejer 70kg", []),
        ("W32 L34 i sort", []),
        ("GLS siger den er LEVERET", []),
        ("ordre 1042", []),
        ("koden JULEGAVE15 virker ikke", ["JULEGAVE15"]),  # not the date "jul 15"
        ("the code Summer20 isn't working", ["SUMMER20"]),
        ("tried welcome10 but nothing happened", ["WELCOME10"]),
        ("rabatkoden sommersalg virker ikke", ["SOMMERSALG"]),  # letters only, right after "koden"
        ("the code freeship won't apply", ["FREESHIP"]),
        ("promo code 'Spring' gives no discount", ["SPRING"]),
        ("rabatkoden: blackweek", ["BLACKWEEK"]),
        ("koden virker ikke", []),
        ("the code expired", []),
        ("the code isn't working", []),
        ("min kode er udløbet", []),
        ("jeg glemte at bruge koden", []),
        ("discount code please", []),
        ("mit kodeord virker ikke", []),
        ("bestilt 15 jul", []),
    ],
)
def test_discount_and_gift_card_codes(
    extractor: EntityExtractor, text: str, codes: list[str]
) -> None:
    assert extractor.extract(text).codes == codes


def test_defect_words_are_flagged_in_both_languages(extractor: EntityExtractor) -> None:
    assert extractor.extract("lynlåsen er gået i stykker").reports_defect
    assert extractor.extract("the sole came loose after a week").reports_defect
    assert extractor.extract("sømmen er gaaet op").reports_defect
    assert extractor.extract("det smitter af på sofaen").reports_defect
    assert extractor.extract("sålen løsner sig").reports_defect
    assert extractor.extract("the dye rubs off on my hands").reports_defect
    assert extractor.extract("the lining has torn").reports_defect
    assert not extractor.extract("hvad koster fragt til Norge?").reports_defect


def test_extract_is_fast_enough_for_a_store_of_fifty_products() -> None:
    products = [_product(f"q{i}", f"Model {i} Jacket", f"Model {i} jakke") for i in range(50)]
    e = EntityExtractor(products).extract("har i model 17 jakken i str M? ordre 1042")
    assert [m.product_id for m in e.products][:1] == ["q17"] and e.order_numbers == ["1042"]


# --- signals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Det er helt uacceptabelt, jeg er rasende", "da"),
        ("I er nogle inkompetente idioter", "da"),
        ("Jeg kontakter min advokat og Forbrugerklagenævnet", "da"),
        ("det er noget lort", "da"),
        ("Jeg har ventet i 3 uger!!! Hvor er min pakke", "da"),
        ("HVOR ER MIN PAKKE HENNE", "da"),
        ("This is unacceptable", "en"),
        ("I'll file a chargeback with my bank", "en"),
        ("worst service ever, you are a joke of a company", "en"),
        ("I'm leaving a 1 star review on Trustpilot", "en"),
        ("I am so angry, terrible service", "en"),
    ],
)
def test_anger_is_negative(text: str, lang: str) -> None:
    assert is_negative(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("lidt ærgerligt", "da"),
        ("det er lidt irriterende at den er forsinket", "da"),
        ("Tusind tak!!!", "da"),
        ("der mangler en knap og lynlåsen er ødelagt", "da"),  # a fault, reported calmly
        ("Hej, jeg har et problem med min ordre", "da"),
        ("a bit annoying", "en"),
        ("bummer", "en"),
        ("the jacket arrived damaged and a button is missing", "en"),
        ("sorry if this is a stupid question", "en"),
        ("tell me a joke", "en"),
        ("5 stars on Trustpilot from me, love it", "en"),
    ],
)
def test_mild_disappointment_and_plain_problems_are_not_negative(text: str, lang: str) -> None:
    assert not is_negative(text, lang)


def test_negativity_has_a_score_and_names_its_cues() -> None:
    angry = negativity("Det er helt uacceptabelt!!!", "da")
    mild = negativity("lidt ærgerligt", "da")
    assert angry.score < mild.score < 0
    assert "unacceptable" in angry.cues and mild.cues == []


@pytest.mark.parametrize(
    "text",
    [
        "can I talk to a human",
        "I want to speak to a real person",
        "transfer me to an agent",
        "can someone call me?",
        "human please",
        "kan jeg tale med en medarbejder",
        "kan jeg tale med et menneske",
        "giv mig en rigtig person",
        "kan I ringe mig op",
        "stil mig om til kundeservice",
        "menneske tak",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm human",
        "is it real human hair?",
        "can I talk about my order",
        "the person who packed it was careless",
        "hvad er jeres telefonnummer",
        "hvor er min pakke",
    ],
)
def test_not_requests_for_a_person(text: str) -> None:
    assert not asks_for_human(text)


def test_gdpr_requests_are_told_from_newsletter_and_order_changes() -> None:
    assert wants_gdpr("jeg vil have slettet alle mine oplysninger")
    assert wants_gdpr("what data do you hold about me?")
    assert not wants_gdpr("fjern mig fra nyhedsbrevet")
    assert not wants_gdpr("delete the socks from my order")


# --- the whole layer -------------------------------------------------------------------------


def test_understand_reads_a_message_end_to_end() -> None:
    understander = Understander.build(PRODUCTS, ["da", "en"], "da")
    u = understander.understand("Hej, hvor er min pakke? Ordre 1042, anna@example.dk")
    assert (u.scenario, u.language) == ("order_status", "da")
    assert u.entities.order_numbers == ["1042"] and u.entities.emails == ["anna@example.dk"]
    assert not u.negative and not u.asks_for_human
    u = understander.understand(
        "This is unacceptable, let me talk to a human!!!", page_product="p1"
    )
    assert u.negative and u.asks_for_human and u.language == "en" and u.sentiment < 0
    assert u.entities.page_product == "p1"
    u = understander.understand("I'm 178 cm, which size in the quilted jacket?")
    assert u.scenario == "size_advice" and u.entities.measurements["height"] == 178.0
    assert u.entities.products[0].product_id == "p1"


@pytest.mark.skipif(not DEMO_STORE.exists(), reason="no demo store")
def test_the_demo_store_products_are_found_by_name() -> None:
    from shopdesk.store.models import StoreFixture

    fixture = StoreFixture.model_validate(json.loads(DEMO_STORE.read_text(encoding="utf-8")))
    understander = Understander.build(
        fixture.products, list(fixture.store.locales), fixture.store.default_locale
    )
    for product in fixture.products:
        for title in product.titles():
            found = understander.understand(f"har i {title.lower()} på lager?").entities.products
            assert found and found[0].product_id == product.id, (title, found)


def _kids_products() -> list[Product]:
    def variants(prefix: str, sizes: list[str]) -> list[Variant]:
        return [Variant(sku=f"{prefix}-{s}", size=s, color="navy", stock=3) for s in sizes]

    return [
        Product(id="k1", title="Regnjakke Ugle", category="kids", price=499,
                variants=variants("UGLE", ["92", "98", "104", "110", "116"])),
        Product(id="k2", title="Uldsokker", category="accessories", price=149,
                variants=variants("SOCK", ["22-25", "26-29", "30-33"])),
        Product(id="k3", title="Lav sneaker", category="shoes", price=449, variants=variants("LAV", ["38"])),
        Product(id="k4", title="Knude hue", category="accessories", price=229, variants=variants("HUE", [""])),
    ]


@pytest.mark.parametrize("text, sizes, usual", [
    ("my daughter usually wears 110, what size in this?", ["110"], "110"),
    ("han bruger normalt 104", ["104"], "104"),
    ("could I exchange it for a 116?", ["116"], None),
    ("har i uldsokker i 30-33?", ["30-33"], None),
    ("jeg er normalt 180", [], None),  # no size of the store: a height, not a size
])
def test_the_stores_own_sizes_are_read_kids_heights_and_ranges(text, sizes, usual) -> None:
    found = EntityExtractor(_kids_products()).extract(text)
    assert found.sizes == sizes and found.usual_size == usual


@pytest.mark.parametrize("text, height", [
    ("hvilken størrelse til en pige på 101 cm", 101.0),
    ("for a kid who's 115 cm?", 115.0),
])
def test_a_childs_height_is_a_height(text, height) -> None:
    assert EntityExtractor(_kids_products()).extract(text).measurements.get("height") == height


@pytest.mark.parametrize("text, number", [
    ("604137 gry.thorsen@example.dk", "604137"),  # "g..." after it is no unit
    ("I want a refund. 604120 petra@example.dk", "604120"),  # a sentence ends before it
])
def test_order_numbers_next_to_unit_like_letters_and_money_words(text, number) -> None:
    assert EntityExtractor(_kids_products()).extract(text).order_numbers == [number]


def test_a_short_product_name_is_found_as_written_but_not_inside_other_words() -> None:
    extractor = EntityExtractor(_kids_products())
    assert [m.product_id for m in extractor.extract("hvornår kommer huen igen").products] == ["k4"]
    assert "k3" not in [m.product_id for m in extractor.extract("hvad er jakken lavet af").products]


def _plain_alternation(phrases: list[str]) -> str:
    """The phrases one after the other, longest first: what ``alternation`` must match like."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return r"(?<![\wæøåÆØÅ])(?:" + "|".join(spelling_pattern(p) for p in ordered) + r")(?![\wæøåÆØÅ])"


@pytest.mark.parametrize("name", ["colours", "defect_words", "business_words", "frustration_words", "towns"])
def test_a_lexicon_list_as_a_trie_matches_what_the_phrases_one_by_one_match(name: str) -> None:
    words = list(getattr(lexicon(), name))
    fast = re.compile(alternation(words), re.IGNORECASE)
    plain = re.compile(_plain_alternation(words), re.IGNORECASE)
    texts = [*words, *(f"it is {w.upper()}, really" for w in words), *(f"{w}s {w}-{w}" for w in words),
             *(w.replace("æ", "ae").replace("ø", "oe").replace("å", "aa") for w in words),
             "the zip on my jacket is broken and the seam is torn", "jeg vil gerne have en grå trøje"]
    for text in texts:
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)], text
