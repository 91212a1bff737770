"""Personal data on request (issue 15, 152-FZ): GET /clients/{id}/personal-data/ (everything held
about a client, one JSON file) and POST /clients/{id}/erase/ (the person's data gone in one
transaction, the orders and the ledger kept for accounting), owner only."""
import json
import time
from urllib.parse import urlparse

import pytest

from conftest import (Session, assert_error, body_of, new_phone, refund, rule, sale, uniq)

from test_webhooks import FAST, Receiver, add_endpoint

HOLD = "/fiscal_hub/cash_back/hold/"


def staff(env, api, role):
    """A new employee of api's merchant with role, as a Session."""
    email = f"{uniq(role)}@example.com"
    body_of(api.post("/employees/", {"email": email, "password": "staff-pass-1", "role": role}), 201)
    return Session((email, "staff-pass-1"))


def customer(A, coupon=True):
    """A client with a name, email, two sales (one partly refunded), a coupon, a hold, a manual
    adjustment and a reaction with a comment; returns (client, phone, email, sales)."""
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("amount", 10))
    phone, email = new_phone(), f"{uniq('pd')}@example.com"
    cl = A.create_client(phone=phone, email=email, name="Анна Петрова",
                         avatarUrl="https://img.example/anna.png")
    first = A.order(sale(phone=phone, items=[{"name": "Кофе", "price": 150, "quantity": 2}], card=300))
    second = A.order(sale(phone=phone, amount=20, card=80))
    A.order(refund([{"id": second["items"][0]["id"], "quantity": 1}]))
    body_of(A.post(f"/fiscal/orders/{first['id']}/reaction/",
                   {"reaction": "positive", "comment": "Анна любит капучино"}))
    body_of(A.post(f"/clients/{cl['id']}/balance/adjust/", {"amount": 5, "reason": "сбой кассы"}))
    if coupon:
        cat = A.catalog_coupon(title="Скидка")
        body_of(A.post(f"/clients/{cl['id']}/coupons/", {"couponId": cat["id"]}), 201)
    body_of(A.post(HOLD, {"clientId": cl["id"], "currency": "points", "amount": 3}))
    A.settings(active=False)
    return cl, phone, email, (first, second)


def test_export_holds_everything_about_the_client(env, A, B):
    cl, phone, email, (first, second) = customer(A)
    r = A.get(f"/clients/{cl['id']}/personal-data/")
    doc = body_of(r)
    assert r.headers["Content-Disposition"] == f'attachment; filename="client-{cl["id"]}-personal-data.json"'
    assert r.headers["Content-Type"].startswith("application/json")
    assert doc["client"] == body_of(A.get(f"/clients/{cl['id']}/"))
    assert doc["client"]["phone"] == phone and doc["client"]["name"] == "Анна Петрова"
    assert doc["balance"] == body_of(A.get(f"/clients/{cl['id']}/balance/"))
    # orders (two sales and the refund), each with its items
    got = {o["order"]["id"]: o for o in doc["orders"]}
    assert first["id"] in got and second["id"] in got and len(got) == 3
    assert [i["name"] for i in got[first["id"]]["items"]] == ["Кофе"]
    assert got[first["id"]]["items"] == body_of(A.get(f"/fiscal/orders/{first['id']}/items/"))
    assert got[first["id"]]["order"]["customerComment"] == "Анна любит капучино"
    # the ledger, as the history shows it, and its sum is the balance
    assert doc["ledger"] == body_of(A.get(f"/clients/{cl['id']}/balance/history/", params={"limit": 100}))
    assert any(r.get("reason") == "сбой кассы" for r in doc["ledger"])
    assert [c["status"] for c in doc["coupons"]] == ["issued"]
    assert len(doc["coupons"][0]["coupon"]["token"]) == 32
    assert [(h["amount"], h["status"]) for h in doc["holds"]] == [(3, "active")]
    assert doc["webhookEvents"] == []  # no endpoint: no events
    # another merchant's id is 404, like everywhere
    assert_error(B.get(f"/clients/{cl['id']}/personal-data/"), 404, code="not_found")
    assert_error(A.get("/clients/987654321/personal-data/"), 404, code="not_found")


def test_owner_only(env, A, B):
    cl = A.create_client(phone=new_phone())
    for role in ("manager", "cashier"):
        s = staff(env, A, role)
        assert_error(s.get(env.url(f"/clients/{cl['id']}/personal-data/")), 403, code="forbidden")
        assert_error(s.post(env.url(f"/clients/{cl['id']}/erase/"), json={"confirm": cl["id"]}), 403,
                     code="forbidden")
    assert body_of(A.get(f"/clients/{cl['id']}/"))["phone"] == cl["phone"]
    # another merchant's owner: 404, and nothing erased
    assert_error(B.post(f"/clients/{cl['id']}/erase/", {"confirm": cl["id"]}), 404, code="not_found")
    assert body_of(A.get(f"/clients/{cl['id']}/")) == cl


