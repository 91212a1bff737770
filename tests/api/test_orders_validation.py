# POST /fiscal/orders/ input validation (API.md 1 money/quantities, 2.4 field rules): every bad
# field is a 400 with the error body naming it, and a rejected order leaves nothing behind.
import json

import pytest

from conftest import D, assert_error, assert_money, body_of, new_phone, sale, uniq

ITEM = {"name": "Item", "price": 10, "quantity": 1}


def with_literals(body, **literals):
    """JSON text of body with each string "@NAME@" replaced by the raw literal given for NAME."""
    text = json.dumps(body, ensure_ascii=False)
    for name, literal in literals.items():
        text = text.replace(f'"@{name}@"', literal)
    return text.encode()


def post_item_literal(A, key, literal, ext=None):
    item = dict(ITEM)
    item[key] = f"@{key}@"
    body = sale(ext=ext or uniq("lit"), items=[item])
    return A.post_raw("/fiscal/orders/", with_literals(body, **{key: literal}))


@pytest.mark.parametrize("literal", ["10.001", "0.005", "-1", "-0.01", "1e13", "10000000000000",
                                     "1000000000000.01", "1E+20", "1e400", "-0"])
def test_bad_price_is_400(A, literal):
    r = post_item_literal(A, "price", literal)
    if literal == "-0":
        # -0 is zero, not a negative amount: either form is acceptable as long as it is exact
        if r.status_code == 200:
            assert_money(body_of(r)["items"][0]["price"], "0")
            return
    assert_error(r, 400, code="validation_failed", field="order.items[0].price")


@pytest.mark.parametrize("literal,printed", [("10.5", "10.5"), ("10.50", "10.5"), ("0", "0"),
                                             ("0.01", "0.01"), ("1234.56", "1234.56"),
                                             ("10.0", "10"), ("1000000000000", "1000000000000"),
                                             ("1e2", "100")])
def test_good_price_is_printed_exactly(A, literal, printed):
    o = body_of(post_item_literal(A, "price", literal))
    assert_money(o["items"][0]["price"], printed)
    assert_money(o["items"][0]["total"], printed)
    assert_money(o["totalAmount"], printed)


@pytest.mark.parametrize("literal", ["0", "0.0", "-1", "1.0001", "0.0001", "1e13", '"1"', "null"])
def test_bad_quantity_is_400(A, literal):
    r = post_item_literal(A, "quantity", literal)
    assert_error(r, 400, code="validation_failed", field="order.items[0].quantity")


@pytest.mark.parametrize("literal,total", [("0.001", "0.01"), ("1.5", "15"), ("2.125", "21.25"), ("3", "30")])
def test_good_quantity(A, literal, total):
    o = body_of(post_item_literal(A, "quantity", literal))
    assert D(str(o["items"][0]["quantity"])) == D(literal)
    assert_money(o["totalAmount"], total)


@pytest.mark.parametrize("unit", ["pieces", "KG", "l", "", "liter", 5])
def test_unit_not_in_list_is_400(A, unit):
    body = sale(items=[dict(ITEM, unit=unit)])
    assert_error(A.post("/fiscal/orders/", body), 400, code="validation_failed", field="order.items[0].unit")


@pytest.mark.parametrize("unit", ["piece", "kg", "g", "L", "ml"])
def test_units_in_list(A, unit):
    o = A.order(sale(items=[dict(ITEM, unit=unit)]))
    assert o["items"][0]["unit"] == unit


def test_unit_defaults_to_piece(A):
    o = A.order(sale(items=[{"name": "x", "price": 1, "quantity": 1}]))
    assert o["items"][0]["unit"] == "piece"


@pytest.mark.parametrize("vat", [-1, 101, 100.5001, "20"])
def test_bad_vat_is_400(A, vat):
    assert_error(A.post("/fiscal/orders/", sale(items=[dict(ITEM, vat=vat)])), 400, field="order.items[0].vat")


@pytest.mark.parametrize("name", ["", "n" * 257, None])
def test_bad_item_name_is_400(A, name):
    item = dict(ITEM)
    if name is None:
        del item["name"]
    else:
        item["name"] = name
    assert_error(A.post("/fiscal/orders/", sale(items=[ITEM, item])), 400, code="validation_failed",
                 field="order.items[1].name")


