# Tenant isolation (API.md 1 "Tenancy"): another merchant's objects answer exactly like missing ones.
import pytest

from conftest import assert_error, body_of, new_phone, refund, rule, sale, uniq


@pytest.fixture(scope="module")
def a_world(env):
    """Merchant A's client with points, a catalog coupon, an issued coupon and a sale."""
    A = env.a
    A.settings(active=True, newCustomerSettings=rule("amount", 30))
    phone = new_phone()
    email = uniq("tenant") + "@example.com"
    client = A.create_client(phone=phone, email=email)
    o = A.order(sale(ext=uniq("a-sale"), phone=phone, items=[{"name": "a", "price": 10, "quantity": 2}]))
    cat = A.catalog_coupon()
    inst = A.issue(client["id"], cat["id"])
    return {"client": client, "order": o, "cat": cat, "inst": inst, "phone": phone, "email": email}


def test_b_cannot_read_a_client(B, a_world):
    cid = a_world["client"]["id"]
    assert_error(B.get(f"/clients/{cid}/coupons/"), 404)
    assert_error(B.get(f"/clients/{cid}/balance/"), 404)
    assert_error(B.get(f"/clients/{cid}/"), 404)
    assert_error(B.get(f"/clients/{a_world['client']['token']}/"), 404)
    assert_error(B.post(f"/clients/{cid}/coupons/", {"couponId": a_world["cat"]["id"]}), 404)


def test_b_cannot_read_a_catalog_coupon(B, a_world):
    assert_error(B.get(f"/loyalty/coupons/{a_world['cat']['id']}/"), 404)
    listed = body_of(B.get("/loyalty/coupons/", params={"limit": 1000}))
    assert a_world["cat"]["id"] not in [c["id"] for c in listed]


def test_b_search_never_returns_a_clients(B, a_world):
    for params in ({"phone": a_world["phone"]}, {"email": a_world["email"]}, {"phone": "%"},
                   {"email": "%"}, {"phone": a_world["phone"][:4] + "%"}, {"limit": 1000}):
        found = body_of(B.get("/clients/", params=params))
        assert a_world["client"]["id"] not in [c["id"] for c in found], params


def test_b_cannot_redeem_a_coupon(A, B, a_world):
    B.settings(active=True, newCustomerSettings=rule("amount", 5))
    phone = new_phone()
    B.order(sale(phone=phone))
    r = B.post("/fiscal/orders/", sale(phone=phone, coupons=[a_world["inst"]["id"]]))
    assert_error(r, 400, code="coupon_not_active")
    # A's customer under B's name: still not B's coupon
    r = B.post("/fiscal/orders/", sale(phone=a_world["phone"], coupons=[a_world["inst"]["id"]]))
    assert_error(r, 400, code="coupon_not_active")
    assert A.coupon_ids(a_world["client"]["id"]) == [a_world["inst"]["id"]]


def test_b_cannot_refund_a_sale(A, B, a_world):
    item_id = a_world["order"]["items"][0]["id"]
    assert_error(B.post("/fiscal/orders/", refund([{"id": item_id}])), 400, code="item_not_refundable")
    assert A.balance(a_world["client"]["id"]) == 30


def test_b_cannot_use_a_coupon_in_settings(B, a_world):
    r = B.put("/loyalty/settings/", {"customerSettings": rule("amount", 1, None, a_world["cat"]["id"])})
    assert_error(r, 400, field="customerSettings.couponId")


def test_same_phone_and_external_id_are_separate_per_merchant(A, B, a_world):
    # B's customer with A's phone is B's own client, with B's own balance
    b_client = B.client(a_world["phone"]) if body_of(B.get("/clients/", params={"phone": a_world["phone"]})) \
        else B.create_client(phone=a_world["phone"])
    assert b_client["id"] != a_world["client"]["id"]
    ext = a_world["order"]["externalOrderNumber"]
    r = B.post("/fiscal/orders/", sale(ext=ext, phone=a_world["phone"], items=[{"name": "b", "price": 3, "quantity": 1}]))
    o = body_of(r)
    assert r.headers.get("Idempotent-Replayed") != "true"
    assert o["id"] != a_world["order"]["id"] and o["clientId"] == b_client["id"]
    assert A.balance(a_world["client"]["id"]) == 30
    assert A.client(a_world["phone"])["totalPurchases"] == 1


def test_b_settings_do_not_touch_a(A, B):
    before = body_of(A.get("/loyalty/settings/"))
    B.settings(maxSpendPercent=7, currency="rubles", autoRegisterClients=False)
    assert body_of(A.get("/loyalty/settings/")) == before
