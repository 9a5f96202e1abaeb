"""The tools' own rules, against the demo store (Havtorn) or a modified copy of it.

The tools enforce verification, the money limit, the return window, final sale and
stock whatever called them, so each rule is tested here through ``shopdesk.tools.call``
exactly as the agents use it. Boundaries (the window's last day, the limit, size-chart
edges, the store's timezone) use a copy of the demo store changed in one place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from shopdesk.engine import Customer
from shopdesk.settings import DEMO_STORE
from shopdesk.store.fixture import FixtureConnector
from shopdesk.store.models import StoreFixture
from shopdesk.tools import REGISTRY, ToolContext, call

RAW: dict[str, Any] = json.loads(DEMO_STORE.read_text(encoding="utf-8"))
Edit = Callable[[dict[str, Any]], None]


def make_connector(edit: Edit | None = None) -> FixtureConnector:
    """A fresh connector on the demo store, optionally changed by ``edit(raw_json)``."""
    raw = copy.deepcopy(RAW)
    if edit:
        edit(raw)
    return FixtureConnector(StoreFixture.model_validate(raw))


def raw_order(raw: dict[str, Any], number: str) -> dict[str, Any]:
    return next(o for o in raw["orders"] if o["number"] == number)


def raw_product(raw: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(p for p in raw["products"] if p["id"] == pid)


def store_setting(**values: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["store"].update(values)
    return edit


def as_of(moment: str, then: Edit | None = None) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["as_of"] = moment
        if then:
            then(raw)
    return edit


async def ctx_for(connector: FixtureConnector | None = None, *, customer: str | None = None,
                  verified: tuple[str, ...] = (), locale: str = "en") -> ToolContext:
    return await ToolContext.create(connector or make_connector(),
                                    Customer(customer) if customer else None, set(verified), locale)


async def stock_of(connector: FixtureConnector, sku: str) -> int:
    found = await connector.variant(sku)
    assert found is not None
    return found[1].stock


# --------------------------------------------------------------------------- verification

async def test_number_and_email_verify_that_order_only():
    ctx = await ctx_for()
    result = await call(ctx, "verify_order", {"number": "1003", "email": "anna@example.dk"})
    assert result.ok and ctx.verified_orders == {"1003"}
    status = await call(ctx, "order_status", {"number": "1003"})
    assert status.ok
    parcel = status.data["fulfillments"][0]
    assert parcel["carrier"] == "PostNord" and parcel["tracking_number"] == "00370730254400031007"
    assert parcel["estimated_delivery"] == date(2026, 11, 29)
    # Anna's other order is not verified by the pair for 1003.
    assert (await call(ctx, "order_status", {"number": "1019"})).code == "not_verified"


async def test_email_match_ignores_case_spaces_and_hash():
    ctx = await ctx_for()
    result = await call(ctx, "verify_order", {"number": "#1003", "email": "  Anna@Example.DK "})
    assert result.ok and "1003" in ctx.verified_orders


async def test_wrong_email_is_answered_exactly_like_an_unknown_order():
    ctx = await ctx_for()
    wrong = await call(ctx, "verify_order", {"number": "1003", "email": "sofie@example.dk"})
    unknown = await call(ctx, "verify_order", {"number": "9999", "email": "sofie@example.dk"})
    assert wrong.code == unknown.code == "not_verified"
    assert wrong.data == unknown.data == {}
    assert ctx.verified_orders == set()
    assert [a.outcome for a in ctx.audit] == ["not_verified", "not_verified"]


async def test_an_email_alone_verifies_nothing():
    ctx = await ctx_for()  # no login, no pair: "my email is anna@example.dk" is worth nothing
    for name in ("order_status", "payment_status", "refund_status"):
        result = await call(ctx, name, {"number": "1003"})
        assert result.code == "not_verified" and result.data == {}


async def test_signed_login_sees_own_orders_and_lists_them_newest_first():
    ctx = await ctx_for(customer="anna@example.dk")
    assert (await call(ctx, "order_status", {"number": "1003"})).ok
    assert (await call(ctx, "order_status", {"number": "1019"})).ok
    mine = await call(ctx, "my_orders", {})
    assert mine.ok and mine.data["orders"] == ["1013", "1003", "1019"]


async def test_signed_login_email_match_ignores_case():
    ctx = await ctx_for(customer="ANNA@example.dk")
    assert (await call(ctx, "order_status", {"number": "1003"})).ok


async def test_my_orders_needs_a_signed_login():
    ctx = await ctx_for()
    result = await call(ctx, "my_orders", {})
    assert result.code == "not_verified" and result.data == {}


ORDER_TOOLS: list[tuple[str, dict[str, Any]]] = [
    ("order_status", {"number": "1003"}),
    ("payment_status", {"number": "1003"}),
    ("refund_status", {"number": "1003"}),
    ("resend_invoice", {"number": "1003"}),
    ("cancel_order", {"number": "1001"}),
    ("change_address", {"number": "1001", "line1": "Nygade 1", "zip": "6700", "city": "Esbjerg"}),
    ("change_line", {"number": "1001", "sku": "HT-TEE-NVY-L", "size": "M"}),
    ("create_return", {"number": "1005", "skus": ["HT-CAR-CRM-L"]}),
    ("create_exchange", {"number": "1005", "sku": "HT-CAR-CRM-L", "size": "M"}),
    ("report_defect", {"number": "1019", "sku": "HT-MER-SND-M", "description": "pilling"}),
]


@pytest.mark.parametrize("customer", [None, "sofie@example.dk"], ids=["anonymous", "other-customer"])
@pytest.mark.parametrize("name,args", ORDER_TOOLS, ids=[n for n, _ in ORDER_TOOLS])
async def test_order_tools_refuse_an_unverified_order_and_do_nothing(name, args, customer):
    connector = make_connector()
    ctx = await ctx_for(connector, customer=customer)
    result = await call(ctx, name, args)
    assert result.code == "not_verified"
    assert result.data == {}  # not a single fact of the order, not even that it exists
    order = await connector.find_order(args["number"])
    assert order is not None
    assert order.status == RAW_STATUS[args["number"]] and order.returns == RAW_RETURNS[args["number"]]
    assert order.shipping_address and order.shipping_address.line1 != "Nygade 1"
    assert [ln.sku for ln in order.lines] == [ln["sku"] for ln in raw_order(RAW, args["number"])["lines"]]
    assert connector.invoices_sent == []
    assert ctx.audit[-1].action == name and ctx.audit[-1].outcome == "not_verified"


RAW_STATUS = {o["number"]: o["status"] for o in RAW["orders"]}
RAW_RETURNS: dict[str, list[Any]] = {o["number"]: [] for o in RAW["orders"] if not o["returns"]}


# --------------------------------------------------------------------------- money limit

async def test_return_over_the_limit_is_refused_without_acting():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1017",))
    result = await call(ctx, "create_return", {"number": "1017", "skus": ["HT-COAT-CAM-L"]})
    assert result.code == "over_limit" and result.data["amount"] == 2799
    assert (await connector.find_order("1017")).returns == []


async def test_cancel_over_the_limit_counts_the_order_total_and_does_not_cancel():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1020",))
    result = await call(ctx, "cancel_order", {"number": "1020"})
    assert result.code == "over_limit" and result.data["amount"] == 4998
    order = await connector.find_order("1020")
    assert order.status == "unfulfilled" and order.financial_status == "authorized"


async def test_exchange_over_the_limit_counts_though_no_money_moves():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1017",))
    result = await call(ctx, "create_exchange", {"number": "1017", "sku": "HT-COAT-CAM-L", "size": "S"})
    assert result.code == "over_limit"
    assert (await connector.find_order("1017")).returns == []
    assert await stock_of(connector, "HT-COAT-CAM-S") == 2  # nothing reserved


async def test_known_defect_replacement_over_the_limit_is_refused():
    connector = make_connector(store_setting(escalation_amount=500))
    ctx = await ctx_for(connector, verified=("1019",))
    result = await call(ctx, "report_defect",
                        {"number": "1019", "sku": "HT-MER-SND-M", "description": "lots of pilling"})
    assert result.code == "over_limit" and result.data["amount"] == 809.1


async def test_repair_kit_counts_nothing_against_the_limit():
    ctx = await ctx_for(make_connector(store_setting(escalation_amount=0)), verified=("1009",))
    result = await call(ctx, "report_defect",
                        {"number": "1009", "sku": "HT-OXF-WHT-M", "description": "a button fell off"})
    assert result.ok and result.data["remedy"] == "repair_kit" and result.data["amount"] == 0


async def test_cancel_under_the_limit_cancels_and_refunds():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1001",))
    result = await call(ctx, "cancel_order", {"number": "1001"})
    assert result.ok and result.data["status"] == "cancelled" and result.data["paid"] is True
    assert result.data["refund_days"] == [3, 5] and result.data["total"] == 697
    order = await connector.find_order("1001")
    assert order.status == "cancelled" and order.financial_status == "refunded"
    assert (await call(ctx, "cancel_order", {"number": "1001"})).code == "already_cancelled"


async def test_cancel_uses_the_order_total_against_another_limit():
    connector = make_connector(store_setting(escalation_amount=690))
    ctx = await ctx_for(connector, verified=("1001",))
    assert (await call(ctx, "cancel_order", {"number": "1001"})).code == "over_limit"
    assert (await connector.find_order("1001")).status == "unfulfilled"


async def test_return_under_the_limit_creates_it_with_fee_and_refund():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-CAR-CRM-L"]})
    assert result.ok
    assert result.data["amount"] == 1199 and result.data["fee"] == 39 and result.data["refund"] == 1160
    assert result.data["refund_days"] == [3, 5]
    order = await connector.find_order("1005")
    assert [r.rma for r in order.returns] == [result.data["rma"]]
    assert order.returns[0].skus == ["HT-CAR-CRM-L"]


async def test_return_value_is_what_was_paid_after_the_discount():
    # 1019: an 899 kr. sweater bought with VELKOMMEN10, so 809.10 was paid.
    ctx = await ctx_for(make_connector(store_setting(escalation_amount=850)), verified=("1019",))
    result = await call(ctx, "create_return", {"number": "1019", "skus": ["HT-MER-SND-M"]})
    assert result.ok and result.data["amount"] == 809.1 and result.data["refund"] == 770.1


@pytest.mark.parametrize("limit,code", [(1448, "ok"), (1447.99, "over_limit")])
async def test_return_of_several_lines_counts_their_sum(limit, code):
    ctx = await ctx_for(make_connector(store_setting(escalation_amount=limit)), verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-TEE-WHT-L", "HT-CAR-CRM-L"]})
    assert result.code == code and result.data["amount"] == 1448


@pytest.mark.parametrize("sku,code", [("HT-CAR-CRM-L", "over_limit"), ("HT-TEE-WHT-L", "ok")])
async def test_another_escalation_amount_is_honoured(sku, code):
    ctx = await ctx_for(make_connector(store_setting(escalation_amount=1000)), verified=("1005",))
    assert (await call(ctx, "create_return", {"number": "1005", "skus": [sku]})).code == code


async def test_return_fee_of_another_store():
    ctx = await ctx_for(make_connector(store_setting(return_shipping_fee=0)), verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-TEE-WHT-L"]})
    assert result.ok and result.data["fee"] == 0 and result.data["refund"] == 249


# --------------------------------------------------------------------------- window, final sale

async def test_return_inside_the_window_has_its_dates():
    ctx = await ctx_for(verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-TEE-WHT-L"]})
    assert result.ok
    assert result.data["delivered_on"] == date(2026, 11, 18)
    assert result.data["window_end"] == date(2026, 12, 18)


async def test_return_outside_the_window_is_refused_with_the_dates():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1006",))
    result = await call(ctx, "create_return", {"number": "1006", "skus": ["HT-MER-CHA-S"]})
    assert result.code == "outside_window"
    assert result.data["delivered_on"] == date(2026, 9, 5) and result.data["window_end"] == date(2026, 10, 5)
    assert (await connector.find_order("1006")).returns == []


def delivered_late_evening_utc(raw: dict[str, Any]) -> None:
    # 23:30 UTC on 29 October is 00:30 on 30 October in Copenhagen: the window counts from the 30th.
    f = raw_order(raw, "1005")["fulfillments"][0]
    f["delivered_at"] = "2026-10-29T23:30:00+00:00"
    f["estimated_delivery"] = "2026-10-29"


@pytest.mark.parametrize("now,code", [
    ("2026-11-29T12:00:00+01:00", "ok"),             # the 30th day: the last one in
    ("2026-11-29T22:30:00+00:00", "ok"),             # 23:30 in Copenhagen, still the 29th
    ("2026-11-29T23:30:00+00:00", "outside_window"),  # 00:30 on the 30th in Copenhagen
    ("2026-11-30T09:00:00+01:00", "outside_window"),  # the day after
])
async def test_return_window_last_day_in_store_timezone(now, code):
    ctx = await ctx_for(make_connector(as_of(now, delivered_late_evening_utc)), verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-TEE-WHT-L"]})
    assert result.code == code
    assert result.data["delivered_on"] == date(2026, 10, 30)
    assert result.data["window_end"] == date(2026, 11, 29)


@pytest.mark.parametrize("now,code", [("2026-12-02T16:00:00+01:00", "ok"),
                                      ("2026-12-03T08:00:00+01:00", "outside_window")])
async def test_return_window_of_another_length(now, code):
    # 1005 was delivered on 18 November; a 14-day window keeps 2 December in.
    connector = make_connector(as_of(now, store_setting(return_window_days=14)))
    ctx = await ctx_for(connector, verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-TEE-WHT-L"]})
    assert result.code == code and result.data["window_days"] == 14


async def test_outside_window_is_refused_whatever_the_value():
    ctx = await ctx_for(make_connector(store_setting(escalation_amount=100)), verified=("1006",))
    assert (await call(ctx, "create_return", {"number": "1006", "skus": ["HT-MER-CHA-S"]})).code == "outside_window"
    exchange = await call(ctx, "create_exchange", {"number": "1006", "sku": "HT-MER-CHA-S", "size": "M"})
    assert exchange.code == "outside_window"


@pytest.mark.parametrize("limit", [2000, 100])
async def test_final_sale_is_refused_whatever_the_value(limit):
    connector = make_connector(store_setting(escalation_amount=limit))
    ctx = await ctx_for(connector, verified=("1018",))
    result = await call(ctx, "create_return", {"number": "1018", "skus": ["HT-LIN-NAT-32", "HT-TEE-WHT-L"]})
    assert result.code == "final_sale"
    assert [ln["sku"] for ln in result.data["final_sale_items"]] == ["HT-LIN-NAT-32"]
    exchange = await call(ctx, "create_exchange", {"number": "1018", "sku": "HT-LIN-NAT-32", "size": "34"})
    assert exchange.code == "final_sale"
    assert (await connector.find_order("1018")).returns == []


async def test_the_other_line_of_a_final_sale_order_can_go_back():
    ctx = await ctx_for(verified=("1018",))
    assert (await call(ctx, "create_return", {"number": "1018", "skus": ["HT-TEE-WHT-L"]})).ok


async def test_an_order_not_yet_delivered_cannot_be_returned():
    ctx = await ctx_for(verified=("1003",))
    result = await call(ctx, "create_return", {"number": "1003", "skus": ["HT-CHI-NVY-32"]})
    assert result.code == "not_delivered"


async def test_a_line_not_on_the_order_is_not_found():
    ctx = await ctx_for(verified=("1005",))
    result = await call(ctx, "create_return", {"number": "1005", "skus": ["HT-COAT-CAM-L"]})
    assert result.code == "not_found"


async def test_a_new_return_number_never_repeats_one_on_the_order():
    # 1014 already has R1014-1 (label sent); its T-shirt is still inside the window.
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1014",))
    result = await call(ctx, "create_return", {"number": "1014", "skus": ["HT-TEE-WHT-S"]})
    assert result.ok
    rmas = [r.rma for r in (await connector.find_order("1014")).returns]
    assert len(rmas) == len(set(rmas)) == 2, rmas


async def test_a_line_already_returned_and_refunded_cannot_be_returned_again():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1015",))
    result = await call(ctx, "create_return", {"number": "1015", "skus": ["HT-BEA-CHA"]})
    assert not result.ok
    assert len((await connector.find_order("1015")).returns) == 1


# --------------------------------------------------------------------------- exchange, changes

async def test_exchange_in_stock_reserves_the_new_variant_for_free():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1005",))
    result = await call(ctx, "create_exchange", {"number": "1005", "sku": "HT-CAR-CRM-L", "size": "M"})
    assert result.ok and result.data["fee"] == 0
    assert result.data["wanted"] == {"size": "M", "color": "cream", "title": "Røsnæs cable-knit cardigan"}
    assert await stock_of(connector, "HT-CAR-CRM-M") == 5
    order = await connector.find_order("1005")
    assert order.returns[-1].rma == result.data["rma"] and order.returns[-1].exchange_sku == "HT-CAR-CRM-M"


async def test_exchange_out_of_stock_offers_a_return_and_the_restock_date():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1005",))
    result = await call(ctx, "create_exchange", {"number": "1005", "sku": "HT-CAR-CRM-L", "size": "XL"})
    assert result.code == "out_of_stock"
    assert result.data["restock_date"] == date(2027, 1, 15)
    assert result.data["fee"] == 39  # what a return instead would cost
    assert (await connector.find_order("1005")).returns == []


async def test_exchange_to_a_colour_in_stock():
    ctx = await ctx_for(verified=("1005",))
    result = await call(ctx, "create_exchange", {"number": "1005", "sku": "HT-CAR-CRM-L", "color": "forest green"})
    assert result.ok and result.data["wanted"]["size"] == "L"


async def test_exchange_to_a_size_the_product_is_not_made_in():
    ctx = await ctx_for(verified=("1005",))
    result = await call(ctx, "create_exchange", {"number": "1005", "sku": "HT-CAR-CRM-L", "size": "XXL"})
    assert result.code == "no_such_variant" and result.data["sizes"] == ["XS", "S", "M", "L", "XL"]


async def test_change_line_of_an_unfulfilled_order():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1001",))
    out = await call(ctx, "change_line", {"number": "1001", "sku": "HT-TEE-NVY-L", "size": "S"})
    assert out.code == "out_of_stock" and out.data["restock_date"] == date(2026, 12, 8)
    assert (await connector.find_order("1001")).lines[0].sku == "HT-TEE-NVY-L"
    done = await call(ctx, "change_line", {"number": "1001", "sku": "HT-TEE-NVY-L", "size": "M"})
    assert done.ok and done.data["wanted"] == {"size": "M", "color": "navy"}
    assert (await connector.find_order("1001")).lines[0].sku == "HT-TEE-NVY-M"


async def test_change_line_of_a_shipped_order_is_refused():
    ctx = await ctx_for(verified=("1003",))
    result = await call(ctx, "change_line", {"number": "1003", "sku": "HT-CHI-NVY-32", "size": "34"})
    assert result.code == "already_shipped"


async def test_change_address_before_shipping_only():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1001", "1003"))
    args = {"line1": "Nygade 1", "zip": "6700", "city": "Esbjerg"}
    done = await call(ctx, "change_address", {"number": "1001", **args})
    assert done.ok and done.data["address"] == "Mikkel Sørensen, Nygade 1, 6700 Esbjerg, DK"
    shipped = await call(ctx, "change_address", {"number": "1003", **args})
    assert shipped.code == "already_shipped"
    assert shipped.data["fulfillments"][0]["tracking_number"] == "00370730254400031007"
    assert (await connector.find_order("1003")).shipping_address.line1 == "Sønderbrogade 12, 2. th."


@pytest.mark.parametrize("number,code", [("1003", "already_shipped"), ("1002", "already_shipped"),
                                         ("1016", "already_cancelled")])
async def test_cancel_refuses_shipped_and_cancelled_orders(number, code):
    ctx = await ctx_for(verified=(number,))
    assert (await call(ctx, "cancel_order", {"number": number})).code == code


# --------------------------------------------------------------------------- order facts

@pytest.mark.parametrize("number,kind", [("1011", "failed"), ("1012", "double_capture"),
                                         ("1013", "auth_and_capture"), ("1020", "authorized"),
                                         ("1001", "paid"), ("1015", "paid")])
async def test_payment_status_kinds(number, kind):
    ctx = await ctx_for(verified=(number,))
    result = await call(ctx, "payment_status", {"number": number})
    assert result.ok and result.data["payment"] == kind


async def test_refund_status_gives_the_refund_day_and_amount():
    ctx = await ctx_for(verified=("1015", "1014"))
    refunded = await call(ctx, "refund_status", {"number": "1015"})
    [ret] = refunded.data["returns"]
    assert ret["rma"] == "R1015-1" and ret["status"] == "refunded" and ret["refund_amount"] == 160
    assert ret["refunded_on"] == date(2026, 11, 25) and ret["items"] == ["Ø beanie"]
    assert refunded.data["refund_days"] == [3, 5]
    waiting = await call(ctx, "refund_status", {"number": "1014"})
    assert [(r["rma"], r["status"], r["refunded_on"]) for r in waiting.data["returns"]] == [
        ("R1014-1", "label_sent", None)]


async def test_invoice_goes_to_the_email_on_the_order():
    connector = make_connector()
    ctx = await ctx_for(connector, verified=("1003",))
    result = await call(ctx, "resend_invoice", {"number": "1003"})
    assert result.ok and result.data == {"number": "1003", "email": "anna@example.dk"}
    assert connector.invoices_sent == ["1003"]


async def test_lateness_is_judged_against_the_estimate_plus_seven_days():
    ctx = await ctx_for(verified=("1009", "1010", "1003"))
    assert (await call(ctx, "order_status", {"number": "1003"})).data["fulfillments"][0]["days_late"] == 0
    three = (await call(ctx, "order_status", {"number": "1009"})).data["fulfillments"][0]
    assert three["days_late"] == 3 and three["late_for_person"] is False
    fourteen = (await call(ctx, "order_status", {"number": "1010"})).data["fulfillments"][0]
    assert fourteen["days_late"] == 14 and fourteen["late_for_person"] is True


@pytest.mark.parametrize("now,late", [("2026-12-02T23:30:00+01:00", False),   # 25 Nov + 7: not passed
                                      ("2026-12-02T23:30:00+00:00", True)])   # already 3 Dec locally
async def test_more_than_seven_days_late_boundary(now, late):
    ctx = await ctx_for(make_connector(as_of(now)), verified=("1009",))
    parcel = (await call(ctx, "order_status", {"number": "1009"})).data["fulfillments"][0]
    assert parcel["late_for_person"] is late


# --------------------------------------------------------------------------- catalogue, stock

async def test_stock_in_a_size_and_colour_and_the_restock_date():
    ctx = await ctx_for()
    out = await call(ctx, "stock", {"product": "p105", "size": "M", "color": "camel"})
    assert out.code == "out_of_stock" and out.data["restock_date"] == date(2026, 12, 10)
    assert out.data["in_stock"] == []
    navy = await call(ctx, "stock", {"product": "vesterhav-wool-coat", "size": "m", "color": "Navy"})
    assert navy.ok and navy.data["in_stock"] == [{"size": "M", "color": "navy", "stock": 4}]


async def test_what_is_in_stock_is_listed_smallest_size_first():
    result = await call(await ctx_for(), "stock", {"product": "p105"})  # camel M is sold out, navy M is not
    sizes = list(dict.fromkeys(v["size"] for v in result.data["in_stock"]))
    assert sizes == ["S", "M", "L", "XL"]


async def test_stock_out_without_a_restock_date():
    result = await call(await ctx_for(), "stock", {"product": "p108", "size": "30"})
    assert result.code == "out_of_stock" and result.data["restock_date"] is None


async def test_stock_of_a_colour_without_sizes():
    result = await call(await ctx_for(), "stock", {"product": "p111", "color": "oat"})
    assert result.code == "out_of_stock" and result.data["restock_date"] == date(2026, 12, 3)


async def test_stock_of_a_whole_product_and_a_size_it_is_not_made_in():
    ctx = await ctx_for()
    whole = await call(ctx, "stock", {"product": "p101"})
    assert whole.ok and {"size": "S", "color": "navy", "restock_date": date(2026, 12, 8)} in whole.data["out_of_stock"]
    assert (await call(ctx, "stock", {"product": "p101", "size": "XS"})).code == "no_such_variant"
    assert (await call(ctx, "stock", {"product": "nope"})).code == "not_found"


async def test_product_info_needs_no_verification():
    result = await call(await ctx_for(), "product_info", {"product": "thy-linen-trousers"})
    assert result.ok and result.data["final_sale"] is True and result.data["price"] == 549
    assert result.data["material"] == "100% European linen"
    da = await call(await ctx_for(locale="da"), "product_info", {"product": "p108"})
    assert da.data["material"] == "100 % europæisk hør"


async def test_store_facts():
    result = await call(await ctx_for(), "store_facts", {})
    assert result.ok and result.data["return_window_days"] == 30 and result.data["return_fee"] == 39
    assert result.data["free_shipping_threshold"] == 499 and "MobilePay" in result.data["payment_methods"]
    assert result.data["support_email"] == "kundeservice@havtorn.example"


# --------------------------------------------------------------------------- discount codes

@pytest.mark.parametrize("args,code", [
    ({"code": "NOPE123"}, "unknown"),
    ({"code": "SOMMER25"}, "expired"),
    ({"code": "sommer25"}, "expired"),
    ({"code": "JULEGAVE20"}, "not_started"),
    ({"code": "SPAR100", "subtotal": 799.99}, "below_minimum"),
    ({"code": "SPAR100", "subtotal": 800}, "ok"),
    ({"code": "SPAR100"}, "ok"),
    ({"code": "VINTER15", "product": "p105"}, "excluded_category"),
    ({"code": "VINTER15", "product": "strand-sneakers"}, "excluded_category"),
    ({"code": "VINTER15", "product": "p103"}, "ok"),
    ({"code": "FRAGTFRI", "subtotal": 250}, "below_minimum"),
])
async def test_discount_code_reasons(args, code):
    result = await call(await ctx_for(), "check_discount", args)
    assert result.code == code


async def test_discount_reason_details():
    ctx = await ctx_for()
    assert (await call(ctx, "check_discount", {"code": "SOMMER25"})).data["ends_on"] == date(2026, 8, 31)
    assert (await call(ctx, "check_discount", {"code": "JULEGAVE20"})).data["starts_on"] == date(2026, 12, 1)
    excluded = await call(ctx, "check_discount", {"code": "VINTER15", "product": "p105"})
    assert excluded.data["product_category"] == "outerwear"


async def test_already_used_is_told_only_to_the_logged_in_shopper():
    anonymous = await call(await ctx_for(), "check_discount", {"code": "VELKOMMEN10"})
    assert anonymous.code == "ok" and anonymous.data["once_per_customer"] is True
    assert anonymous.data["logged_in"] is False
    anna = await call(await ctx_for(customer="anna@example.dk"), "check_discount", {"code": "VELKOMMEN10"})
    assert anna.code == "already_used"
    mikkel = await call(await ctx_for(customer="mikkel@example.dk"), "check_discount", {"code": "VELKOMMEN10"})
    assert mikkel.code == "ok"


def code_ending(moment: str) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["discount_codes"].append({"code": "KORT10", "kind": "percent", "value": 10, "ends_at": moment})
    return edit


@pytest.mark.parametrize("ends,code", [("2026-11-28T11:30:00+00:00", "ok"),        # 12:30 in Copenhagen
                                       ("2026-11-28T10:30:00+00:00", "expired")])  # 11:30 in Copenhagen
async def test_discount_end_is_compared_as_a_moment_across_timezones(ends, code):
    ctx = await ctx_for(make_connector(code_ending(ends)))
    assert (await call(ctx, "check_discount", {"code": "kort10"})).code == code


# --------------------------------------------------------------------------- gift cards

@pytest.mark.parametrize("card,code,balance", [
    ("HAVTORN-GAVE-7Q4M", "ok", 500), ("havtorn-gave-2kxp", "ok", 135.5),
    ("HAVTORN-GAVE-9TRE", "expired", 250), ("HAVTORN-GAVE-5BLK", "disabled", 300),
])
async def test_gift_cards(card, code, balance):
    result = await call(await ctx_for(), "gift_card_balance", {"code": card})
    assert result.code == code and result.data["balance"] == balance


async def test_unknown_gift_card():
    result = await call(await ctx_for(), "gift_card_balance", {"code": "HAVTORN-GAVE-ZZZZ"})
    assert result.code == "unknown" and "balance" not in result.data


def card_expiring(day: str, now: str | None = None) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["gift_cards"].append({"code": "TEST-CARD", "balance": 100, "expires_at": day})
        if now:
            raw["as_of"] = now
    return edit


@pytest.mark.parametrize("edit,code", [
    (card_expiring("2026-11-28"), "ok"),                                   # its last day
    (card_expiring("2026-11-27"), "expired"),                              # the day after
    (card_expiring("2026-11-28", "2026-11-28T23:30:00+00:00"), "expired"),  # 29 Nov in Copenhagen
])
async def test_gift_card_last_day_in_store_timezone(edit, code):
    result = await call(await ctx_for(make_connector(edit)), "gift_card_balance", {"code": "test-card"})
    assert result.code == code


# --------------------------------------------------------------------------- size advice

async def size(product: str, *, measurements: dict[str, float] | None = None, usual: str | None = None,
               connector: FixtureConnector | None = None) -> Any:
    args: dict[str, Any] = {"product": product, "measurements": measurements or {}}
    if usual:
        args["usual_size"] = usual
    return await call(await ctx_for(connector), "recommend_size", args)


@pytest.mark.parametrize("chest,expected", [
    (88, "S"), (93, "S"),    # both ends of S's range
    (93.5, "M"),             # between S (88-93) and M (94-99): the larger
    (94, "M"), (99, "M"), (99.4, "L"), (105, "L"), (105.9, "XL"), (111, "XL"),
])
async def test_size_from_chest_at_chart_boundaries_and_gaps(chest, expected):
    result = await size("p103", measurements={"chest": chest})  # merino sweater: true to size
    assert result.ok and result.data["size"] == expected and result.data["chart_size"] == expected
    assert result.data["basis"] == "measurements"


async def test_bust_is_read_as_chest_and_the_largest_measurement_wins():
    assert (await size("p103", measurements={"bust": 95})).data["size"] == "M"
    both = await size("p103", measurements={"chest": 90, "waist": 86})  # chest S, waist L
    assert both.data["size"] == "L"


@pytest.mark.parametrize("waist,hip,expected", [(74, None, "30"), (74.5, None, "32"), (81, None, "34"),
                                                (76, 99, "34"), (95, None, "36")])
async def test_bottoms_run_small_one_size_up(waist, hip, expected):
    measurements = {"waist": waist} | ({"hip": hip} if hip else {})
    result = await size("p107", measurements=measurements)  # Mols chinos, size_offset +1
    assert result.ok and result.data["size"] == expected and result.data["offset"] == 1


@pytest.mark.parametrize("foot,expected", [(22.0, "36"), (23.1, "36"), (23.15, "37"), (23.2, "37"),
                                           (26.2, "41"), (29.4, "45"), (30.1, "46"), (31.0, "46")])
async def test_shoe_size_from_foot_length(foot, expected):
    result = await size("p109", measurements={"foot_length": foot})  # sneakers, true to size
    assert result.ok and result.data["size"] == expected


@pytest.mark.parametrize("foot,expected", [(24.5, "39"), (24.6, "40"), (26.7, "43")])
async def test_boots_run_small_one_number_up(foot, expected):
    result = await size("p110", measurements={"foot_length": foot})
    assert result.ok and result.data["size"] == expected and result.data["size_in_stock"] is (expected != "40")


@pytest.mark.parametrize("product,usual,expected", [
    ("p102", "M", "L"), ("p102", "s", "M"),       # Oxford shirt runs small: one up
    ("p104", "M", "S"), ("p104", "large", "M"),   # cardigan runs large: one down
    ("p104", "XS", "XS"),                         # ... clamped at the smallest size
    ("p103", "medium", "M"),                      # true to size
])
async def test_size_from_usual_size_with_fit_offset(product, usual, expected):
    result = await size(product, usual=usual)
    assert result.ok and result.data["size"] == expected and result.data["basis"] == "usual"


def chart_without_xxl(offset: int) -> Edit:
    """The cardigan's chart cut to the sizes it is made in (XS-XL), with a chosen offset."""
    def edit(raw: dict[str, Any]) -> None:
        tops = next(c for c in raw["size_charts"] if c["id"] == "tops")
        raw["size_charts"].append({"id": "knit", "unit": "cm", "sizes": tops["sizes"][:5]})
        cardigan = raw_product(raw, "p104")
        cardigan["size_chart"], cardigan["size_offset"] = "knit", offset
    return edit


