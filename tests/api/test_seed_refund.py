# Refunds as a POS following only the seed document sends them (issue 12 A, API.md 2.4 and 3.3):
# the seed's sale example, then refund receipts under the sale's externalId with items written
# like sale items, matched to the sale's lines by Id, name and price, or a unique name; one
# refund per (externalId, fd). Also "refunded in full" by quantity (B3) and a hold's coupons
# never revived by a refund (B7). Every module's Env runs `kopilkad check` when it closes.
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import (D, Env, assert_error, assert_money, body_of, database_for, describe, new_phone, refund,
                      rule, sale, uniq)
from schema_undo import undo_migration_10
from test_seed import SEED_ORDER

ORDERS = "/fiscal/orders/"
HOLD = "/fiscal_hub/cash_back/hold/"
WRITE_OFF = "/fiscal_hub/cash_back/hold/write_off/"


def seed_sale_text(ext, phone, coupons):
    """The seed document's example byte for byte, but for what must be unique per test: the
    externalId, the phone, the email (the customer is found by phone, else by email) and the
    coupon ids (instances of this client)."""
    text = SEED_ORDER
    for old, new in ((b'"externalId": "12345678"', f'"externalId": "{ext}"'.encode()),
                     (b'"customerPhone": "791234567890"', f'"customerPhone": "{phone}"'.encode()),
                     (b'"customerEmail": "test@test.com"', f'"customerEmail": "{ext}@test.com"'.encode()),
                     (b'"coupons": [1, 2]', f'"coupons": {json.dumps(coupons)}'.encode())):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def seed_refund(ext, items, fd=None, **order):
    """A refund receipt as the seed document describes one: receiptType refund, the sale's
    externalId, items written like sale items."""
    body = {"order": {"receiptType": "refund", "externalId": ext, "items": items, **order}}
    if fd is not None:
        body["order"]["fd"] = fd
    return body


def funded(A, points, customer_rule):
    """A new client whose first sale accrued `points` (no expiry); later sales accrue by
    customer_rule."""
    A.settings(active=True, currency="points", maxSpendPercent=100, autoRegisterClients=True,
               newCustomerSettings=rule("amount", points), customerSettings=customer_rule)
    phone = new_phone()
    cid = A.order(sale(phone=phone, items=[{"name": "first", "price": 1, "quantity": 1}]))["clientId"]
    assert A.balance(cid) == points
    return cid, phone


def items_of(A, order_id):
    return body_of(A.get(f"/fiscal/orders/{order_id}/items/"))


def test_the_seed_sale_example_then_its_refund_in_the_seed_form(A):
    cid, phone = funded(A, 50, rule("percentage", 5))
    cat = A.catalog_coupon()
    c1, c2 = A.issue(cid, cat["id"])["id"], A.issue(cid, cat["id"])["id"]
    ext = uniq("seed")
    r = A.post_raw(ORDERS, seed_sale_text(ext, phone, [c1, c2]))
    s = body_of(r)
    assert s["redeemedCoupons"] == [c1, c2]
    assert_money(s["spent"]["amount"], "10")
    assert_money(s["accrued"]["amount"], "1.5")  # 5 % of amountCard + amountCash = 30
    [line] = s["items"]
    assert line["productId"] is None  # the example has no items.Id
    assert A.balance(cid) == D("41.5")
    assert A.coupon_ids(cid) == []
    before = A.client(phone)
    assert before["totalPurchases"] == 2

    # the seed's refund: the sale's externalId, the item as the sale wrote it
    item = {"price": 10, "quantity": 1, "unit": "piece", "vat": 20, "name": "Капучино"}
    body = seed_refund(ext, [item])
    rf = A.order(body)
    assert rf["receiptType"] == "refund" and rf["externalOrderNumber"] == ext
    assert rf["refundOf"] == s["id"]
    assert [i["refundOfItem"] for i in rf["items"]] == [line["id"]]
    assert_money(rf["totalAmount"], "10")
    assert_money(rf["accrued"]["amount"], "-1.5")
    assert_money(rf["spent"]["amount"], "-10")
    # exactly back where the client stood, the coupons usable again
    assert A.balance(cid) == 50
    assert A.coupon_ids(cid) == [c1, c2]
    after = A.client(phone)
    assert after["totalPurchases"] == 1 and after["paidPurchases"] == before["paidPurchases"] - 1
    assert_money(after["totalPurchasesAmount"], "1")

    # the POS retries the very same receipt: replayed, nothing changes
    again = A.post(ORDERS, body)
    assert body_of(again) == rf
    assert again.headers.get("Idempotent-Replayed") == "true", describe(again)
    assert A.balance(cid) == 50
    # another receipt for the same line (its own fd): nothing remains of it
    assert_error(A.post(ORDERS, seed_refund(ext, [item], fd="2")), 400, code="item_not_refundable",
                 field="order.items[0].quantity")
    assert A.balance(cid) == 50