@pytest.mark.parametrize("body", [{}, {"confirm": None}, {"confirm": 1}, {"confirm": "x"}, {"confirm": True},
                                  {"confirm": [1]}, {"confirm": {"id": 1}}, {"confirm": 1.5}, {"other": 1}])
def test_bad_confirm_is_refused_naming_the_field(A, body):
    cl = A.create_client(phone=new_phone())
    if body.get("confirm") == 1:
        body = {"confirm": cl["id"] + 1}
    r = A.post(f"/clients/{cl['id']}/erase/", body)
    assert_error(r, 400, code="validation_failed", field="confirm")
    assert str(cl["id"]) in r.json()["message"]
    assert body_of(A.get(f"/clients/{cl['id']}/")) == cl


def test_erase_anonymizes_and_keeps_the_accounts(env, A):
    cl, phone, email, (first, second) = customer(A)
    cid = cl["id"]
    before = body_of(A.get(f"/clients/{cid}/personal-data/"))
    old_coupon = before["coupons"][0]["coupon"]
    # confirm as a string
    erased = body_of(A.post(f"/clients/{cid}/erase/", {"confirm": str(cid)}))
    for key in ("phone", "email", "name", "avatarUrl", "token", "cardURL"):
        assert erased[key] is None, key
    assert erased["erased"] is True and erased["erasedAt"] > 0 and erased["id"] == cid
    for key in ("totalPurchases", "paidPurchases", "totalPurchasesAmount", "positiveReviews"):
        assert erased[key] == before["client"][key], key
    assert body_of(A.get(f"/clients/{cid}/")) == erased
    # not found by phone, email or the old token; the card page is gone
    assert body_of(A.get("/clients/", params={"phone": phone})) == []
    assert body_of(A.get("/clients/", params={"email": email})) == []
    assert_error(A.get(f"/clients/{cl['token']}/"), 404)
    assert env.session().get(env.base.split("/ext/")[0] + f"/c/{cl['token']}").status_code == 404
    assert env.session().get(env.base.split("/ext/")[0] + f"/c/{cl['token']}/pass.pkpass").status_code == 404
    # the coupon's tokens and codes are gone, and it is revoked
    for kind, key in (("linked", "token"), ("shared", "shareToken"), ("merchant", "merchantToken")):
        assert_error(A.get("/clients/coupons/", params={"type": kind, "token": old_coupon[key]}), 404)
    after = body_of(A.get(f"/clients/{cid}/personal-data/"))
    assert [c["status"] for c in after["coupons"]] == ["revoked"]
    assert all(after["coupons"][0]["coupon"][k] is None
               for k in ("token", "shareToken", "merchantToken", "merchantShareToken"))
    # orders, items and ledger stay; the customer's comment goes
    assert after["ledger"] == before["ledger"]
    assert after["balance"] == before["balance"]
    assert sum(r["amount"] for r in after["ledger"]) == A.balance(cid)
    assert [o["items"] for o in after["orders"]] == [o["items"] for o in before["orders"]]
    assert [(o["order"]["id"], o["order"]["totalAmount"], o["order"]["orderDate"]) for o in after["orders"]] == \
        [(o["order"]["id"], o["order"]["totalAmount"], o["order"]["orderDate"]) for o in before["orders"]]
    assert all(o["order"]["customerComment"] is None and o["order"]["customerPhone"] is None
               for o in after["orders"])
    assert body_of(A.get(f"/fiscal/orders/{first['id']}/"))["customer"]["erased"] is True
    assert [h["status"] for h in after["holds"]] == ["active"]
    # the receipt page links no card; a later reaction counts but keeps no words
    root = env.base.split("/ext/")[0]
    receipt = env.session().get(root + urlparse(first["publicURL"]).path)
    assert receipt.status_code == 200 and 'href="/c/' not in receipt.text
    body_of(A.post(f"/fiscal/orders/{second['id']}/reaction/", {"reaction": "negative", "comment": "Анна сердится"}))
    assert body_of(A.get(f"/fiscal/orders/{second['id']}/"))["customerComment"] is None
    assert body_of(A.get(f"/clients/{cid}/"))["negativeReviews"] == 1
    assert "Анна" not in json.dumps(after, ensure_ascii=False) and phone not in json.dumps(after)
    # the database passes its check
    p = env.check()
    assert p.returncode == 0, p.stdout + p.stderr