@pytest.mark.parametrize("offset,args,expected", [
    (1, {"usual": "XL"}, "XL"), (1, {"measurements": {"chest": 125}}, "XL"), (1, {"usual": "L"}, "XL"),
    (-1, {"usual": "XS"}, "XS"), (-1, {"measurements": {"chest": 70}}, "XS"), (-1, {"usual": "S"}, "XS"),
])
async def test_size_offset_is_clamped_at_the_ends_of_the_chart(offset, args, expected):
    result = await size("p104", connector=make_connector(chart_without_xxl(offset)), **args)
    assert result.ok and result.data["size"] == expected


@pytest.mark.parametrize("product,args", [
    ("p102", {"usual": "XL"}),                       # Oxford shirt (S-XL), runs small -> chart XXL
    ("p101", {"measurements": {"chest": 84}}),       # T-shirt (S-XL), chart XS
    ("p110", {"measurements": {"foot_length": 29.6}}),  # boots (37-45), chart 46 + 1
])
async def test_recommended_size_is_one_the_product_is_made_in(product, args):
    result = await size(product, **args)
    assert result.code != "ok" or result.data["size"] in result.data["sizes"]


async def test_size_needs_input_without_measurements_or_a_usable_one():
    assert (await size("p103")).code == "need_input"
    assert (await size("p103", measurements={"inseam": 80})).code == "need_input"  # not on a tops chart
    assert (await size("p111", usual="M")).code == "one_size"  # a beanie has no sizes to choose
    assert (await size("nope", usual="M")).code == "not_found"


