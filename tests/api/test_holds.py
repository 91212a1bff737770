# Two-phase spends (API.md 4.3), the fiscal hub refund, the direct write-off (4.1) and shared
# coupons (4.5). Every module's Env runs `kopilkad check` when it closes, so each test here also
# leaves a ledger that passes the invariants (held = active holds, redeemed coupons owned).
import threading
import time
import uuid

import pytest
import requests

from conftest import (OWNER_A, Session, assert_error, assert_money, body_of, new_phone, refund,
                      rule, sale, uniq)

HOLD = "/fiscal_hub/cash_back/hold/"
WRITE_OFF = "/fiscal_hub/cash_back/hold/write_off/"
CANCEL = "/fiscal_hub/cash_back/hold/cancel/"
HUB_REFUND = "/fiscal_hub/cash_back/refund/"
SHARE = "/coupons/share/redeem/"


def funded_client(A, points=100):
    """A client with `points` points in a lot that never expires."""
    A.settings(active=True, newCustomerSettings=rule("amount", points), customerSettings=rule("amount", 0))
    phone = new_phone()
    cid = A.order(sale(phone=phone))["clientId"]
    A.settings(newCustomerSettings=rule("amount", 0))
    assert A.balance(cid) == points
    return cid, phone


def history(A, cid):
    return body_of(A.get(f"/clients/{cid}/balance/history/"))


def hold(A, cid, amount, status=200, **extra):
    body = {"clientId": cid, "currency": "points", "amount": amount}
    body.update(extra)
    r = A.post(HOLD, body)
    return body_of(r) if status == 200 else r


