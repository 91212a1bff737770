# Money read from the JSON text exactly (API.md 1, issue 12 B11) and paid money above the item
# total accruing nothing (issue 12 B10). A number with more fraction digits than a double keeps (1 followed
# by 19 zeros and a 1) used to be taken as the short decimal its double stands for.
import json

import pytest

from conftest import D, assert_error, assert_money, body_of, new_phone, rule, sale, uniq

ITEM = {"name": "Item", "price": 10, "quantity": 1}


def literal_body(body, **literals):
    """JSON text of body with each string "@NAME@" replaced by the raw literal given for NAME."""
    text = json.dumps(body, ensure_ascii=False)
    for name, literal in literals.items():
        assert f'"@{name}@"' in text
        text = text.replace(f'"@{name}@"', literal)
    return text.encode()


def order_with(A, where, literal, card=None):
    item = dict(ITEM, price=100)
    body = sale(ext=uniq("exact"), items=[item], card=card)
    if where == "price":
        item["price"] = "@v@"
    elif where == "quantity":
        item["quantity"] = "@v@"
    elif where == "amountCard":
        body["order"]["amountCard"] = "@v@"
    elif where == "amountCash":
        body["order"]["amountCash"] = "@v@"
    return A.post_raw("/fiscal/orders/", literal_body(body, v=literal))


FIELD = {"price": "order.items[0].price", "quantity": "order.items[0].quantity",
         "amountCard": "order.amountCard", "amountCash": "order.amountCash"}

TOO_PRECISE = ["1.0000000000000000001", "0.1000000000000000000001", "10.001",
               "99.99000000000000000000001", "1.000000000000000000000000000000000000001e1",
               "100.0000000000000000000000000000000000000000000000000000000000001"]


@pytest.mark.parametrize("literal", TOO_PRECISE)
@pytest.mark.parametrize("where", ["price", "amountCard", "amountCash"])
def test_money_with_more_than_two_fraction_digits_is_400(A, where, literal):
    r = order_with(A, where, literal)
    body = assert_error(r, 400, code="validation_failed", field=FIELD[where])
    assert "fraction digits" in body["message"]


@pytest.mark.parametrize("literal", ["1.0000000000000000001", "2.0000000000000000000001",
                                     "1.0001"])
def test_quantity_with_more_than_three_fraction_digits_is_400(A, literal):
    assert_error(order_with(A, "quantity", literal), 400, code="validation_failed",
                 field="order.items[0].quantity")


@pytest.mark.parametrize("literal,printed", [("10.10", "10.1"), ("1e1", "10"), ("100.50", "100.5"),
                                             ("100.00000000000000000000000000", "100"),
                                             ("0.1e2", "10"), ("5000e-2", "50")])
def test_exact_prices_are_taken_exactly(A, literal, printed):
    o = body_of(order_with(A, "price", literal))
    assert_money(o["items"][0]["price"], printed)
    assert_money(o["totalAmount"], printed)


def test_exact_quantity_with_many_zeros(A):
    o = body_of(order_with(A, "quantity", "2.50000000000000000000"))
    assert_money(o["totalAmount"], "250")


@pytest.mark.parametrize("literal", ["1e-400", "1E-400", "123456789012345678901234567890",
                                     "1e400", "-1e-400"])
def test_exponents_and_big_numbers_keep_their_400(A, literal):
    assert_error(order_with(A, "price", literal), 400, code="validation_failed",
                 field="order.items[0].price")


def test_many_reals_in_one_body_each_read_from_its_own_text(A):
    """The pairing of json values and texts holds across nesting and key order: one bad item
    among many is the one named."""
    items = [{"quantity": "@q%d@" % i, "name": "n%d" % i, "vat": 20, "price": "@p%d@" % i}
             for i in range(40)]
    body = {"coupons": [], "order": {"items": items, "externalId": uniq("many"),
                                     "receiptType": "sale", "amountCash": "@cash@"}}
    literals = {"cash": "0.5"}
    for i in range(40):
        literals["p%d" % i] = "%d.25" % i
        literals["q%d" % i] = "1.5"
    literals["p27"] = "27.2500000000000000000001"
    assert_error(A.post_raw("/fiscal/orders/", literal_body(body, **literals)), 400,
                 field="order.items[27].price")
    literals["p27"] = "27.25"
    o = body_of(A.post_raw("/fiscal/orders/", literal_body(body, **literals)))
    for i, it in enumerate(o["items"]):
        assert_money(it["price"], "%d.25" % i)


