# Expiry (API.md 3.2, 2.2): points lots and coupons stop counting once their time has passed.
# The server's clock is moved by restarting it on the same database with --clock-offset-seconds.
import time

from conftest import assert_error, assert_money, body_of, new_phone, refund, rule, sale

DAYS_31 = str(31 * 86400)


def test_lots_and_coupons_expire(env):
    A = env.a
    cat30 = A.catalog_coupon(validDays=30)
    forever = A.catalog_coupon()
    A.settings(active=True, newCustomerSettings=rule("amount", 100, 30), customerSettings=rule("amount", 50, None))

    # client 1: lot of 100 expiring in 30 days, then a lot of 50 that never expires
    p1 = new_phone()
    c1 = A.order(sale(phone=p1))["clientId"]
    A.order(sale(phone=p1))
    assert A.balance(c1) == 150
    # spending 60 takes from the lot that expires first; this sale's accrual adds 50 more
    A.order(sale(phone=p1, amount=60))
    assert A.balance(c1) == 140
    short = A.issue(c1, cat30["id"])
    keep = A.issue(c1, forever["id"])
    assert A.coupon_ids(c1) == [short["id"], keep["id"]]

    # client 2: only the expiring lot, with a sale whose spend we refund after the lot expired
    p2 = new_phone()
    c2 = A.order(sale(phone=p2))["clientId"]
    A.settings(customerSettings=rule("amount", 0))
    spent_sale = A.order(sale(phone=p2, amount=40))
    assert A.balance(c2) == 60

    env.restart("--clock-offset-seconds", DAYS_31)
    # 40 left of the expired lot are gone; the two lots of 50 that never expire remain
    assert A.balance(c1) == 100
    b = body_of(A.get(f"/clients/{c1}/balance/"))
    assert_money(b[0]["amount"], "100")
    assert A.coupon_ids(c1) == [keep["id"]]
    assert_error(A.post("/fiscal/orders/", sale(phone=p1, coupons=[short["id"]])), 400, code="coupon_not_active", check_time=False)
    assert_error(A.post("/fiscal/orders/", sale(phone=p1, amount=100.01)), 400, code="insufficient_funds", check_time=False)
    assert A.balance(c2) == 0
    # refunding the spend returns the points into the lot they came from: already expired
    r = A.order(refund([{"id": spent_sale["items"][0]["id"]}]))
    assert_money(r["spent"]["amount"], "-40")
    assert A.balance(c2) == 0

    p = env.check("--clock-offset-seconds", DAYS_31)
    assert p.returncode == 0, p.stdout + p.stderr


def test_expired_lots_stay_expired_after_the_clock_returns_to_more_days(env):
    # Restart further on: the sweep's write-off and reads agree
    A = env.a
    env.restart("--clock-offset-seconds", str(62 * 86400), "--expire-sweep-seconds", "1")
    p = new_phone()
    A.settings(active=True, newCustomerSettings=rule("amount", 10, 1), customerSettings=rule("amount", 0))
    cid = A.order(sale(phone=p))["clientId"]
    assert A.balance(cid) == 10
    cats = A.catalog_coupon(validDays=1)
    inst = A.issue(cid, cats["id"])
    assert A.coupon_ids(cid) == [inst["id"]]
    env.restart("--clock-offset-seconds", str(64 * 86400), "--expire-sweep-seconds", "1")
    assert A.balance(cid) == 0
    assert A.coupon_ids(cid) == []
    time.sleep(2.5)  # let the sweep write the expiry rows; balance must not move
    assert A.balance(cid) == 0