def test_hold_reserves_then_write_off_makes_it_final(env):
    A = env.a
    cid, phone = funded_client(A)
    before = int(time.time() * 1000)
    h = hold(A, cid, 30)
    assert str(uuid.UUID(h["transactionId"])) == h["transactionId"]
    assert h["clientId"] == cid and h["currency"] == "points" and h["status"] == "active"
    assert_money(h["amount"], "30")
    assert h["orderId"] is None and h["fiscalOrderId"] is None
    assert h["balanceId"] == cid * 2
    assert before <= h["transactionDate"] <= before + 60_000
    # 30 days by default
    assert abs(h["expirationDate"] - h["transactionDate"] - 30 * 86400 * 1000) < 1000
    assert A.balance(cid) == 70
    rows = history(A, cid)
    assert rows[0]["type"] == "hold"
    assert_money(rows[0]["amount"], "-30")
    # the reserved points are not available to an order
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, amount=71)), 400, code="insufficient_funds")

    sale_ext = uniq("pos")
    sold = A.order(sale(ext=sale_ext, phone=phone))
    w = body_of(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": sale_ext}))
    assert w["status"] == "written_off" and w["id"] == h["id"]
    assert w["fiscalOrderId"] == sale_ext and w["orderId"] == sold["id"]
    assert A.balance(cid) == 70
    # a repeated write-off answers 200 again; a cancel now is 409
    again = body_of(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": sale_ext}))
    assert again == w
    assert_error(A.post(CANCEL, {"transactionId": h["transactionId"]}), 409, code="hold_not_active",
                 field="transactionId")
    assert A.balance(cid) == 70
    # the hold row stands as the spend: no release row
    assert [r["type"] for r in history(A, cid)].count("release") == 0


def test_cancel_gives_points_and_coupons_back(env):
    A = env.a
    cid, phone = funded_client(A)
    coupon = A.issue(cid, A.catalog_coupon()["id"])
    h = hold(A, cid, 40, couponIds=[coupon["id"]])
    assert h["couponIds"] == [coupon["id"]]
    assert A.balance(cid) == 60
    assert coupon["id"] not in A.coupon_ids(cid)
    assert_error(A.post("/fiscal/orders/", sale(phone=phone, coupons=[coupon["id"]])), 400,
                 code="coupon_not_active")
    # a second hold cannot reserve the same coupon
    assert_error(hold(A, cid, 1, status=400, couponIds=[coupon["id"]]), 400, code="coupon_not_active",
                 field="couponIds[0]")

    c = body_of(A.post(CANCEL, {"transactionId": h["transactionId"]}))
    assert c["status"] == "cancelled"
    assert A.balance(cid) == 100
    assert coupon["id"] in A.coupon_ids(cid)
    rows = history(A, cid)
    assert rows[0]["type"] == "release"
    assert_money(rows[0]["amount"], "40")
    assert body_of(A.post(CANCEL, {"transactionId": h["transactionId"].upper()})) == c
    assert_error(A.post(WRITE_OFF, {"transactionId": h["transactionId"]}), 409, code="hold_not_active")
    # the coupon is usable again, by an order
    A.order(sale(phone=phone, coupons=[coupon["id"]]))


def test_written_off_hold_redeems_its_coupons(env):
    A = env.a
    cid, _ = funded_client(A)
    coupon = A.issue(cid, A.catalog_coupon()["id"])
    h = hold(A, cid, 0, couponIds=[coupon["id"]])
    body_of(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": 12345}))
    assert coupon["id"] not in A.coupon_ids(cid)
    assert_error(A.post(CANCEL, {"transactionId": h["transactionId"]}), 409)
    assert A.balance(cid) == 100


def short_hold(A, amount, expected_balance, issue_coupon=False):
    """A funded client with a hold that expires soon, its effect read back before it expires.

    On a busy machine the hold and the read may take longer than the window: then the read
    proves nothing, so the next, longer window is tried with a new client (no timing is
    asserted; the states are). Returns (cid, phone, hold, coupon, expires_ms)."""
    for window_ms in (800, 3000, 10000):
        cid, phone = funded_client(A)
        coupon = A.issue(cid, A.catalog_coupon()["id"]) if issue_coupon else None
        soon = int(time.time() * 1000) + window_ms
        extra = {"couponIds": [coupon["id"]]} if coupon else {}
        h = hold(A, cid, amount, expirationDate=soon, **extra)
        assert h["expirationDate"] == soon
        balance = A.balance(cid)
        if time.time() * 1000 < soon:
            assert balance == expected_balance
            return cid, phone, h, coupon, soon
    pytest.fail("a hold and one read took over 10 s")


def sleep_past(expires_ms):
    time.sleep(max(0, expires_ms / 1000 - time.time()) + 0.3)


def test_an_expired_hold_is_released_by_itself(env):
    A = env.a
    cid, phone, h, coupon, soon = short_hold(A, 60, 40, issue_coupon=True)
    sleep_past(soon)
    # reads count it as released at once
    assert A.balance(cid) == 100
    assert_error(A.post(WRITE_OFF, {"transactionId": h["transactionId"]}), 409, code="hold_not_active")
    # ... and the write-off attempt wrote its release row
    types = [r["type"] for r in history(A, cid)]
    assert types[0] == "release" and types.count("release") == 1
    assert coupon["id"] in A.coupon_ids(cid)
    c = body_of(A.post(CANCEL, {"transactionId": h["transactionId"]}))
    assert c["status"] == "expired"
    # the points are spendable in full
    A.order(sale(phone=phone, amount=100))
    assert A.balance(cid) == 0


def test_a_sale_releases_expired_holds_before_spending(env):
    A = env.a
    cid, phone, _, _, soon = short_hold(A, 100, 0)
    sleep_past(soon)
    A.order(sale(phone=phone, amount=100))
    assert A.balance(cid) == 0
    types = [r["type"] for r in history(A, cid)]
    assert types[:2] == ["spend", "release"]


def test_the_sweep_writes_the_release_row(env):
    A = env.a
    env.restart("--expire-sweep-seconds", "1")
    cid, _ = funded_client(A)
    soon = int(time.time() * 1000) + 500
    hold(A, cid, 25, expirationDate=soon)
    deadline = time.time() + 10
    while time.time() < deadline:
        if [r["type"] for r in history(A, cid)][0] == "release":
            break
        time.sleep(0.3)
    assert history(A, cid)[0]["type"] == "release"
    assert A.balance(cid) == 100
    env.restart()


def test_hold_validation(env):
    A = env.a
    cid, _ = funded_client(A)
    assert_error(A.post(HOLD, {"currency": "points", "amount": 1}), 400, field="clientId")
    assert_error(A.post(HOLD, {"clientId": "1", "amount": 1}), 400, field="clientId")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 1, "currency": "euro"}), 400, field="currency")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": -1}), 400, field="amount")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 1.001}), 400, field="amount")
    assert_error(A.post(HOLD, {"clientId": cid}), 400, field="amount")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 0, "couponIds": []}), 400, field="amount")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 1, "couponIds": [1, 1]}), 400, field="couponIds[1]")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 1, "couponIds": "1"}), 400, field="couponIds")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 1, "expirationDate": 1}), 400, field="expirationDate")
    assert_error(A.post(HOLD, {"clientId": cid, "amount": 100.01}), 400, code="insufficient_funds", field="amount")
    assert_error(A.post(HOLD, {"clientId": 987654321, "amount": 1}), 404, field="clientId")
    assert_error(A.post(WRITE_OFF, {}), 400, field="transactionId")
    assert_error(A.post(WRITE_OFF, {"transactionId": "not-a-uuid"}), 400, field="transactionId")
    assert_error(A.post(WRITE_OFF, {"transactionId": str(uuid.uuid4())}), 404, field="transactionId")
    assert_error(A.post(CANCEL, {"transactionId": 5}), 400, field="transactionId")
    h = hold(A, cid, 1)
    assert_error(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": {}}), 400,
                 field="fiscalOrderId")
    assert_error(A.post(WRITE_OFF, {"transactionId": h["transactionId"], "fiscalOrderId": "x" * 65}), 400,
                 field="fiscalOrderId")
    body_of(A.post(CANCEL, {"transactionId": h["transactionId"]}))


