# Sales, spends, coupons, accrual, replays and refunds (API.md 2.4, 3.3) and the client statistics
# they keep current (2.1). Each test sets the loyalty settings it relies on.
import json
import time
from decimal import Decimal

from conftest import (D, assert_error, assert_money, body_of, describe, new_phone, refund, rule, sale,
                      uniq)


def program(A, new=None, customer=None, active=True, **more):
    return A.settings(active=active, currency="points", autoRegisterClients=True, maxSpendPercent=100,
                      newCustomerSettings=new or rule("amount", 0), customerSettings=customer or rule("amount", 0),
                      **more)


def funded_client(A, points):
    """A new client whose first sale accrued `points` (no expiry); later sales use customerSettings."""
    phone = new_phone()
    A.settings(active=True, newCustomerSettings=rule("amount", points))
    o = A.order(sale(phone=phone, items=[{"name": "first", "price": 1, "quantity": 1}]))
    assert_money(o["accrued"]["amount"], str(points))
    return phone, o["clientId"]


def item(name="Item", price=10, quantity=1, **kw):
    return dict(name=name, price=price, quantity=quantity, **kw)


def minor(x):
    return int(Decimal(str(x)) * 100)


# --- accrual ----------------------------------------------------------------------------------

def test_first_sale_uses_new_customer_settings_then_customer_settings(A):
    program(A, new=rule("amount", 25), customer=rule("percentage", 5))
    phone = new_phone()
    o1 = A.order(sale(phone=phone, items=[item(price=100)]))
    assert o1["clientId"] is not None
    assert o1["accrued"] == {"amount": 25, "currency": "points"}
    # base = amountCard + amountCash = 123.45; 5 % = 6.1725, rounded down to 6.17
    o2 = A.order(sale(phone=phone, items=[item(price=200)], card=100.01, cash=23.44))
    assert_money(o2["accrued"]["amount"], "6.17")
    # no money paid: base = item total less the spend = 89.99; 5 % = 4.4995 -> 4.49
    o3 = A.order(sale(phone=phone, items=[item(price=99.99)], amount=10))
    assert_money(o3["spent"]["amount"], "10")
    assert_money(o3["accrued"]["amount"], "4.49")
    assert A.balance(o1["clientId"]) == D("25.66")
    assert A.balance(o1["clientId"], "rubles") == 0


def test_small_amounts_add_up_exactly(A):
    program(A, new=rule("amount", 0.1), customer=rule("amount", 0.2))
    phone = new_phone()
    o = A.order(sale(phone=phone, items=[item(price=0.1), item(price=0.2)]))
    assert_money(o["totalAmount"], "0.3")
    A.order(sale(phone=phone, items=[item(price=0.1, quantity=3)]))
    b = body_of(A.get(f"/clients/{o['clientId']}/balance/"))
    assert_money(b[0]["amount"], "0.3")
    c = A.client(phone)
    assert_money(c["totalPurchasesAmount"], "0.6")
    assert_money(c["averageBill"], "0.3")


def test_inactive_program_accrues_nothing(A):
    program(A, new=rule("amount", 25), customer=rule("percentage", 5), active=False)
    o = A.order(sale(phone=new_phone(), items=[item(price=100)], card=100))
    assert_money(o["accrued"]["amount"], "0")
    assert A.balance(o["clientId"]) == 0


def test_rubles_program_accrues_rubles(A):
    program(A, new=rule("amount", 12.5))
    A.settings(currency="rubles")
    try:
        o = A.order(sale(phone=new_phone(), items=[item(price=100)]))
        assert o["accrued"]["currency"] == "rubles"
        assert_money(o["accrued"]["amount"], "12.5")
        assert A.balance(o["clientId"], "rubles") == D("12.5")
        assert A.balance(o["clientId"], "points") == 0
        # spend defaults to the program's currency
        o2 = A.order(sale(phone=_phone_of(A, o["clientId"]), items=[item(price=100)], amount=2.5))
        assert o2["spent"] == {"amount": 2.5, "currency": "rubles"}
        assert A.balance(o["clientId"], "rubles") == D("10")
    finally:
        A.settings(currency="points")


def _phone_of(A, client_id):
    found = [c for c in body_of(A.get("/clients/", params={"limit": 1000})) if c["id"] == client_id]
    assert found, client_id
    return found[0]["phone"]