def test_partial_refunds_with_and_without_id_each_with_its_own_fd(A):
    cid, phone = funded(A, 100, rule("percentage", 10))
    ext = uniq("sale")
    s = A.order(sale(ext=ext, phone=phone, card=360, amount=40, items=[
        {"Id": "SKU-1", "name": "Капучино", "price": 150, "quantity": 2, "vat": 20},
        {"Id": 7, "name": "Круассан", "price": 100, "quantity": 1}]))
    assert_money(s["totalAmount"], "400")
    assert_money(s["accrued"]["amount"], "36")  # 10 % of 360
    assert [i["productId"] for i in s["items"]] == ["SKU-1", "7"]  # an integer as its decimal text
    assert [i["productId"] for i in items_of(A, s["id"])] == ["SKU-1", "7"]
    assert A.balance(cid) == 96
    sku1, croissant = (i["id"] for i in s["items"])

    # 1. one of the two cappuccinos, by Id (the name as the till prints it differs)
    body1 = seed_refund(ext, [{"Id": "SKU-1", "name": "КАПУЧИНО ", "price": 150, "quantity": 1}], fd="r1",
                        amountCard=150)
    r1 = A.order(body1)
    assert [i["refundOfItem"] for i in r1["items"]] == [sku1]
    assert [i["productId"] for i in r1["items"]] == ["SKU-1"]
    assert_money(r1["totalAmount"], "150")
    assert_money(r1["accrued"]["amount"], "-13.5")  # 36 × 150/400
    assert_money(r1["spent"]["amount"], "-15")      # 40 × 150/400
    assert A.balance(cid) == D("97.5")
    # a retry replays it
    again = A.post(ORDERS, body1)
    assert body_of(again) == r1 and again.headers.get("Idempotent-Replayed") == "true", describe(again)
    # another body under the same externalId and fd: 409, saying what to send instead
    other = seed_refund(ext, [{"Id": "SKU-1", "name": "Капучино", "price": 150, "quantity": 1}], fd="r1")
    body = assert_error(A.post(ORDERS, other), 409, code="order_conflict", field="order.fd")
    assert "own order.fd" in body["message"] and "kopilka's form" in body["message"], body
    assert A.balance(cid) == D("97.5")
    # no fd at all is one identity too
    r_nofd = seed_refund(ext, [{"name": "Круассан", "price": 100, "quantity": 1}])
    body_nofd = A.order(r_nofd)
    assert [i["refundOfItem"] for i in body_nofd["items"]] == [croissant]
    conflict = assert_error(A.post(ORDERS, seed_refund(ext, [{"Id": "SKU-1", "name": "x", "price": 150,
                                                                 "quantity": 1}])),
                            409, code="order_conflict", field="order.fd")
    assert "no fd" in conflict["message"], conflict
    assert_money(body_nofd["accrued"]["amount"], "-9")   # 36 × 250/400 = 22.5, less 13.5
    assert_money(body_nofd["spent"]["amount"], "-10")    # 40 × 250/400 = 25, less 15

    # 2. more than remains of the line: 400 naming the quantity, nothing done
    too_many = seed_refund(ext, [{"Id": "SKU-1", "name": "Капучино", "price": 150, "quantity": 2}], fd="r3")
    msg = assert_error(A.post(ORDERS, too_many), 400, code="item_not_refundable",
                       field="order.items[0].quantity")["message"]
    assert "only 1 " in msg, msg
    # two items of one receipt cannot take the same quantity twice
    twice = seed_refund(ext, [{"Id": "SKU-1", "name": "Капучино", "price": 150, "quantity": 1}] * 2, fd="r3")
    assert_error(A.post(ORDERS, twice), 400, code="item_not_refundable", field="order.items[1].quantity")
    assert A.balance(cid) == D("98.5")

    # 3. the rest: the sale is refunded in full; the points moved back exactly
    r3 = A.order(seed_refund(ext, [{"Id": "SKU-1", "name": "Капучино", "price": 150, "quantity": 1}], fd="r3"))
    assert_money(r3["accrued"]["amount"], "-13.5")
    assert_money(r3["spent"]["amount"], "-15")
    taken = -sum(D(str(x["accrued"]["amount"])) for x in (r1, body_nofd, r3))
    returned = -sum(D(str(x["spent"]["amount"])) for x in (r1, body_nofd, r3))
    assert taken == 36 and returned == 40
    assert A.balance(cid) == 100
    assert A.client(phone)["totalPurchases"] == 1
    # the refunds are orders of their own, each with its fd, all under the sale's externalId
    listed = body_of(A.get(ORDERS, params={"client_id": cid, "receipt_type": "refund"}))
    assert sorted(o["externalOrderNumber"] for o in listed) == [ext] * 3