def test_erased_client_takes_no_new_business_and_the_phone_registers_anew(env, A):
    cl, phone, email, (first, second) = customer(A, coupon=False)
    cid = cl["id"]
    cat = A.catalog_coupon(title="Ещё")
    body_of(A.post(f"/clients/{cid}/erase/", {"confirm": cid}))
    for r, field in ((A.post(HOLD, {"clientId": cid, "currency": "points", "amount": 1}), "clientId"),
                     (A.post(f"/clients/{cid}/balance/write_off/", {"balance": [{"amount": 1, "currency": "points"}]}), "id"),
                     (A.post(f"/clients/{cid}/balance/adjust/", {"amount": 5, "reason": "x"}), "id"),
                     (A.post(f"/clients/{cid}/coupons/", {"couponId": cat["id"]}), "id"),
                     (A.put(f"/clients/{cid}/", {"name": "Снова"}), "id")):
        assert_error(r, 409, code="client_erased", field=field)
    # a refund of the erased client's sale still works (accounting)
    A.order(refund([{"id": first["items"][0]["id"], "quantity": 1}]))
    # the same phone and email register a new client, with a new card
    new = A.create_client(phone=phone, email=email, name="Анна")
    assert new["id"] != cid and new["token"] != cl["token"]
    assert body_of(A.get("/clients/", params={"phone": phone})) == [new]
    sold = A.order(sale(phone=phone))
    assert sold["clientId"] == new["id"]
    p = env.check()
    assert p.returncode == 0, p.stdout + p.stderr


def test_a_repeat_is_idempotent(env, A):
    cl = A.create_client(phone=new_phone(), name="Олег")
    first = body_of(A.post(f"/clients/{cl['id']}/erase/", {"confirm": cl["id"]}))
    again = body_of(A.post(f"/clients/{cl['id']}/erase/", {"confirm": str(cl["id"])}))
    assert again == first
    # a wrong confirm is still refused for an erased client
    assert_error(A.post(f"/clients/{cl['id']}/erase/", {"confirm": "0"}), 400, field="confirm")


def deliveries(A, ep):
    return body_of(A.get(f"/webhooks/{ep['id']}/deliveries/", params={"limit": 100}))


def wait_for(cond, what):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_webhook_events_are_scrubbed(make_env):
    # Retries 10 minutes apart: once the client's first event failed its first attempt, none of
    # the client's events is in flight (the later ones wait behind it, in order) until they are
    # sent again on purpose (redeliver), so what is delivered after the erasure is what the
    # outbox holds then.
    flags = list(FAST)
    flags[flags.index("--webhook-retry-base-ms") + 1] = "600000"
    env = make_env(*flags)
    A = env.a
    receiver = Receiver()
    try:
        receiver.down = True  # events wait in the outbox
        ep = add_endpoint(A, receiver)
        phone = new_phone()
        cl = A.create_client(phone=phone, email=f"{uniq('wh')}@example.com", name="Мария")
        A.order(sale(phone=phone))
        before = body_of(A.get(f"/clients/{cl['id']}/personal-data/"))["webhookEvents"]
        assert "client.created" in [e["type"] for e in before]
        assert any(e["data"].get("phone") == phone for e in before)
        wait_for(lambda: deliveries(A, ep)[-1]["attempts"] >= 1, "the first event's attempt")
        body_of(A.post(f"/clients/{cl['id']}/erase/", {"confirm": cl["id"]}))
        after = body_of(A.get(f"/clients/{cl['id']}/personal-data/"))["webhookEvents"]
        assert [e["id"] for e in after[:len(before)]] == [e["id"] for e in before]
        assert after[-1]["type"] == "client.updated" and after[-1]["data"]["erased"] is True
        text = json.dumps(after, ensure_ascii=False)
        assert phone not in text and "Мария" not in text and cl["token"] not in text
        created = [e for e in after if e["type"] == "client.created"][0]["data"]
        assert created["id"] == cl["id"] and created["phone"] is None and created["token"] is None
        order = [e for e in after if e["type"] == "order.created"][0]["data"]
        assert order["customerPhone"] is None and order["customer"]["phone"] is None
        # what is delivered afterwards is the scrubbed data
        receiver.down = False
        for e in after:
            assert A.post(f"/webhooks/events/{e['id']}/redeliver/").status_code == 202
        receiver.wait(lambda evs: {e["id"] for e in evs} >= {e["id"] for e in after}, what="every event")
        delivered = json.dumps(receiver.events, ensure_ascii=False)
        assert phone not in delivered and "Мария" not in delivered
        assert not receiver.bad
    finally:
        receiver.close()