def test_rule_coupon_is_issued_with_the_sale(A):
    cat = A.catalog_coupon(header="Бесплатный кофе", validDays=7)
    program(A, new=rule("amount", 1, None, cat["id"]))
    o = A.order(sale(phone=new_phone()))
    assert len(o["issuedCoupons"]) == 1
    listed = body_of(A.get(f"/clients/{o['clientId']}/coupons/"))
    assert [c["id"] for c in listed] == o["issuedCoupons"]
    assert listed[0]["title"] == cat["title"] and listed[0]["header"] == "Бесплатный кофе"
    assert "expireDate" in listed[0]


# --- customers --------------------------------------------------------------------------------

def test_customer_found_by_phone_then_email(A):
    program(A, active=False)
    phone = new_phone()
    email = uniq("buyer") + "@example.com"
    c = A.create_client(phone=phone, email=email)
    trunk = "8" + phone[1:]
    assert A.order(sale(phone=f"+{phone[0]} ({phone[1:4]}) {phone[4:7]}-{phone[7:9]}-{phone[9:]}"))["clientId"] == c["id"]
    assert A.order(sale(phone=trunk))["clientId"] == c["id"]
    assert A.order(sale(email=email.upper()))["clientId"] == c["id"]
    # the phone wins over the email
    other = A.create_client(phone=new_phone())
    assert A.order(sale(phone=other["phone"], email=email))["clientId"] == other["id"]
    assert A.client(phone)["totalPurchases"] == 3


def test_unknown_customer_is_registered(A):
    program(A, active=False)
    phone = new_phone()
    o = A.order(sale(phone=phone))
    c = A.client(phone)
    assert o["clientId"] == c["id"]
    assert c["totalPurchases"] == 1
    email = uniq("new") + "@example.com"
    o2 = A.order(sale(email=email))
    found = body_of(A.get("/clients/", params={"email": email}))
    assert [x["id"] for x in found] == [o2["clientId"]]


def test_auto_register_off_makes_unknown_customer_404(A):
    program(A, active=False)
    known = A.create_client(phone=new_phone())
    A.settings(autoRegisterClients=False)
    try:
        phone = new_phone()
        ext = uniq("noreg")
        assert_error(A.post("/fiscal/orders/", sale(ext=ext, phone=phone)), 404, code="unknown_customer")
        assert body_of(A.get("/clients/", params={"phone": phone})) == []
        assert A.order(sale(phone=known["phone"]))["clientId"] == known["id"]
        anon = A.order(sale())
        assert anon["clientId"] is None
    finally:
        A.settings(autoRegisterClients=True)
    assert A.order(sale(ext=ext, phone=phone))["clientId"] is not None


def test_anonymous_sale(A):
    program(A, new=rule("amount", 10), customer=rule("amount", 10))
    o = A.order(sale(items=[item(price=12.3, quantity=2)]))
    assert o["clientId"] is None
    assert_money(o["totalAmount"], "24.6")
    assert_money(o["accrued"]["amount"], "0")
    assert o["redeemedCoupons"] == [] and o["issuedCoupons"] == []


# --- spending ---------------------------------------------------------------------------------

def test_spend_more_than_available_is_insufficient_funds_and_changes_nothing(A):
    program(A)
    phone, cid = funded_client(A, 25)
    before = A.client(phone)
    ext = uniq("tooMuch")
    r = A.post("/fiscal/orders/", sale(ext=ext, phone=phone, amount=25.01))
    assert_error(r, 400, code="insufficient_funds")
    assert A.balance(cid) == 25
    assert A.client(phone) == before
    # the externalId was not used up by the rejected order
    o = A.order(sale(ext=ext, phone=phone, amount=25))
    assert_money(o["spent"]["amount"], "25")
    assert A.balance(cid) == 0
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, amount=0.01)), 400, code="insufficient_funds")


def test_spend_limited_by_max_spend_percent(A):
    program(A)
    phone, cid = funded_client(A, 100)
    A.settings(maxSpendPercent=50)
    try:
        r = A.post("/fiscal/orders/", sale(phone=phone, items=[item(price=20, quantity=2)], amount=20.01))
        assert_error(r, 400)
        assert A.balance(cid) == 100
        o = A.order(sale(phone=phone, items=[item(price=20, quantity=2)], amount=20))
        assert_money(o["spent"]["amount"], "20")
    finally:
        A.settings(maxSpendPercent=100)
    assert A.balance(cid) == 80