def test_spend_hold_write_off_and_settings_amounts_are_exact(A):
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("amount", 0))
    phone = new_phone()
    cid = A.order(sale(phone=phone))["clientId"]
    bad = "1.0000000000000000001"
    spend = sale(phone=phone)
    spend["amount"] = "@v@"
    assert_error(A.post_raw("/fiscal/orders/", literal_body(spend, v=bad)), 400, field="amount")
    hold = {"clientId": cid, "currency": "points", "amount": "@v@"}
    assert_error(A.post_raw("/fiscal_hub/cash_back/hold/", literal_body(hold, v=bad)), 400,
                 field="amount")
    w = {"balance": [{"amount": "@v@", "currency": "points"}]}
    assert_error(A.post_raw(f"/clients/{cid}/balance/write_off/", literal_body(w, v=bad)), 400,
                 field="balance[0].amount")
    s = {"newCustomerSettings": {"type": "amount", "amount": "@v@", "couponId": None, "validDays": None}}
    r = A.s.put(A.url("/loyalty/settings/"), data=literal_body(s, v=bad),
                headers={"Content-Type": "application/json"})
    assert_error(r, 400, field="amount")
    assert A.balance(cid) == 100


# ---- B10: paid money above the item total ----
# The seed's own example pays 20 by card and 10 in cash for a total of 10 (test_seed sends it
# verbatim and it must stay accepted), so paid money above the total is taken, but the accrual
# base is never more than the item total: no points out of nothing.

def test_paid_above_item_total_mints_no_points(A):
    A.settings(active=True, newCustomerSettings=rule("percentage", 10), customerSettings=rule("percentage", 10))
    phone = new_phone()
    body = sale(phone=phone, items=[{"name": "Bun", "price": 1, "quantity": 1}], card=999999999999)
    dry = body_of(A.post("/fiscal/orders/create_test/", body))
    assert_money(dry["accrued"]["amount"], "0.1")
    o = A.order(body)
    assert_money(o["accrued"]["amount"], "0.1")  # 10 % of the item total 1, not of 999999999999
    cid = o["clientId"]
    assert A.balance(cid) == D("0.1")
    # card and cash together above the total: the same bound
    o = A.order(sale(phone=phone, items=[{"name": "Bun", "price": 10, "quantity": 1}], card=600, cash=500))
    assert_money(o["accrued"]["amount"], "1")
    # below the total the paid money is the base, as before
    o = A.order(sale(phone=phone, items=[{"name": "Bun", "price": 10, "quantity": 1}], card=6, cash=3))
    assert_money(o["accrued"]["amount"], "0.9")
    assert A.balance(cid) == D("2")


def test_numbers_inside_strings_do_not_shift_the_pairing(A):
    """The scanner skips strings, escaped quotes and backslashes included: numbers written in
    texts do not count as the body's numbers."""
    item = {"name": 'Bun "1.5" \\ 2.0000000000000000001 \\"3.25', "price": "@p@", "quantity": 1.5,
            "vat": 10.0}
    body = sale(ext=uniq("str"), items=[item, dict(ITEM, name="7.5e1")])
    body["order"]["comment"] = "1e999 \\\" -0.000000000000000000001"
    o = body_of(A.post_raw("/fiscal/orders/", literal_body(body, p="12.30")))
    assert_money(o["items"][0]["price"], "12.3")
    assert_money(o["totalAmount"], "28.45")
    r = A.post_raw("/fiscal/orders/", literal_body(dict(body, order=dict(body["order"], externalId=uniq("str"))),
                                                   p="12.3000000000000000001"))
    assert_error(r, 400, field="order.items[0].price")