def test_unmatched_and_ambiguous_items_are_400_naming_the_item(A):
    A.settings(active=False)
    ext = uniq("sale")
    s = A.order(sale(ext=ext, phone=new_phone(), items=[
        {"name": "Latte", "price": 200, "quantity": 1},
        {"name": "Latte", "price": 250, "quantity": 1},
        {"name": "Bun", "price": 50, "quantity": 2}]))
    l200, l250, bun = (i["id"] for i in s["items"])

    body = assert_error(A.post(ORDERS, seed_refund(ext, [{"name": "Espresso", "price": 100, "quantity": 1}])),
                        400, code="item_not_refundable", field="order.items[0]")
    assert ext in body["message"], body
    # two lattes at other prices: a latte at a third price could be either
    body = assert_error(A.post(ORDERS, seed_refund(ext, [{"name": "Bun", "price": 50, "quantity": 1},
                                                         {"name": "latte", "price": 220, "quantity": 1}])),
                        400, code="item_not_refundable", field="order.items[1]")
    assert "lines 1 and 2" in body["message"], body
    # an Id the sale never had, on lines without ids, falls back to the name: still ambiguous
    assert_error(A.post(ORDERS, seed_refund(ext, [{"Id": "L", "name": "Latte", "price": 1, "quantity": 1}])),
                 400, code="item_not_refundable", field="order.items[0]")
    # nothing was refunded by the failures
    assert all(i["quantity"] == 1 or i["quantity"] == 2 for i in items_of(A, s["id"]))

    # name and price pick one latte; a name only one line has picks the bun at any price
    r = A.order(seed_refund(ext, [{"name": " LATTE", "price": 250, "quantity": 1},
                                  {"name": "bun", "price": 45, "quantity": 0.5}], fd="1"))
    assert [i["refundOfItem"] for i in r["items"]] == [l250, bun]
    assert_money(r["totalAmount"], "275")  # the sale's prices: 250 + 0.5 × 50
    # the other latte is now unique by name and price
    r = A.order(seed_refund(ext, [{"name": "latte", "price": 200, "quantity": 1}], fd="2"))
    assert [i["refundOfItem"] for i in r["items"]] == [l200]


def test_unknown_sale_is_404_naming_it(A):
    ext = uniq("never-sold")
    body = assert_error(A.post(ORDERS, seed_refund(ext, [{"name": "Tea", "price": 1, "quantity": 1}])),
                        404, code="not_found", field="order.externalId")
    assert ext in body["message"], body
    # another merchant's sale is as unknown
    ext_b = uniq("b-sale")
    A.env.b.order(sale(ext=ext_b))
    assert_error(A.post(ORDERS, seed_refund(ext_b, [{"name": "Item", "price": 100, "quantity": 1}])), 404,
                 code="not_found")