def test_spend_from_the_other_currency_is_separate(A):
    program(A)
    phone, cid = funded_client(A, 30)
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, amount=1, currency="rubles")), 400,
                 code="insufficient_funds")
    o = A.order(sale(phone=phone, amount=1, currency="points"))
    assert o["spent"] == {"amount": 1, "currency": "points"}


# --- coupons ----------------------------------------------------------------------------------

def test_redeem_coupon(A):
    program(A)
    phone, cid = funded_client(A, 10)
    cat = A.catalog_coupon()
    keep = A.issue(cid, cat["id"])
    use = A.issue(cid, cat["id"])
    o = A.order(sale(phone=phone, coupons=[use["id"]]))
    assert o["redeemedCoupons"] == [use["id"]]
    assert A.coupon_ids(cid) == [keep["id"]]
    # a redeemed coupon cannot be redeemed again; the whole order is refused
    r = A.post("/fiscal/orders/", sale(phone=phone, amount=5, coupons=[keep["id"], use["id"]]))
    body = assert_error(r, 400, code="coupon_not_active")
    assert str(use["id"]) in body["message"], describe(r)
    assert A.coupon_ids(cid) == [keep["id"]]
    assert A.balance(cid) == 10


def test_coupon_of_another_client_or_unknown_is_not_active(A):
    program(A)
    phone, cid = funded_client(A, 10)
    other = A.create_client(phone=new_phone())
    theirs = A.issue(other["id"], A.catalog_coupon()["id"])
    r = A.post("/fiscal/orders/", sale(phone=phone, coupons=[theirs["id"]]))
    body = assert_error(r, 400, code="coupon_not_active")
    assert str(theirs["id"]) in body["message"]
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, coupons=[999999999])), 400, code="coupon_not_active")
    assert A.coupon_ids(other["id"]) == [theirs["id"]]


def test_failed_spend_does_not_redeem_the_coupon(A):
    program(A)
    phone, cid = funded_client(A, 10)
    inst = A.issue(cid, A.catalog_coupon()["id"])
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, amount=11, coupons=[inst["id"]])), 400,
                 code="insufficient_funds")
    assert A.coupon_ids(cid) == [inst["id"]]
    assert A.balance(cid) == 10


def test_same_coupon_twice_in_one_order_is_refused(A):
    program(A)
    phone, cid = funded_client(A, 10)
    inst = A.issue(cid, A.catalog_coupon()["id"])
    r = A.post("/fiscal/orders/", sale(phone=phone, coupons=[inst["id"], inst["id"]]))
    assert_error(r, 400)
    assert A.coupon_ids(cid) == [inst["id"]]


# --- retries ----------------------------------------------------------------------------------

def test_replay_of_the_same_order(A):
    program(A, customer=rule("percentage", 10))
    phone, cid = funded_client(A, 50)
    body = sale(phone=phone, items=[item("a", 12.5, 2), item("b", 0.1, 3, unit="kg", vat=10)], card=20,
                amount=5)
    r1 = A.post("/fiscal/orders/", body)
    first = body_of(r1)
    assert r1.headers.get("Idempotent-Replayed") != "true"
    balance = A.balance(cid)
    stats = A.client(phone)
    # same body, other key order and spacing: the first answer again, nothing changes
    reordered = {"amount": 5, "order": {k: body["order"][k] for k in reversed(list(body["order"]))}}
    r2 = A.post_raw("/fiscal/orders/", json.dumps(reordered, indent=3).encode())
    assert body_of(r2) == first
    assert r2.headers.get("Idempotent-Replayed") == "true", describe(r2)
    # 5.0 and 5 are the same amount once parsed
    r2b = A.post_raw("/fiscal/orders/", json.dumps(body).replace('"amount": 5}', '"amount": 5.0}').encode())
    assert b'"amount": 5.0}' in r2b.request.body
    assert body_of(r2b) == first
    assert r2b.headers.get("Idempotent-Replayed") == "true", describe(r2b)
    r3 = A.post("/fiscal/orders/", body)
    assert r3.text == r1.text, "a replay must answer the first response" + describe(r3)
    assert r3.headers.get("Idempotent-Replayed") == "true"
    assert A.balance(cid) == balance
    assert A.client(phone) == stats
    # a different body under the same externalId is a conflict
    changed = json.loads(json.dumps(body))
    changed["order"]["items"][0]["price"] = 12.51
    r4 = A.post("/fiscal/orders/", changed)
    assert_error(r4, 409, code="order_conflict")
    changed = json.loads(json.dumps(body))
    changed["amount"] = 4
    assert_error(A.post("/fiscal/orders/", changed), 409, code="order_conflict")
    assert A.balance(cid) == balance