async def test_measurements_win_over_the_usual_size():
    result = await size("p103", measurements={"chest": 101}, usual="S")
    assert result.data["size"] == "L" and result.data["basis"] == "measurements"


# --------------------------------------------------------------------------- known defects

DEFECT_ORDERS = {"p103": ("1019", "HT-MER-SND-M"), "p102": ("1009", "HT-OXF-WHT-M"),
                 "p109": ("1004", "HT-SNK-WHT-39"), "p106": ("1007", "HT-RAIN-OLV-L"),
                 "p112": ("1012", "HT-TOTE-NAT")}


async def defect(product: str, description: str) -> Any:
    number, sku = DEFECT_ORDERS[product]
    ctx = await ctx_for(verified=(number,))
    return await call(ctx, "report_defect", {"number": number, "sku": sku, "description": description})


@pytest.mark.parametrize("product,description,remedy", [
    ("p103", "lots of pilling after two weeks", "replacement"),
    ("p103", "den har fået FNULLER", "replacement"),
    ("p103", "den fnugger helt vildt", "replacement"),
    ("p103", "der er nopper overalt", "replacement"),
    ("p102", "knappen faldt af", "repair_kit"),
    ("p102", "knapperne sidder løst", "repair_kit"),
    ("p102", "two buttons came off", "repair_kit"),
    ("p109", "the left sole squeaks", "replacement"),
    ("p109", "they keep squeaking when I walk", "replacement"),
    ("p109", "sålen knirkede fra dag et", "replacement"),
    ("p106", "lynlåsen er gået i stykker", "replacement"),
    ("p106", "lynlaasen gik i stykker", "replacement"),
    ("p106", "the zipper split open", "replacement"),
    ("p112", "hanken er revet løs", "refund"),
    ("p112", "stroppen sidder løst", "refund"),
    ("p112", "both straps came loose at the seams", "refund"),
])
async def test_known_defect_matches_inflected_keywords(product, description, remedy):
    result = await defect(product, description)
    assert result.ok and result.data["remedy"] == remedy