def test_item_name_of_256_characters_is_accepted(A):
    name = "я" * 256  # characters, not bytes
    o = A.order(sale(items=[dict(ITEM, name=name)]))
    assert o["items"][0]["name"] == name


@pytest.mark.parametrize("ext", ["", "e" * 65, None])
def test_bad_external_id_is_400(A, ext):
    body = sale(ext="placeholder")
    if ext is None:
        del body["order"]["externalId"]
    else:
        body["order"]["externalId"] = ext
    assert_error(A.post("/fiscal/orders/", body), 400, code="validation_failed", field="order.externalId")


def test_external_id_of_64_characters_is_accepted(A):
    ext = uniq("e").ljust(64, "E")
    o = A.order(sale(ext=ext))
    assert o["externalOrderNumber"] == ext


@pytest.mark.parametrize("receipt_type", ["bogus", "SALE", "", None, "return"])
def test_bad_receipt_type_is_400(A, receipt_type):
    body = sale()
    if receipt_type is None:
        del body["order"]["receiptType"]
    else:
        body["order"]["receiptType"] = receipt_type
    assert_error(A.post("/fiscal/orders/", body), 400, code="validation_failed", field="order.receiptType")


@pytest.mark.parametrize("items", ["missing", [], None])
def test_items_empty_or_missing_is_400(A, items):
    body = sale()
    if items == "missing":
        del body["order"]["items"]
    else:
        body["order"]["items"] = items
    assert_error(A.post("/fiscal/orders/", body), 400, code="validation_failed", field="order.items")


def test_order_missing_is_400(A):
    assert_error(A.post("/fiscal/orders/", {"amount": 0}), 400, code="validation_failed", field="order")
    assert_error(A.post("/fiscal/orders/", {}), 400, field="order")


@pytest.mark.parametrize("key,literal", [("amountCard", "-5"), ("amountCash", "1.234"),
                                         ("amountCard", "1e13"), ("amountCash", '"5"')])
def test_bad_paid_amounts_are_400(A, key, literal):
    body = sale()
    body["order"][key] = f"@{key}@"
    r = A.post_raw("/fiscal/orders/", with_literals(body, **{key: literal}))
    assert_error(r, 400, code="validation_failed", field=f"order.{key}")


@pytest.mark.parametrize("literal", ["-1", "0.001", "1e13"])
def test_bad_spend_amount_is_400(A, literal):
    body = sale(phone=new_phone())
    body["amount"] = "@amount@"
    r = A.post_raw("/fiscal/orders/", with_literals(body, amount=literal))
    assert_error(r, 400, code="validation_failed", field="amount")


def test_bad_currency_is_400(A):
    assert_error(A.post("/fiscal/orders/", sale(phone=new_phone(), amount=0, currency="dollars")), 400,
                 code="validation_failed", field="currency")


def test_anonymous_order_with_spend_or_coupons_is_400(A):
    ext = uniq("anon")
    assert_error(A.post("/fiscal/orders/", sale(ext=ext, amount=1)), 400, field="amount")
    assert_error(A.post("/fiscal/orders/", sale(ext=ext, coupons=[1])), 400, field="coupons")
    # zero spend and an empty coupon list are not a spend: accepted, and the id was still free
    o = A.order(sale(ext=ext, amount=0, coupons=[]))
    assert o["clientId"] is None
    assert_money(o["spent"]["amount"], "0")
    assert o["redeemedCoupons"] == []


def test_rejected_order_leaves_nothing_behind(A):
    phone = new_phone()
    ext = uniq("rejected")
    bad = sale(ext=ext, phone=phone, items=[ITEM, dict(ITEM, price=-1)])
    assert_error(A.post("/fiscal/orders/", bad), 400, field="order.items[1].price")
    # the client was not registered by the rejected order
    assert body_of(A.get("/clients/", params={"phone": phone})) == []
    o = A.order(sale(ext=ext, phone=phone))
    assert o["externalOrderNumber"] == ext
    assert o.get("refundOf") is None