def test_numeric_external_id_is_its_decimal_text(A):
    program(A, active=False)
    number = 12345678 + 1000 * int(uniq("n").split("-")[1])
    body = sale(ext=number, items=[item(price=7)])
    r1 = A.post("/fiscal/orders/", body)
    first = body_of(r1)
    assert first["externalOrderNumber"] == str(number)
    body["order"]["externalId"] = str(number)
    r2 = A.post("/fiscal/orders/", body)
    assert body_of(r2)["id"] == first["id"]
    assert r2.headers.get("Idempotent-Replayed") == "true", describe(r2)


def test_sale_and_refund_with_the_same_external_id_are_different_orders(A):
    program(A, active=False)
    ext = uniq("same")
    s = A.order(sale(ext=ext, items=[item(price=5)]))
    r = A.order(refund([{"id": s["items"][0]["id"]}], ext=ext))
    assert r["id"] != s["id"]
    assert r["receiptType"] == "refund" and r["refundOf"] == s["id"]


# --- refunds ----------------------------------------------------------------------------------

def test_partial_refunds_in_thirds_add_up_exactly(A):
    program(A, new=rule("amount", 100), customer=rule("percentage", 50))
    phone = new_phone()
    cid = A.order(sale(phone=phone, items=[item(price=100)]))["clientId"]
    assert A.balance(cid) == 100
    # item total 30, spend 20: base 10, accrual 5
    s = A.order(sale(phone=phone, items=[item("Tea", 10, 3)], amount=20))
    assert_money(s["accrued"]["amount"], "5")
    assert_money(s["spent"]["amount"], "20")
    assert A.balance(cid) == 85
    assert A.client(phone)["totalPurchases"] == 2
    item_id = s["items"][0]["id"]
    taken, returned = [], []
    for n in range(1, 4):
        r = A.order(refund([{"id": item_id, "quantity": 1}]))
        assert r["receiptType"] == "refund"
        assert r["refundOf"] == s["id"]
        assert r["clientId"] == cid
        assert r["accrued"]["currency"] == "points" and r["spent"]["currency"] == "points"
        assert D(str(r["accrued"]["amount"])) <= 0 and D(str(r["spent"]["amount"])) <= 0
        assert abs(D(str(r["totalAmount"]))) == 10
        taken.append(-D(str(r["accrued"]["amount"])))
        returned.append(-D(str(r["spent"]["amount"])))
        # floor of the cumulative share: never more than the exact share so far
        for got, total in ((taken, 500), (returned, 2000)):
            cum = sum(minor(x) for x in got)
            assert cum == (total * n) // 3, (got, n)
    assert taken == [D("1.66"), D("1.67"), D("1.67")]
    assert returned == [D("6.66"), D("6.67"), D("6.67")]
    assert sum(taken) == 5 and sum(returned) == 20
    assert A.balance(cid) == 100
    # nothing is left to refund
    r = A.post("/fiscal/orders/", refund([{"id": item_id, "quantity": 1}]))
    assert_error(r, 400, code="item_not_refundable")
    r = A.post("/fiscal/orders/", refund([{"id": item_id}]))
    assert_error(r, 400, code="item_not_refundable")
    assert A.balance(cid) == 100
    c = A.client(phone)
    assert c["totalPurchases"] == 1
    assert_money(c["totalPurchasesAmount"], "100")


def test_refund_of_a_spent_sale_returns_points_and_may_go_negative(A):
    program(A, new=rule("amount", 50), customer=rule("amount", 0))
    phone = new_phone()
    first = A.order(sale(phone=phone, items=[item(price=50)]))
    cid = first["clientId"]
    spend = A.order(sale(phone=phone, items=[item(price=80)], amount=30))
    assert A.balance(cid) == 20
    r = A.order(refund([{"id": spend["items"][0]["id"]}]))
    assert_money(r["spent"]["amount"], "-30")
    assert_money(r["accrued"]["amount"], "0")
    assert A.balance(cid) == 50
    # spend everything, then refund the sale that accrued it: the balance goes below zero
    A.order(sale(phone=phone, items=[item(price=60)], amount=50))
    assert A.balance(cid) == 0
    r = A.order(refund([{"id": first["items"][0]["id"]}]))
    assert_money(r["accrued"]["amount"], "-50")
    assert A.balance(cid) == -50
    body = body_of(A.get(f"/clients/{cid}/balance/"))
    assert_money(body[0]["amount"], "-50")
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, amount=1)), 400, code="insufficient_funds")