async def test_known_defect_remedy_details():
    refund = await defect("p112", "the strap came off")
    assert refund.data["amount"] == 299 and refund.data["refund_days"] == [3, 5]
    assert refund.data["defect"] == "The strap comes loose at the seam"
    swap = await defect("p103", "pilling")
    assert swap.data["item"] == "Skagen merino sweater" and swap.data["amount"] == 809.1


@pytest.mark.parametrize("product,description", [
    ("p103", "there is a hole in the sleeve"),
    ("p103", "farven er falmet i vask"),
    ("p102", "the collar is frayed"),
    ("p106", "it leaks at the shoulders"),
    ("p109", "sålen er løsnet foran"),
])
async def test_a_fault_matching_no_known_defect_is_unknown(product, description):
    result = await defect(product, description)
    assert result.code == "unknown_defect" and "remedy" not in result.data


@pytest.mark.parametrize("description", ["the sweater pills after a week", "it pilled after two washes"])
async def test_known_defect_matches_english_verb_forms(description):
    result = await defect("p103", description)
    assert result.ok and result.data["remedy"] == "replacement"


@pytest.mark.parametrize("product,description", [
    ("p102", "farven er falmet, selvom skjorten knapt er brugt"),
    ("p112", "I handled it gently but the colour ran in the wash"),
])
async def test_known_defect_keyword_is_not_matched_inside_other_words(product, description):
    result = await defect(product, description)
    assert result.code == "unknown_defect"