def test_holds_are_the_merchants_own(env):
    A, B = env.a, env.b
    cid, _ = funded_client(A)
    h = hold(A, cid, 10)
    unknown = str(uuid.uuid4())
    for path in (WRITE_OFF, CANCEL):
        foreign = assert_error(B.post(path, {"transactionId": h["transactionId"]}), 404)
        missing = assert_error(B.post(path, {"transactionId": unknown}), 404)
        assert foreign["message"].replace(h["transactionId"], unknown) == missing["message"]
    foreign = assert_error(B.post(HOLD, {"clientId": cid, "amount": 1}), 404)
    assert foreign["code"] == "not_found"
    assert_error(B.post(f"/clients/{cid}/balance/write_off/", {"balance": [{"amount": 1, "currency": "points"}]}), 404)
    assert A.balance(cid) == 90
    body_of(A.post(CANCEL, {"transactionId": h["transactionId"]}))


def test_hold_with_idempotency_key_replays(env):
    A = env.a
    cid, _ = funded_client(A)
    key = uniq("hold-key")
    body = {"clientId": cid, "currency": "points", "amount": 5}
    first = A.post(HOLD, body, headers={"Idempotency-Key": key})
    second = A.post(HOLD, body, headers={"Idempotency-Key": key})
    assert body_of(first) == body_of(second)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert A.balance(cid) == 95


