"""POST /fiscal/orders/create_test/ (API.md 4.2): the same answer as the real order, and the
database exactly as before (compared whole on SQLite; by what the API shows on PostgreSQL)."""
import sqlite3

from conftest import assert_error, body_of, new_phone, refund, rule, sale


def snapshot(env, A, cid):
    state = {"balance": A.balance(cid), "client": body_of(A.get(f"/clients/{cid}/")),
             "coupons": A.coupon_ids(cid),
             "history": body_of(A.get(f"/clients/{cid}/balance/history/"))}
    if env.engine == "sqlite":
        with sqlite3.connect(env.db) as conn:
            state["dump"] = list(conn.iterdump())
    return state


def test_dry_run_answers_like_the_order_and_stores_nothing(env, A):
    cat = A.catalog_coupon(title="Dry coupon")
    A.settings(active=True, newCustomerSettings=rule("amount", 100),
               customerSettings=rule("percentage", 5, coupon_id=cat["id"]))
    phone = new_phone()
    cid = A.order(sale(phone=phone))["clientId"]
    coupon = A.issue(cid, cat["id"])
    body = sale(phone=phone, card=200, amount=40, coupons=[coupon["id"]],
                items=[{"name": "Latte", "price": 240, "quantity": 1}])
    before = snapshot(env, A, cid)
    dry = body_of(A.post("/fiscal/orders/create_test/", body))
    assert snapshot(env, A, cid) == before
    assert dry["spent"] == {"amount": 40, "currency": "points"}
    assert dry["accrued"]["amount"] == 10 and dry["redeemedCoupons"] == [coupon["id"]]
    assert len(dry["issuedCoupons"]) == 1
    # the same rules refuse the same things, and still store nothing
    assert_error(A.post("/fiscal/orders/create_test/", sale(phone=phone, amount=10_000)), 400,
                 code="insufficient_funds")
    assert_error(A.post("/fiscal/orders/create_test/", {"order": {}}), 400, code="validation_failed")
    assert snapshot(env, A, cid) == before
    real = A.order(body)
    for key in ("spent", "accrued", "redeemedCoupons", "totalAmount", "receiptType", "clientId"):
        assert real[key] == dry[key], key
    # a refund can be dry-run too
    before = snapshot(env, A, cid)
    dry_refund = body_of(A.post("/fiscal/orders/create_test/", refund([{"id": real["items"][0]["id"]}])))
    assert dry_refund["accrued"]["amount"] == -10 and dry_refund["spent"]["amount"] == -40
    assert snapshot(env, A, cid) == before