def test_the_two_forms_are_not_mixed_and_kopilkas_form_still_works(A):
    A.settings(active=False)
    ext = uniq("sale")
    s = A.order(sale(ext=ext, phone=new_phone(), items=[{"name": "Tea", "price": 10, "quantity": 1, "Id": "T"},
                                                       {"name": "Cake", "price": 20, "quantity": 1}]))
    tea, cake = (i["id"] for i in s["items"])
    assert_error(A.post(ORDERS, seed_refund(ext, [{"id": tea}, {"name": "Cake", "price": 20, "quantity": 1}])),
                 400, code="validation_failed", field="order.items[1]")
    assert_error(A.post(ORDERS, seed_refund(ext, [{"name": "Cake", "price": 20, "quantity": 1}, {"id": cake}])),
                 400, code="validation_failed", field="order.items[1]")
    # Id and productId are one field
    assert_error(A.post(ORDERS, sale(items=[{"name": "x", "price": 1, "quantity": 1, "Id": "a",
                                             "productId": "b"}])),
                 400, field="order.items[0].productId")
    assert_error(A.post(ORDERS, sale(items=[{"name": "x", "price": 1, "quantity": 1, "Id": "x" * 65}])),
                 400, field="order.items[0].Id")
    assert_error(A.post(ORDERS, sale(items=[{"name": "x", "price": 1, "quantity": 1, "Id": 1.5}])),
                 400, field="order.items[0].Id")
    same = A.order(sale(items=[{"name": "x", "price": 1, "quantity": 1, "Id": "a", "productId": "a"}]))
    assert same["items"][0]["productId"] == "a"
    # the seed's form for the tea, kopilka's form (own externalId, item id) for the cake
    r1 = A.order(seed_refund(ext, [{"Id": "T", "name": "Tea", "price": 10, "quantity": 1}], fd="9"))
    assert [i["refundOfItem"] for i in r1["items"]] == [tea]
    r2 = A.order(refund([{"id": cake}]))
    assert [i["refundOfItem"] for i in r2["items"]] == [cake]
    assert_error(A.post(ORDERS, refund([{"id": tea}])), 400, code="item_not_refundable")


# --- B3: refunded in full is by the quantity of every line ----------------------------------------

def coupon_sale(A, items):
    """A client with a coupon instance, redeemed by a sale of `items`."""
    A.settings(active=False)
    phone = new_phone()
    cid = A.create_client(phone=phone)["id"]
    c = A.issue(cid, A.catalog_coupon()["id"])["id"]
    ext = uniq("sale")
    s = A.order(sale(ext=ext, phone=phone, coupons=[c], items=items))
    assert s["redeemedCoupons"] == [c] and A.coupon_ids(cid) == []
    return cid, phone, c, ext, s


def test_refund_of_the_priced_line_alone_does_not_revive_the_coupon_kopilka_form(A):
    cid, phone, c, ext, s = coupon_sale(A, [{"name": "sandwich", "price": 100, "quantity": 1},
                                            {"name": "coffee", "price": 0, "quantity": 1}])
    sandwich, coffee = (i["id"] for i in s["items"])
    A.order(refund([{"id": sandwich}]))
    # all the money is back, but the coffee is not: the coupon stays redeemed
    assert A.coupon_ids(cid) == []
    assert A.client(phone)["totalPurchases"] == 1
    A.order(refund([{"id": coffee}]))
    assert A.coupon_ids(cid) == [c]
    assert A.client(phone)["totalPurchases"] == 0


def test_refund_of_the_priced_line_alone_does_not_revive_the_coupon_seed_form(A):
    cid, phone, c, ext, s = coupon_sale(A, [{"name": "sandwich", "price": 100, "quantity": 1},
                                            {"name": "coffee", "price": 0, "quantity": 1}])
    A.order(seed_refund(ext, [{"name": "sandwich", "price": 100, "quantity": 1}], fd="1"))
    assert A.coupon_ids(cid) == []
    A.order(seed_refund(ext, [{"name": "coffee", "price": 0, "quantity": 1}], fd="2"))
    assert A.coupon_ids(cid) == [c]