def test_refund_errors(A):
    program(A, new=rule("amount", 10), customer=rule("amount", 10))
    phone = new_phone()
    s1 = A.order(sale(phone=phone, items=[item("x", 10, 2), item("y", 5, 1)]))
    s2 = A.order(sale(phone=phone, items=[item("z", 7, 1)]))
    cid = s1["clientId"]
    balance = A.balance(cid)
    cases = [
        [{"id": s1["items"][0]["id"]}, {"id": s2["items"][0]["id"]}],  # two sales
        [{"id": 999999999}],  # unknown item
        [{"id": s1["items"][0]["id"], "quantity": 3}],  # more than was sold
        [{"id": s1["items"][0]["id"], "quantity": 1}, {"id": s1["items"][0]["id"], "quantity": 2}],
    ]
    for items in cases:
        r = A.post("/fiscal/orders/", refund(items))
        assert_error(r, 400, code="item_not_refundable")
    assert A.balance(cid) == balance
    assert_error(A.post("/fiscal/orders/", refund([])), 400, field="order.items")
    assert_error(A.post("/fiscal/orders/", refund([{"quantity": 1}])), 400, field="order.items[0].id")
    assert_error(A.post("/fiscal/orders/", refund([{"id": s1["items"][0]["id"], "quantity": 0}])), 400,
                 field="order.items[0].quantity")
    # a refund order's own item is no sale item
    r1 = A.order(refund([{"id": s1["items"][1]["id"]}]))
    assert_error(A.post("/fiscal/orders/", refund([{"id": r1["items"][0]["id"]}])), 400,
                 code="item_not_refundable")
    # the refund is replayed, not applied twice
    body = refund([{"id": s1["items"][0]["id"], "quantity": 1}])
    first = A.order(body)
    again = A.post("/fiscal/orders/", body)
    assert body_of(again) == first and again.headers.get("Idempotent-Replayed") == "true"
    assert A.order(refund([{"id": s1["items"][0]["id"], "quantity": 1}]))["refundOf"] == s1["id"]
    assert_error(A.post("/fiscal/orders/", refund([{"id": s1["items"][0]["id"]}])), 400,
                 code="item_not_refundable")


def test_full_refund_restores_redeemed_and_revokes_issued_coupons(A):
    issued_cat = A.catalog_coupon(title=uniq("reward"))
    program(A, new=rule("amount", 40), customer=rule("amount", 0, None, issued_cat["id"]))
    phone = new_phone()
    cid = A.order(sale(phone=phone, items=[item(price=1)]))["clientId"]
    x = A.issue(cid, A.catalog_coupon()["id"])
    s = A.order(sale(phone=phone, items=[item("A", 50, 1), item("B", 30, 2)], card=110, amount=10,
                     coupons=[x["id"]]))
    assert s["redeemedCoupons"] == [x["id"]]
    [y] = s["issuedCoupons"]
    assert A.coupon_ids(cid) == [y]
    assert A.balance(cid) == 30
    stats = A.client(phone)
    assert stats["totalPurchases"] == 2 and stats["paidPurchases"] == 1
    # part of the sale: coupons stay as they are
    p1 = A.order(refund([{"id": s["items"][0]["id"]}]))
    back1 = -D(str(p1["spent"]["amount"]))
    assert D("4.54") <= back1 <= D("4.55")  # 10 * 50 / 110
    assert A.coupon_ids(cid) == [y]
    assert A.client(phone)["totalPurchases"] == 2
    # the rest: the sale is refunded in full
    p2 = A.order(refund([{"id": s["items"][1]["id"]}]))
    assert back1 - D(str(p2["spent"]["amount"])) == 10
    assert A.balance(cid) == 40
    assert A.coupon_ids(cid) == [x["id"]]
    after = A.client(phone)
    assert after["totalPurchases"] == 1 and after["paidPurchases"] == 0
    assert_money(after["totalPurchasesAmount"], "1")
    assert_money(after["paidPurchasesAmount"], "0")
    assert_money(after["averageBill"], "1")
    # the restored coupon can be redeemed again, the revoked one cannot
    A.settings(customerSettings=rule("amount", 0))
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, coupons=[y])), 400, code="coupon_not_active")
    assert A.order(sale(phone=phone, coupons=[x["id"]]))["redeemedCoupons"] == [x["id"]]


