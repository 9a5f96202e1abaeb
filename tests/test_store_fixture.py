"""The built-in store connector: validation at start-up, lookups, actions for the process's life."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from shopdesk.settings import DEMO_STORE
from shopdesk.store.connector import StoreError
from shopdesk.store.fixture import FixtureConnector, FixtureError, load_fixture

RAW = json.loads(DEMO_STORE.read_text(encoding="utf-8"))


def write(tmp_path, data) -> str:
    path = tmp_path / "store.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def broken(**changes):
    data = copy.deepcopy(RAW)
    for dotted, value in changes.items():
        target = data
        *parts, last = dotted.split(".")
        for p in parts:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is KeyError:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize("data,message", [
    ("{not json", "not valid JSON (line 1"),
    (broken(as_of=KeyError), "field as_of: Field required"),
    (broken(**{"store.escalation_amount": -5}), "field store.escalation_amount"),
    (broken(**{"orders.0.lines.0.sku": "NOPE-1"}), "field orders.0.lines.0.sku: unknown sku 'NOPE-1'"),
    (broken(**{"products.0.size_chart": "missing-chart"}), "unknown size chart 'missing-chart'"),
    (broken(**{"orders.0.customer_id": "c-nobody"}), "unknown customer 'c-nobody'"),
    (broken(**{"orders.0.status": "lost"}), "field orders.0.status"),
    (broken(surprise=1), "field surprise: Extra inputs are not permitted"),
])
def test_an_invalid_store_is_one_line_naming_file_and_field(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(FixtureError) as info:
        load_fixture(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_a_missing_store_file_is_named(tmp_path):
    with pytest.raises(FixtureError, match="store file not found"):
        load_fixture(tmp_path / "absent.json")


def test_serve_with_a_bad_store_prints_one_line_not_a_traceback(tmp_path):
    path = write(tmp_path, broken(as_of=KeyError))
    out = subprocess.run([sys.executable, "-m", "shopdesk", "serve", "--store", str(path), "--port", "1"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == f"shopdesk: {path}: field as_of: Field required"


async def test_the_fixture_time_is_the_store_now_and_lookups_work():
    store = FixtureConnector.from_file(DEMO_STORE)
    assert (await store.now()).isoformat() == RAW["as_of"]
    order = await store.find_order("#1003")
    assert order is not None and order.email == "anna@example.dk"
    assert await store.find_order("999999") is None
    assert [o.number for o in await store.orders_for_email("ANNA@example.dk ")][:1]
    product = (await store.products())[0]
    assert await store.product(product.id) is product
    if product.handle:
        assert await store.product(product.handle) is product
    sku = product.variants[0].sku
    assert (await store.variant(sku))[1].sku == sku


async def test_actions_change_state_for_the_life_of_the_process():
    store = FixtureConnector.from_file(DEMO_STORE)
    unfulfilled = next(o for o in RAW["orders"] if o["status"] == "unfulfilled")
    await store.cancel_order(unfulfilled["number"])
    assert (await store.find_order(unfulfilled["number"])).status == "cancelled"
    with pytest.raises(StoreError):
        await store.cancel_order(unfulfilled["number"])  # no longer unfulfilled
    fresh = FixtureConnector.from_file(DEMO_STORE)  # a new process starts from the file again
    assert (await fresh.find_order(unfulfilled["number"])).status == "unfulfilled"


async def test_a_shipped_order_cannot_be_changed():
    store = FixtureConnector.from_file(DEMO_STORE)
    shipped = next(o for o in RAW["orders"] if o["status"] in ("fulfilled", "delivered"))
    with pytest.raises(StoreError) as info:
        await store.cancel_order(shipped["number"])
    assert info.value.code == "already_fulfilled"