def test_a_sale_of_total_zero_is_refunded_in_full_only_by_quantity(A):
    cid, funded_phone = funded(A, 20, rule("amount", 5))
    c = A.issue(cid, A.catalog_coupon()["id"])["id"]
    ext = uniq("sale")
    s = A.order(sale(ext=ext, phone=funded_phone, coupons=[c], items=[
        {"name": "coffee", "price": 0, "quantity": 1}, {"name": "water", "price": 0, "quantity": 2}]))
    assert_money(s["accrued"]["amount"], "5")
    assert A.balance(cid) == 25
    coffee, water = (i["id"] for i in s["items"])
    r = A.order(refund([{"id": water}]))
    assert_money(r["accrued"]["amount"], "0")  # not refunded in full yet: nothing moves
    assert A.coupon_ids(cid) == [] and A.balance(cid) == 25
    assert A.client(funded_phone)["totalPurchases"] == 2
    r = A.order(refund([{"id": coffee}]))
    assert_money(r["accrued"]["amount"], "-5")
    assert A.coupon_ids(cid) == [c] and A.balance(cid) == 20
    assert A.client(funded_phone)["totalPurchases"] == 1


# --- B7: a hold's coupons never come back through a refund ---------------------------------------

def test_fiscal_order_id_links_a_hold_only_to_a_sale_of_its_client(A):
    cid, phone = funded(A, 100, rule("amount", 0))
    c = A.issue(cid, A.catalog_coupon()["id"])["id"]
    other_ext, anon_ext, own_ext = uniq("other"), uniq("anon"), uniq("own")
    A.order(sale(ext=other_ext, phone=new_phone()))
    A.order(sale(ext=anon_ext))
    h = body_of(A.post(HOLD, {"clientId": cid, "currency": "points", "amount": 10, "couponIds": [c]}))
    for ext in (other_ext, anon_ext):
        body = assert_error(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": ext}), 409,
                            code="order_not_of_client", field="fiscalOrderId")
        assert ext in body["message"], body
    # nothing was written off: the hold is still active and can go to the client's own sale
    own = A.order(sale(ext=own_ext, phone=phone))
    w = body_of(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": own_ext}))
    assert w["status"] == "written_off" and w["orderId"] == own["id"]
    # a fiscalOrderId that names no sale is stored as given
    h2 = body_of(A.post(HOLD, {"clientId": cid, "currency": "points", "amount": 1}))
    w2 = body_of(A.post(WRITE_OFF, {"transactionId": h2["transactionId"], "fiscalOrderId": uniq("none")}))
    assert w2["orderId"] is None


def test_a_refund_never_revives_the_coupons_a_hold_redeemed(A):
    cid, phone = funded(A, 100, rule("amount", 0))
    c = A.issue(cid, A.catalog_coupon()["id"])["id"]
    ext = uniq("sale")
    s = A.order(sale(ext=ext, phone=phone))
    h = body_of(A.post(HOLD, {"clientId": cid, "currency": "points", "amount": 10, "couponIds": [c]}))
    w = body_of(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": ext}))
    assert w["orderId"] == s["id"]
    assert A.coupon_ids(cid) == []
    # the sale the hold named is refunded in full, in either form: the coupon stays redeemed,
    # and the hold's points stay spent
    A.order(refund([{"id": s["items"][0]["id"]}]))
    assert A.coupon_ids(cid) == []
    assert A.balance(cid) == 90
    c2 = A.issue(cid, A.catalog_coupon()["id"])["id"]
    ext2 = uniq("sale")
    A.order(sale(ext=ext2, phone=phone))
    h2 = body_of(A.post(HOLD, {"clientId": cid, "currency": "points", "amount": 0, "couponIds": [c2]}))
    body_of(A.post(WRITE_OFF, {"transactionId": h2["transactionId"], "fiscalOrderId": ext2}))
    A.order(seed_refund(ext2, [{"name": "Item", "price": 100, "quantity": 1}], fd="1"))
    assert A.coupon_ids(cid) == []
    assert A.balance(cid) == 90


# --- migration 10 on a database made before it ------------------------------------------------

def test_a_database_of_version_9_is_migrated(engine, tmp_path, request):
    """Orders and a hold written off under schema 9 (orders unique by externalId and type, the
    hold's coupon tied to the sale): after migration 10 the old orders replay, the sale takes
    two partial seed-form refunds under its externalId, and the hold's coupon stays redeemed."""
    env = Env(tmp_path, db=database_for(engine, tmp_path, request), engine=engine)
    try:
        A = env.a
        A.settings(active=False)
        phone = new_phone()
        cid = A.create_client(phone=phone)["id"]
        c = A.issue(cid, A.catalog_coupon()["id"])["id"]
        ext = uniq("old")
        body = sale(ext=ext, phone=phone, items=[{"name": "Tea", "price": 10, "quantity": 2}])
        s = A.order(body)
        h = body_of(A.post(HOLD, {"clientId": cid, "currency": "points", "amount": 0, "couponIds": [c]}))
        body_of(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": ext}))
        env.server.stop()
        # back to schema 9, as the previous release left it (its write-off tied the coupon to
        # the sale)
        undo_migration_10(engine, env.db,
                          f"UPDATE coupon_instances SET redeemed_order_id = {s['id']} WHERE id = {c};")
        env.restart()
        assert "migrated database schema to version 10" in env.server.log_tail()
        again = A.post(ORDERS, body)
        assert body_of(again) == s and again.headers.get("Idempotent-Replayed") == "true"
        assert items_of(A, s["id"])[0]["productId"] is None
        A.order(seed_refund(ext, [{"name": "Tea", "price": 10, "quantity": 1}], fd="1"))
        A.order(seed_refund(ext, [{"name": "Tea", "price": 10, "quantity": 1}], fd="2"))
        assert A.client(phone)["totalPurchases"] == 0
        assert A.coupon_ids(cid) == []
    finally:
        env.close()  # kopilkad check


# --- property: any sequence of partial seed-form refunds adds up exactly -------------------------

@st.composite
def sales_and_refunds(draw):
    """Sale lines (distinct names, some with an Id) and an order in which their quantity (in
    halves) is refunded, a few halves per receipt."""
    n = draw(st.integers(1, 3))
    lines = [{"name": f"line {i}", "price": draw(st.integers(0, 5000)) / 100,
              "quantity": draw(st.integers(1, 3)), **({"Id": f"P{i}"} if draw(st.booleans()) else {})}
             for i in range(n)]
    halves = [i for i, line in enumerate(lines) for _ in range(line["quantity"] * 2)]
    order = draw(st.permutations(halves))
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(order) - 1)), max_size=4))))
    receipts = [order[a:b] for a, b in zip([0] + cuts, cuts + [len(order)]) if order[a:b]]
    return lines, receipts, draw(st.integers(0, 3000)) / 100, draw(st.integers(1, 20))


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=sales_and_refunds())
def test_property_partial_seed_refunds_add_up_exactly(A, case):
    lines, receipts, spend, percent = case
    total = sum(D(str(line["price"])) * line["quantity"] for line in lines)
    spend = min(D(str(spend)), total)
    cid, phone = funded(A, 100, rule("percentage", percent))
    c = A.issue(cid, A.catalog_coupon()["id"])["id"]
    ext = uniq("prop")
    s = A.order(sale(ext=ext, phone=phone, items=lines, amount=float(spend), coupons=[c]))
    accrued, spent = D(str(s["accrued"]["amount"])), D(str(s["spent"]["amount"]))
    taken = returned = D(0)
    for n, receipt in enumerate(receipts):
        assert A.coupon_ids(cid) == []
        items = []
        for i in sorted(set(receipt)):
            line = lines[i]
            item = {"name": line["name"].upper(), "price": line["price"], "quantity": receipt.count(i) / 2}
            if "Id" in line:
                item["Id"] = line["Id"]
            items.append(item)
        r = A.order(seed_refund(ext, items, fd=str(n)))
        taken -= D(str(r["accrued"]["amount"]))
        returned -= D(str(r["spent"]["amount"]))
        assert 0 <= taken <= accrued and 0 <= returned <= spent
    assert (taken, returned) == (accrued, spent)
    assert A.balance(cid) == 100
    assert A.coupon_ids(cid) == [c]
    assert A.client(phone)["totalPurchases"] == 1