def test_client_statistics_follow_sales_and_refunds(A):
    program(A, active=False)
    phone = new_phone()
    a = A.order(sale(phone=phone, items=[item("a", 50, 2)], card=100))
    A.order(sale(phone=phone, items=[item("b", 30.5, 1)]))
    A.order(sale(phone=phone, items=[item("c", 3.02, 1)], cash=3.02))
    c = A.client(phone)
    assert (c["totalPurchases"], c["paidPurchases"]) == (3, 2)
    assert_money(c["totalPurchasesAmount"], "133.52")
    assert_money(c["paidPurchasesAmount"], "103.02")
    assert_money(c["averageBill"], "44.51")  # 133.52 / 3 = 44.5066...
    assert (c["positiveReviews"], c["neutralReviews"], c["negativeReviews"]) == (0, 0, 0)
    # half of sale a: share 1/2 of its item total and of its money
    A.order(refund([{"id": a["items"][0]["id"], "quantity": 1}]))
    c = A.client(phone)
    assert (c["totalPurchases"], c["paidPurchases"]) == (3, 2)
    assert_money(c["totalPurchasesAmount"], "83.52")
    assert_money(c["paidPurchasesAmount"], "53.02")
    assert_money(c["averageBill"], "27.84")
    # the rest of sale a: it no longer counts
    A.order(refund([{"id": a["items"][0]["id"]}]))
    c = A.client(phone)
    assert (c["totalPurchases"], c["paidPurchases"]) == (2, 1)
    assert_money(c["totalPurchasesAmount"], "33.52")
    assert_money(c["paidPurchasesAmount"], "3.02")
    assert_money(c["averageBill"], "16.76")


def test_order_response_shape(A):
    program(A, active=False)
    o = A.order(sale(phone=new_phone(), items=[item("a", 1.1, 3, unit="kg", vat=20), item("b", 2)],
                     card=5.3))
    assert {"id", "orderNumber", "externalOrderNumber", "receiptType", "orderDate", "totalAmount", "clientId",
            "accrued", "spent", "redeemedCoupons", "issuedCoupons", "items", "publicURL"} <= set(o)
    assert isinstance(o["orderNumber"], str)
    assert_money(o["totalAmount"], "5.3")
    a, b = o["items"]
    assert {"id", "name", "price", "quantity", "unit", "vat", "total"} <= set(a)
    assert a["id"] != b["id"]
    assert_money(a["total"], "3.3")
    assert a["unit"] == "kg" and D(str(a["vat"])) == 20
    assert_money(b["total"], "2")
    assert abs(o["orderDate"] - time.time() * 1000) < 600_000


def test_replay_survives_a_restart(env, A):
    program(A, customer=rule("percentage", 10))
    phone, cid = funded_client(A, 40)
    body = sale(phone=phone, items=[item(price=33.33)], amount=3.33)
    r1 = A.post("/fiscal/orders/", body)
    first = body_of(r1)
    balance = A.balance(cid)
    env.restart()
    r2 = A.post("/fiscal/orders/", body)
    assert body_of(r2) == first
    assert r2.headers.get("Idempotent-Replayed") == "true", describe(r2)
    assert A.balance(cid) == balance
    changed = json.loads(json.dumps(body))
    changed["amount"] = 3.34
    assert_error(A.post("/fiscal/orders/", changed), 409, code="order_conflict")


def test_spend_across_more_lots_than_the_first_read_holds(A):
    # ledger.c reads a client's live lots with room for 16 first and again with more room only
    # when that fills: a client with 40 lots must still spend from all of them, soonest first.
    program(A, new=rule("amount", 1, valid_days=30), customer=rule("amount", 1, valid_days=30))
    phone = new_phone()
    for _ in range(40):
        A.order(sale(phone=phone, items=[item(price=1)]))
    cid = A.client(phone)["id"]
    assert A.balance(cid) == 40
    program(A)  # no accrual from the spending order
    o = A.order(sale(phone=phone, amount=40, items=[item(price=100)]))
    assert_money(o["spent"]["amount"], "40")
    assert A.balance(cid) == 0
    r = A.order(sale(phone=phone, amount=1, items=[item(price=100)]), status=400)
    assert_error(r, 400, code="insufficient_funds")