def test_holds_racing_a_sale_never_both_take_the_points(env):
    A = env.a
    rounds = 12
    clients = [funded_client(A, 100) for _ in range(rounds)]
    results = []
    lock = threading.Lock()

    def do_hold(cid):
        r = Session(OWNER_A).post(env.url(HOLD), json={"clientId": cid, "currency": "points", "amount": 80})
        with lock:
            results.append(("hold", cid, r.status_code))

    def do_sale(phone, cid):
        r = Session(OWNER_A).post(env.url("/fiscal/orders/"), json=sale(phone=phone, amount=80))
        with lock:
            results.append(("sale", cid, r.status_code))

    threads = []
    for cid, phone in clients:
        threads.append(threading.Thread(target=do_hold, args=(cid,)))
        threads.append(threading.Thread(target=do_sale, args=(phone, cid)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for cid, _ in clients:
        statuses = sorted(s for kind, c, s in results if c == cid)
        assert statuses == [200, 400], (cid, results)
        assert A.balance(cid) == 20


def test_query_parameter_auth_on_the_fiscal_hub(env):
    A = env.a
    cid, _ = funded_client(A)
    key = body_of(A.post("/api_keys/"), 201)["key"]
    anon = requests.Session()
    anon.trust_env = False
    url = env.url(HOLD)
    r = anon.post(url, params={"login": OWNER_A[0], "api_key": key},
                  json={"clientId": cid, "currency": "points", "amount": 3})
    h = body_of(r)
    # only an API key: the account's password is refused there (issue 12 B12), also while the
    # server remembers it from Basic auth
    body_of(A.get("/loyalty/settings/"))
    r = anon.post(env.url(CANCEL), params={"login": OWNER_A[0], "api_key": OWNER_A[1]},
                  json={"transactionId": h["transactionId"]})
    assert_error(r, 401, code="unauthorized")
    r = anon.post(env.url(CANCEL), params={"login": OWNER_A[0].upper(), "api_key": key},
                  json={"transactionId": h["transactionId"]})
    assert body_of(r)["status"] == "cancelled"
    wrong_key = key[:-1] + ("1" if key.endswith("0") else "0")  # never the key itself
    r = anon.post(url, params={"login": OWNER_A[0], "api_key": wrong_key},
                  json={"clientId": cid, "amount": 3})
    assert_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")
    # only these endpoints take them
    assert_error(anon.get(env.url("/clients/"), params={"login": OWNER_A[0], "api_key": key}), 401)
    # and the server never logs them
    env.restart()
    log = env.server.log_tail(10**7)
    for folder_file in (env.server.log_path,):
        assert key not in open(folder_file, encoding="utf-8", errors="replace").read()
    assert key not in log


def sold_with_two_items(A, phone, ext=None):
    items = [{"name": "Tea", "price": 120, "quantity": 2}, {"name": "Cake", "price": 80.5, "quantity": 1}]
    return A.order(sale(ext=ext, phone=phone, items=items, amount=50, card=270.5))


def test_hub_refund_equals_a_refund_order(env):
    A = env.a
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("percentage", 10))
    p1, p2 = new_phone(), new_phone()
    for p in (p1, p2):
        A.order(sale(phone=p))  # 100 points to start
    s1, s2 = sold_with_two_items(A, p1), sold_with_two_items(A, p2)
    c1, c2 = s1["clientId"], s2["clientId"]
    assert A.balance(c1) == A.balance(c2)

    by_order = A.order(refund([{"id": it["id"]} for it in s1["items"]]))
    ids = [it["id"] for it in s2["items"]]
    r = A.post(HUB_REFUND, {"orderItems": list(reversed(ids))})
    by_hub = body_of(r)
    for k in ("receiptType", "totalAmount", "accrued", "spent", "refundOf", "clientId"):
        if k in ("refundOf", "clientId"):
            continue
        assert by_hub[k] == by_order[k], k
    assert by_hub["refundOf"] == s2["id"] and by_hub["externalOrderNumber"].startswith("hub-")
    assert A.balance(c1) == A.balance(c2)
    h1 = [(x["type"], x["amount"]) for x in history(A, c1)]
    h2 = [(x["type"], x["amount"]) for x in history(A, c2)]
    assert h1 == h2
    # a retry replays
    again = A.post(HUB_REFUND, {"orderItems": ids})
    assert body_of(again) == by_hub and again.headers.get("Idempotent-Replayed") == "true"
    # a refunded item, an unknown one, items of two sales
    assert_error(A.post(HUB_REFUND, {"orderItems": [ids[0]]}), 400, code="item_not_refundable",
                 field=f"item {ids[0]}")
    assert_error(A.post(HUB_REFUND, {"orderItems": [987654321]}), 400, code="item_not_refundable")
    s3, s4 = A.order(sale(phone=p1)), A.order(sale(phone=p1))
    assert_error(A.post(HUB_REFUND, {"orderItems": [s3["items"][0]["id"], s4["items"][0]["id"]]}), 400,
                 code="item_not_refundable")
    assert_error(A.post(HUB_REFUND, {"orderItems": []}), 400, field="orderItems")
    assert_error(A.post(HUB_REFUND, {}), 400, field="orderItems")
    assert_error(A.post(HUB_REFUND, {"orderItems": [0]}), 400, field="orderItems[0]")
    # another merchant's items are unknown items
    assert_error(env.b.post(HUB_REFUND, {"orderItems": [s3["items"][0]["id"]]}), 400, code="item_not_refundable")


def test_direct_write_off(env):
    A = env.a
    cid, phone = funded_client(A)
    coupon = A.issue(cid, A.catalog_coupon()["id"])
    other = A.issue(cid, A.catalog_coupon()["id"])
    path = f"/clients/{cid}/balance/write_off/"
    # too much: nothing happens, the coupon stays usable
    assert_error(A.post(path, {"balance": [{"amount": 100.5, "currency": "points"}], "coupons": [coupon["id"]]}),
                 400, code="insufficient_funds")
    assert coupon["id"] in A.coupon_ids(cid) and A.balance(cid) == 100
    w = body_of(A.post(path, {"balance": [{"amount": 30, "currency": "points"}], "coupons": [coupon["id"]]}))
    assert w["clientId"] == cid and w["coupons"] == [coupon["id"]]
    assert len(w["writtenOff"]) == 1 and w["writtenOff"][0]["currency"] == "points"
    assert_money(w["writtenOff"][0]["amount"], "30")
    uuid.UUID(w["writtenOff"][0]["transactionId"])
    assert_money(w["balance"][0]["amount"], "70")
    assert A.balance(cid) == 70
    assert coupon["id"] not in A.coupon_ids(cid)
    row = history(A, cid)[0]
    assert row["type"] == "spend" and row["orderId"] is None
    assert_money(row["amount"], "-30")
    # its transaction id is not a hold that could be cancelled or written off again
    assert_error(A.post(CANCEL, {"transactionId": w["writtenOff"][0]["transactionId"]}), 409)
    # coupons alone
    w = body_of(A.post(path, {"coupons": [other["id"]]}))
    assert w["writtenOff"] == [] and A.coupon_ids(cid) == []
    assert_error(A.post(path, {"coupons": [other["id"]]}), 400, code="coupon_not_active", field="coupons[0]")
    # validation
    assert_error(A.post(path, {}), 400, field="balance")
    assert_error(A.post(path, {"balance": [{"amount": 0, "currency": "points"}]}), 400, field="balance")
    assert_error(A.post(path, {"balance": [{"amount": 1, "currency": "points"}, {"amount": 1, "currency": "points"}]}),
                 400, field="balance[1].currency")
    assert_error(A.post(path, {"balance": [{"amount": 1}]}), 400, field="balance[0].currency")
    assert_error(A.post(path, {"balance": [{"amount": "1", "currency": "points"}]}), 400, field="balance[0].amount")
    assert_error(A.post(path, {"balance": {"amount": 1}}), 400, field="balance")
    assert_error(A.post("/clients/987654321/balance/write_off/", {"coupons": [1]}), 404)
    # rubles: none to spend
    assert_error(A.post(path, {"balance": [{"amount": 1, "currency": "rubles"}]}), 400, code="insufficient_funds",
                 field="balance[rubles]")
    assert A.balance(cid) == 70


def test_shared_coupon_is_redeemed_once_by_a_friend(env):
    A, B = env.a, env.b
    cid, _ = funded_client(A)
    cat = A.catalog_coupon(title="Free coffee", validDays=10)
    mine = A.issue(cid, cat["id"])
    friend_phone = new_phone()
    r = A.put(SHARE, params={"token": mine["shareToken"], "phone": friend_phone, "name": "Olga"})
    got = body_of(r)
    friend = got["client"]
    assert friend["phone"] == friend_phone and friend["name"] == "Olga" and friend["id"] != cid
    given = got["coupons"]
    assert given["title"] == "Free coffee" and given["id"] != mine["id"]
    assert given["id"] in A.coupon_ids(friend["id"])
    assert mine["id"] in A.coupon_ids(cid)  # the sharer keeps theirs
    # the same friend again: the same answer; another friend: 409
    assert body_of(A.put(SHARE, params={"token": mine["shareToken"], "phone": friend_phone})) == got
    assert_error(A.put(SHARE, params={"token": mine["shareToken"], "phone": new_phone()}), 409,
                 code="share_redeemed", field="token")
    # by the 6-digit share code, with an email; the coupon's own code is not a share code
    second = A.issue(cid, cat["id"])
    assert_error(A.put(SHARE, params={"token": second["merchantToken"], "email": "x@example.com"}), 404, field="token")
    email = uniq("friend") + "@Example.com"
    got2 = body_of(A.put(SHARE, params={"token": second["merchantShareToken"], "email": email}))
    assert got2["client"]["email"].lower() == email.lower()
    # the owner cannot redeem their own share; another merchant cannot see it
    third = A.issue(cid, cat["id"])
    owner_phone = body_of(A.get(f"/clients/{cid}/"))["phone"]
    assert_error(A.put(SHARE, params={"token": third["shareToken"], "phone": owner_phone}), 400, field="phone")
    assert_error(B.put(SHARE, params={"token": third["shareToken"], "phone": new_phone()}), 404, field="token")
    # validation
    assert_error(A.put(SHARE, params={"token": third["shareToken"]}), 400, field="phone")
    assert_error(A.put(SHARE, params={"phone": new_phone()}), 400, field="token")
    assert_error(A.put(SHARE, params={"token": "abc", "phone": new_phone()}), 400, field="token")
    assert_error(A.put(SHARE, params={"token": third["shareToken"], "phone": "1" * 20}), 400, field="phone")
    assert_error(A.put(SHARE, params={"token": third["shareToken"], "email": "nope"}), 400, field="email")
    assert_error(A.put(SHARE, params={"token": "0" * 32, "phone": new_phone()}), 404, field="token")
    # a used coupon is not shared any more
    A.order(sale(phone=owner_phone, coupons=[third["id"]]))
    assert_error(A.put(SHARE, params={"token": third["shareToken"], "phone": new_phone()}), 404)
    # registering is off: an unknown friend is 404
    fourth = A.issue(cid, cat["id"])
    A.settings(autoRegisterClients=False)
    assert_error(A.put(SHARE, params={"token": fourth["shareToken"], "phone": new_phone()}), 404,
                 code="unknown_customer", field="phone")
    A.settings(autoRegisterClients=True)
    # a deleted catalog coupon cannot be given any more
    body_of(A.delete(f"/loyalty/coupons/{cat['id']}/"))
    assert_error(A.put(SHARE, params={"token": fourth["shareToken"], "phone": new_phone()}), 400,
                 code="coupon_not_active")
