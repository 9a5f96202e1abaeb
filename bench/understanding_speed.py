"""How fast the offline agent understands a message.

Trains the scenario classifier once (as the server does at start-up), then reads a few
thousand generated shopper messages (templates x slots: order numbers, emails, products,
sizes, measurements, codes, addresses) through ``Understander.understand`` - class,
language, entities, signals - and prints the CPU time per message.

    python bench/understanding_speed.py [--messages 3000] [--store path/to/store.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from shopdesk.agent.understanding import Understander
from shopdesk.agent.understanding.catalogue import load_catalogue
from shopdesk.agent.understanding.classifier import ScenarioClassifier
from shopdesk.store.models import Product, StoreFixture, Variant

DEMO = Path(__file__).resolve().parents[1] / "server" / "shopdesk" / "store" / "demo-store.json"

TEMPLATES = [
    "Hej, hvor er min pakke? Ordre {order}, {email}",
    "hvornår bliver ordre {order} sendt",
    "min pakke skulle være kommet i {weekday}, ordre {order} {bang}",
    "der står leveret men jeg har ikke fået noget, {order}",
    "kan i ændre adressen til {address}? ordre {order}",
    "jeg vil gerne annullere ordre {order}",
    "kan jeg bytte {product} til str {size}?",
    "jeg vil gerne returnere {product}, den passer ikke",
    "hvornår får jeg pengene for min retur? {email}",
    "jeg er {height} og vejer {weight}, hvilken str i {product}?",
    "har i {product} i {colour} str {size}?",
    "hvad er {product} lavet af, kan den vaskes?",
    "rabatkoden {code} virker ikke {bang}",
    "saldo på gavekort {code}",
    "{product}: lynlåsen er gået i stykker efter en uge {bang}",
    "Det er helt uacceptabelt, jeg vil tale med en medarbejder{bang}",
    "Where is my order {order}? {email}",
    "my parcel was due on {weekday} and still nothing {bang}",
    "tracking says delivered but no parcel, order #{order}",
    "please ship to {address} instead",
    "can I exchange the {product} for a {size}?",
    "I'm {height}, usually wear {size}, which size in the {product}?",
    "is the {product} in stock in {colour}?",
    "my discount code {code} says expired",
    "I was charged {amount} twice for order {order}",
    "can I talk to a human please",
    "thanks, bye!",
    "{order}",
    "{order}, {email}",
]
WEEKDAYS = ["mandags", "tirsdags", "monday", "friday", "weekenden"]
EMAILS = ["anna.holm@example.dk", "j.smith@outlook.com", "lars@firma.dk", "kirsten.o@webmail.dk"]
ADDRESSES = [
    "Vestergade 12, 8000 Aarhus C",
    "Nørregade 5 2. tv, 5000 Odense C",
    "14 High Street, 2100 Copenhagen",
]
CODES = ["WELCOME10", "SOMMER20", "ABCD-1234-XY99", "GC7F3K2M9P", "vip25"]
SIZES = ["S", "M", "L", "XL", "38", "40", "42", "W32 L34"]
COLOURS = ["sort", "hvid", "navy", "grå", "forest green", "blaa", "camel"]
HEIGHTS = ["172 cm", "1,65", "180cm", "5'9", "168"]
WEIGHTS = ["68 kg", "75kg", "60 kilo"]
AMOUNTS = ["599 kr", "kr. 1.299", "2.499,00 DKK"]


def _products() -> list[Product]:
    if DEMO.exists():
        return StoreFixture.model_validate(json.loads(DEMO.read_text(encoding="utf-8"))).products
    return [
        Product(
            id=f"p{i}",
            title={"en": f"Model {i} jacket", "da": f"Model {i} jakke"},
            category="x",
            price=999,
            variants=[Variant(sku=f"p{i}-m", size="M", color="black", stock=1)],
        )
        for i in range(40)
    ]


def _messages(products: list[Product], count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    titles = [t for p in products for t in p.titles()]
    out = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        title = rng.choice(titles).lower()
        out.append(
            template.format(
                order=rng.randint(1000, 99999),
                email=rng.choice(EMAILS),
                address=rng.choice(ADDRESSES),
                product=title
                if rng.random() < 0.7
                else title[: max(4, len(title) - 3)],  # some cut short
                size=rng.choice(SIZES),
                colour=rng.choice(COLOURS),
                height=rng.choice(HEIGHTS),
                weight=rng.choice(WEIGHTS),
                code=rng.choice(CODES),
                amount=rng.choice(AMOUNTS),
                weekday=rng.choice(WEEKDAYS),
                bang=rng.choice(["", "!", "!!!"]),
            )
        )
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()

    catalogue = load_catalogue()
    texts, _ = catalogue.training_pairs()
    cpu, wall = time.process_time(), time.perf_counter()
    ScenarioClassifier.train(catalogue)
    print(
        f"training: {len(texts)} examples, {len(catalogue.names)} classes: "
        f"{(time.process_time() - cpu) * 1000:.0f} ms CPU, {(time.perf_counter() - wall) * 1000:.0f} ms wall"
    )

    products = _products()
    cpu = time.process_time()
    understander = Understander.build(products, ["da", "en"], "da")
    print(
        f"build (train + {len(products)} products + word lists): {(time.process_time() - cpu) * 1000:.0f} ms CPU"
    )

    messages = _messages(products, args.messages)
    for text in messages[:50]:  # warm caches
        understander.understand(text)
    per_message: list[float] = []
    classify_only: list[float] = []
    for text in messages:
        start = time.process_time_ns()
        understander.understand(text, page_product=products[0].id)
        per_message.append((time.process_time_ns() - start) / 1e6)
        start = time.process_time_ns()
        understander.classifier.predict(text)
        classify_only.append((time.process_time_ns() - start) / 1e6)
    for name, values in (("understand (all)", per_message), ("classify only", classify_only)):
        print(
            f"{name}: {len(values)} messages, CPU per message ms: "
            f"p50 {_percentile(values, 0.5):.3f}  p95 {_percentile(values, 0.95):.3f}  "
            f"p99 {_percentile(values, 0.99):.3f}  mean {statistics.fmean(values):.3f}"
        )


if __name__ == "__main__":
    main()