async def test_defect_on_an_item_not_in_the_order():
    ctx = await ctx_for(verified=("1019",))
    result = await call(ctx, "report_defect", {"number": "1019", "sku": "HT-TOTE-NAT", "description": "strap"})
    assert result.code == "not_found" and "remedy" not in result.data


# --------------------------------------------------------------------------- account

async def test_password_reset_never_tells_whether_an_account_exists():
    connector = make_connector()
    known_ctx, unknown_ctx = await ctx_for(connector), await ctx_for(connector)
    known = await call(known_ctx, "reset_password", {"email": "anna@example.dk"})
    unknown = await call(unknown_ctx, "reset_password", {"email": "nobody@example.com"})
    assert known.code == unknown.code == "ok"
    assert set(known.data) == set(unknown.data) == {"email"}
    assert [(a.action, a.outcome, a.detail) for a in known_ctx.audit] == \
        [(a.action, a.outcome, a.detail) for a in unknown_ctx.audit]
    assert connector.password_resets == ["anna@example.dk"]  # only a real account gets a mail


async def test_unsubscribe_turns_the_newsletter_off():
    connector = make_connector()
    result = await call(await ctx_for(connector), "unsubscribe", {"email": "Anna@example.dk"})
    assert result.ok
    assert (await connector.customer_by_email("anna@example.dk")).newsletter is False
    assert (await call(await ctx_for(connector), "unsubscribe", {"email": "nobody@example.com"})).ok


