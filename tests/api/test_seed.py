# The seed integration document's example order (seed-integration.ru.md, section 4), sent
# byte for byte as the document prints it, and the seed endpoints' response shapes.
import json

from conftest import (D, HEX32, assert_error, assert_money, body_of, describe, rule)

# Verbatim from the document, trailing spaces included.
SEED_ORDER = (
    '{\n'
    '  "order": {\n'
    '     "receiptType": "sale", \n'
    '     "amountCard": 20,\n'
    '     "amountCash": 10,\n'
    '     "customerEmail": "test@test.com",\n'
    '     "customerPhone": "791234567890",\n'
    '     "externalId": "12345678",\n'
    '     "items": [{\n'
    '       "price": 10, \n'
    '         "quantity": 1, \n'
    '         "unit": "piece", \n'
    '         "vat": 20, \n'
    '         "name": "Капучино"\n'
    '     }]\n'
    '  },\n'
    '  "amount": 10,\n'
    '  "currency": "points",\n'
    '  "coupons": [1, 2]\n'
    '}\n'
).encode("utf-8")

SEED_PHONE = "791234567890"

CLIENT_KEYS = {"id", "email", "phone", "name", "avatarUrl", "paidPurchases", "totalPurchases",
               "averageBill", "totalPurchasesAmount", "paidPurchasesAmount", "positiveReviews",
               "neutralReviews", "negativeReviews", "token"}


def assert_client_shape(c):
    assert CLIENT_KEYS <= set(c), sorted(c)
    for k in ("paidPurchases", "totalPurchases", "positiveReviews", "neutralReviews", "negativeReviews"):
        assert isinstance(c[k], int) and not isinstance(c[k], bool) and c[k] >= 0, (k, c[k])
    for k in ("averageBill", "totalPurchasesAmount", "paidPurchasesAmount"):
        D(str(c[k]))
    assert isinstance(c["id"], int) and c["id"] > 0
    assert HEX32.match(c["token"]), c["token"]


def test_seed_order_verbatim_with_foreign_coupons_is_coupon_not_active(A):
    # Fund the seed customer first, so that the spend of 10 is covered and the coupons
    # (ids 1 and 2, which are not this client's) are what the order fails on.
    A.settings(active=True, currency="points", newCustomerSettings=rule("amount", 50),
               customerSettings=rule("percentage", 5))
    fund = A.order({"order": {"externalId": "seed-fund", "receiptType": "sale", "customerPhone": SEED_PHONE,
                              "items": [{"name": "Эспрессо", "price": 100, "quantity": 1}]}})
    assert_money(fund["accrued"]["amount"], "50")
    client = A.client(SEED_PHONE)
    assert_client_shape(client)
    assert A.balance(client["id"]) == 50

    r = A.post_raw("/fiscal/orders/", SEED_ORDER)
    body = assert_error(r, 400, code="coupon_not_active")
    assert "1" in body["message"] or "2" in body["message"], describe(r)

    # nothing done: balance and statistics unchanged
    assert A.balance(client["id"]) == 50
    after = A.client(SEED_PHONE)
    assert after["totalPurchases"] == client["totalPurchases"] == 1


def test_seed_order_without_coupons_is_accepted(A):
    client = A.client(SEED_PHONE)
    balance_before = A.balance(client["id"])
    assert balance_before == 50, "depends on the previous test's funding"
    text = SEED_ORDER.replace(b',\n  "coupons": [1, 2]\n', b"\n")
    assert b"coupons" not in text
    json.loads(text)
    o = body_of(A.post_raw("/fiscal/orders/", text))
    assert o["externalOrderNumber"] == "12345678"
    assert isinstance(o["orderNumber"], str) and o["orderNumber"]
    assert isinstance(o["id"], int) and o["id"] > 0
    assert o["receiptType"] == "sale"
    assert o["clientId"] == client["id"]
    assert_money(o["totalAmount"], "10")
    assert o["spent"] == {"amount": 10, "currency": "points"}
    assert_money(o["spent"]["amount"], "10")
    # customerSettings: 5 % of amountCard + amountCash = 30, but never of more than the item
    # total (10): paid money above it accrues nothing (issue 12 B10)
    assert_money(o["accrued"]["amount"], "0.5")
    assert o["accrued"]["currency"] == "points"
    assert o["redeemedCoupons"] == [] and o["issuedCoupons"] == []
    [item] = o["items"]
    assert item["name"] == "Капучино"
    assert_money(item["price"], "10")
    assert D(str(item["quantity"])) == 1
    assert item["unit"] == "piece"
    assert D(str(item["vat"])) == 20
    assert_money(item["total"], "10")
    assert isinstance(item["id"], int) and item["id"] > 0
    assert isinstance(o["publicURL"], str) and o["publicURL"]
    assert isinstance(o["orderDate"], int)

    assert A.balance(client["id"]) == D("40.5")
    c = A.client(SEED_PHONE)
    assert c["totalPurchases"] == 2
    assert c["paidPurchases"] == 1
    assert_money(c["totalPurchasesAmount"], "110")
    assert_money(c["paidPurchasesAmount"], "30")
    assert_money(c["averageBill"], "55")

    # the POS retries the very same bytes: replayed, nothing changes
    r = A.post_raw("/fiscal/orders/", text)
    assert body_of(r) == o
    assert r.headers.get("Idempotent-Replayed") == "true", describe(r)
    assert A.balance(client["id"]) == D("40.5")


def test_seed_order_without_coupons_and_amount_on_a_fresh_merchant(B):
    text = SEED_ORDER.replace(b',\n  "coupons": [1, 2]\n', b"\n").replace(b'  "amount": 10,\n', b"")
    assert b"coupons" not in text and b'"amount"' not in text
    o = body_of(B.post_raw("/fiscal/orders/", text))
    assert o["externalOrderNumber"] == "12345678"
    assert_money(o["totalAmount"], "10")
    assert_money(o["spent"]["amount"], "0")
    assert_money(o["accrued"]["amount"], "0")  # B's program is not active
    # the unknown customer was registered on the spot (autoRegisterClients defaults to true)
    c = B.client(SEED_PHONE)
    assert_client_shape(c)
    assert o["clientId"] == c["id"]
    assert c["phone"] == SEED_PHONE
    assert c["totalPurchases"] == 1 and c["paidPurchases"] == 1
    assert_money(c["paidPurchasesAmount"], "30")
    body = body_of(B.get(f"/clients/{c['id']}/balance/"))
    assert body == [{"amount": 0, "currency": "points"}, {"amount": 0, "currency": "rubles"}]


def test_seed_balance_shape(A):
    c = A.client(SEED_PHONE)
    r = A.get(f"/clients/{c['id']}/balance/")
    body = body_of(r)
    assert [e["currency"] for e in body] == ["points", "rubles"], describe(r)
    assert [set(e) for e in body] == [{"amount", "currency"}] * 2
    assert_money(body[0]["amount"], "40.5")
    assert_money(body[1]["amount"], "0")
