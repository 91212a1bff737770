# Races (API.md 2.4 "Retries are safe", 7): parallel retries of one order make one order, and
# parallel spends never take a balance below zero.
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from conftest import Session, assert_error, body_of, describe, loads, new_phone, raw, rule, sale, uniq


def race(env, auth, bodies):
    """POST every body at once, one connection per body; return the responses in order."""
    barrier = threading.Barrier(len(bodies))

    def one(body):
        with Session(auth) as s:
            # warm the connection and the credential cache before the start line
            r0 = s.get(env.url("/loyalty/settings/"))
            assert r0.status_code == 200, describe(r0)
            barrier.wait(timeout=60)
            return s.post(env.url("/fiscal/orders/"), json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_fifty_parallel_retries_make_one_order(env, A):
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("percentage", 10))
    phone = new_phone()
    cid = A.order(sale(phone=phone))["clientId"]
    assert A.balance(cid) == 100
    before = A.client(phone)
    body = sale(ext=uniq("race"), phone=phone, items=[{"name": "Пицца", "price": 50, "quantity": 1}],
                card=40, amount=10)
    responses = race(env, A.auth, [body] * 50)
    for r in responses:
        assert r.status_code == 200, describe(r)
    bodies = [loads(r.text) for r in responses]
    assert all(b == bodies[0] for b in bodies), "the retries answered different orders"
    fresh = [r for r in responses if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(fresh) == 1, f"{len(fresh)} responses were not marked as replays"
    o = bodies[0]
    assert raw(o["spent"]["amount"]) == "10" and raw(o["accrued"]["amount"]) == "4"
    # one spend of 10, one accrual of 10 % of 40
    assert A.balance(cid) == 94
    after = A.client(phone)
    assert after["totalPurchases"] == before["totalPurchases"] + 1
    assert Decimal(raw(after["totalPurchasesAmount"])) == Decimal(raw(before["totalPurchasesAmount"])) + 50


def test_parallel_spends_never_overdraw(env, A):
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("amount", 0))
    phone = new_phone()
    cid = A.order(sale(phone=phone))["clientId"]
    A.settings(active=False)
    assert A.balance(cid) == 100
    bodies = [sale(ext=uniq("spend"), phone=phone, items=[{"name": "x", "price": 20, "quantity": 1}], amount=15)
              for _ in range(16)]
    seen = []
    stop = threading.Event()

    def watch():
        with Session(A.auth) as s:
            while not stop.is_set():
                r = s.get(env.url(f"/clients/{cid}/balance/"))
                if r.status_code == 200:
                    seen.append(Decimal(raw(loads(r.text)[0]["amount"])))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        responses = race(env, A.auth, bodies)
    finally:
        stop.set()
        watcher.join(timeout=30)
    ok = [r for r in responses if r.status_code == 200]
    for r in responses:
        if r.status_code != 200:
            assert_error(r, 400, code="insufficient_funds")
    final = A.balance(cid)
    assert 100 - final == 15 * len(ok)
    assert final >= 0
    assert len(ok) == 6, "100 points cover exactly six spends of 15"
    assert all(x >= 0 for x in seen), seen
    for r in ok:
        assert raw(body_of(r)["spent"]["amount"]) == "15"
    assert A.client(phone)["totalPurchases"] == 1 + len(ok)


def test_parallel_refunds_of_one_item_refund_it_once(env, A):
    A.settings(active=True, newCustomerSettings=rule("amount", 30), customerSettings=rule("amount", 9))
    phone = new_phone()
    A.order(sale(phone=phone))
    s = A.order(sale(phone=phone, items=[{"name": "x", "price": 10, "quantity": 3}], amount=30))
    cid = s["clientId"]
    assert A.balance(cid) == 9
    item_id = s["items"][0]["id"]
    bodies = [{"order": {"externalId": uniq("pref"), "receiptType": "refund",
                         "items": [{"id": item_id, "quantity": 1}]}} for _ in range(8)]
    responses = race(env, A.auth, bodies)
    ok = [r for r in responses if r.status_code == 200]
    for r in responses:
        if r.status_code != 200:
            assert_error(r, 400, code="item_not_refundable")
    assert len(ok) == 3, [r.status_code for r in responses]
    # the whole sale came back exactly once: 30 spent returned, 9 accrued taken back
    assert A.balance(cid) == 30
    assert sum(Decimal(raw(body_of(r)["spent"]["amount"])) for r in ok) == -30
    assert sum(Decimal(raw(body_of(r)["accrued"]["amount"])) for r in ok) == -9


def test_parallel_redemptions_of_one_coupon_redeem_it_once(env, A):
    A.settings(active=False)
    phone = new_phone()
    client = A.create_client(phone=phone)
    inst = A.issue(client["id"], A.catalog_coupon()["id"])
    bodies = [sale(ext=uniq("coup"), phone=phone, coupons=[inst["id"]]) for _ in range(8)]
    responses = race(env, A.auth, bodies)
    ok = [r for r in responses if r.status_code == 200]
    for r in responses:
        if r.status_code != 200:
            assert_error(r, 400, code="coupon_not_active")
    assert len(ok) == 1, [r.status_code for r in responses]
    assert A.coupon_ids(client["id"]) == []
    assert A.client(phone)["totalPurchases"] == 1


def test_parallel_first_orders_of_a_new_customer_register_one_client(env, A):
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("amount", 1))
    phone = new_phone()
    bodies = [sale(ext=uniq("first"), phone=phone) for _ in range(10)]
    responses = race(env, A.auth, bodies)
    for r in responses:
        assert r.status_code == 200, describe(r)
    client_ids = {loads(r.text)["clientId"] for r in responses}
    assert len(client_ids) == 1
    accruals = sorted(Decimal(raw(loads(r.text)["accrued"]["amount"])) for r in responses)
    assert accruals == [1] * 9 + [100], "exactly one order is the client's first sale"
    c = A.client(phone)
    assert c["totalPurchases"] == 10
    assert A.balance(c["id"]) == 109


def test_parallel_client_creation_with_one_phone(env, A):
    phone = new_phone()
    barrier = threading.Barrier(8)

    def one(i):
        with Session(A.auth) as s:
            s.get(env.url("/loyalty/settings/"))
            barrier.wait(timeout=60)
            return s.post(env.url("/clients/"), json={"phone": phone, "name": f"n{i}"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(one, range(8)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [describe(r) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_error(r, 409, code="client_conflict")
    assert len(body_of(A.get("/clients/", params={"phone": phone}))) == 1