# --------------------------------------------------------------------------- audit

AUDITED: list[tuple[str, dict[str, Any]]] = [
    ("verify_order", {"number": "1003", "email": "anna@example.dk"}),
    ("my_orders", {}),
    ("order_status", {"number": "1003"}),
    ("payment_status", {"number": "1013"}),
    ("refund_status", {"number": "1015"}),
    ("resend_invoice", {"number": "1003"}),
    ("cancel_order", {"number": "1001"}),
    ("change_address", {"number": "1001", "line1": "Nygade 1", "zip": "6700", "city": "Esbjerg"}),
    ("change_line", {"number": "1001", "sku": "HT-TEE-NVY-L", "size": "M"}),
    ("create_return", {"number": "1005", "skus": ["HT-TEE-WHT-L"]}),
    ("create_exchange", {"number": "1005", "sku": "HT-CAR-CRM-L", "size": "M"}),
    ("report_defect", {"number": "1019", "sku": "HT-MER-SND-M", "description": "pilling"}),
    ("product_info", {"product": "p101"}),
    ("stock", {"product": "p101", "size": "M"}),
    ("recommend_size", {"product": "p103", "usual_size": "M"}),
    ("check_discount", {"code": "SPAR100"}),
    ("gift_card_balance", {"code": "HAVTORN-GAVE-7Q4M"}),
    ("reset_password", {"email": "anna@example.dk"}),
    ("unsubscribe", {"email": "anna@example.dk"}),
    ("store_facts", {}),
]


def test_the_audit_list_covers_every_tool():
    assert {name for name, _ in AUDITED} == set(REGISTRY)


@pytest.mark.parametrize("name,args", AUDITED, ids=[n for n, _ in AUDITED])
async def test_every_call_is_written_to_the_audit(name, args):
    verified = ("1003", "1013", "1015", "1001", "1005", "1019")
    ctx = await ctx_for(customer="mikkel@example.dk" if name == "my_orders" else None, verified=verified)
    result = await call(ctx, name, args)
    assert result.ok, result.code
    assert [a.action for a in ctx.audit] == [name] and ctx.calls == [name]
    assert ctx.audit[0].outcome == "ok"


async def test_refusals_are_audited_with_their_reason():
    ctx = await ctx_for(verified=("1017", "1006"))
    await call(ctx, "create_return", {"number": "1017", "skus": ["HT-COAT-CAM-L"]})
    await call(ctx, "create_return", {"number": "1006", "skus": ["HT-MER-CHA-S"]})
    await call(ctx, "check_discount", {"code": "SOMMER25"})
    await call(ctx, "order_status", {"number": "1003"})
    assert [(a.action, a.order_number, a.outcome) for a in ctx.audit] == [
        ("create_return", "1017", "over_limit"), ("create_return", "1006", "outside_window"),
        ("check_discount", None, "expired"), ("order_status", "1003", "not_verified")]


@pytest.mark.parametrize("name,args", [
    ("product_info", {"product": "nope"}),
    ("stock", {"product": "nope"}),
    ("recommend_size", {"product": "nope", "usual_size": "M"}),
    ("report_defect", {"number": "1019", "sku": "HT-TOTE-NAT", "description": "strap"}),
])
async def test_calls_for_unknown_things_are_audited_too(name, args):
    ctx = await ctx_for(verified=("1019",))
    result = await call(ctx, name, args)
    assert result.code == "not_found"
    assert [a.action for a in ctx.audit] == [name]
