# The dashboard (docs/API.md, Reports): every figure exact to the kopeck against what the test
# posted, computed here from the orders' answers; another merchant's data never counted; a
# cashier refused; refunds and expiries move the figures; `kopilkad check` agrees with the
# aggregates after each step. The first test needs merchant A fresh: it runs first.
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from conftest import Session, assert_error, assert_money, body_of, new_phone, raw, refund, rule, sale, uniq
from schema_undo import undo_reports

DAY_S = 86400


def dash(api, **params):
    return body_of(api.get("/reports/dashboard/", params=params))


def dec(value):
    return Decimal(raw(value))


def cents(value):
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def today(offset_s=0):
    return datetime.fromtimestamp(time.time() + offset_s, timezone.utc).date()


def month_index(ms, offset_s=0):
    """Which of the dashboard's 3 months (0: the current UTC month) the instant ms falls in."""
    t = today(offset_s)
    d = datetime.fromtimestamp(ms / 1000, timezone.utc).date()
    return (d.year - t.year) * 12 + d.month - t.month


def check_passes(env, *flags):
    p = env.check(*flags)
    assert p.returncode == 0, p.stdout + p.stderr


def test_every_figure_is_exact_against_what_was_posted(env):
    A = env.a
    A.settings(active=True, newCustomerSettings=rule("amount", 100, 30),
               customerSettings=rule("amount", 50, None))
    empty = dash(A)
    assert empty["members"] == 0 and empty["sales"]["allOrders"] == 0
    assert_money(empty["averageCheck"], "0")
    assert_money(empty["sales"]["programSharePercent"], "0")
    assert_money(empty["repeatPurchaseRatePercent"], "0")
    assert empty["topClients"] == []

    p1, p2 = new_phone(), new_phone()
    t0 = time.time() * 1000
    s1 = A.order(sale(phone=p1, card=1000.55, items=[{"name": "a", "price": 1000.55, "quantity": 1}]))
    s2 = A.order(sale(phone=p1, card=170.25, amount=30,
                      items=[{"name": "b", "price": 100.25, "quantity": 1},
                             {"name": "c", "price": 100, "quantity": 1}]))
    s3 = A.order(sale(phone=p2, cash=300, items=[{"name": "d", "price": 300, "quantity": 1}]))
    s4 = A.order(sale(card=150.1, items=[{"name": "e", "price": 150.1, "quantity": 1}]))
    t1 = time.time() * 1000
    c3 = A.create_client(phone=new_phone(), name="Never bought")
    c1, c2 = s1["clientId"], s3["clientId"]
    assert s2["clientId"] == c1 and s4["clientId"] is None

    sales = [s1, s2, s3, s4]
    all_amount = sum(dec(s["totalAmount"]) for s in sales)
    program_amount = sum(dec(s["totalAmount"]) for s in sales if s["clientId"])
    accrued = sum(dec(s["accrued"]["amount"]) for s in sales)
    spent = sum(dec(s["spent"]["amount"]) for s in sales)
    assert (all_amount, program_amount, accrued, spent) == (Decimal("1650.9"), Decimal("1500.8"), 250, 30)

    d = dash(A)
    assert d["currency"] == "points" and d["days"] == 30
    assert d["members"] == 3 and d["newMembersThisMonth"] == 3
    assert d["sales"]["allOrders"] == 4 and d["sales"]["programOrders"] == 3
    assert_money(d["sales"]["allAmount"], all_amount)
    assert_money(d["sales"]["programAmount"], program_amount)
    assert_money(d["sales"]["programSharePercent"], cents(program_amount * 100 / all_amount))  # 90.91
    assert_money(d["averageCheck"], cents(all_amount / 4))  # 412.725 -> 412.73
    assert d["buyers"] == 2 and d["repeatBuyers"] == 1
    assert_money(d["repeatPurchaseRatePercent"], "50")
    outstanding = accrued - spent
    assert outstanding == sum(A.balance(c) for c in (c1, c2, c3["id"]))
    assert_money(d["pointsOutstanding"], outstanding)
    assert_money(d["pointsOutstandingRub"], outstanding)

    # The new customers' 100-point lots expire in 30 days; the 30 spent came from c1's; the
    # second sale's 50 never expire.
    t = today()
    months = [(t.year * 12 + t.month - 1 + k) for k in range(3)]
    assert [e["month"] for e in d["expiring"]] == [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    assert sum(dec(e["points"]) for e in d["expiring"]) == 170
    k0, k1 = month_index(t0 + 30 * DAY_S * 1000), month_index(t1 + 30 * DAY_S * 1000)
    if k0 == k1:
        assert_money(d["expiring"][k0]["points"], "170")

    assert len(d["daily"]) == 30 and d["daily"][-1]["date"] == t.isoformat()
    assert d["from"] == (t - timedelta(days=29)).isoformat() and d["to"] == t.isoformat()
    assert [x["date"] for x in d["daily"]] == [(t - timedelta(days=29 - i)).isoformat() for i in range(30)]
    last = d["daily"][-1]
    assert_money(last["accrued"], accrued)
    assert_money(last["spent"], spent)
    assert_money(last["expired"], "0")
    assert last["orders"] == 4
    assert_money(last["amount"], all_amount)
    for x in d["daily"][:-1]:
        assert (x["orders"], raw(x["accrued"]), raw(x["spent"]), raw(x["amount"])) == (0, "0", "0", "0")

    assert [c["id"] for c in d["topClients"]] == [c1, c2]
    top1, top2 = d["topClients"]
    assert top1["phone"] == p1 and top1["totalPurchases"] == 2
    assert_money(top1["paidPurchasesAmount"], Decimal("1000.55") + Decimal("170.25"))
    assert_money(top1["totalPurchasesAmount"], Decimal("1200.8"))
    assert top2["totalPurchases"] == 1
    assert_money(top2["paidPurchasesAmount"], "300")
    assert top1 == body_of(A.get(f"/clients/{c1}/"))  # the client object of the API

    one = dash(A, days=1)
    assert len(one["daily"]) == 1 and one["sales"] == d["sales"]
    check_passes(env)


def test_refunds_move_the_figures(env):
    A = env.a
    before = dash(A)
    p = new_phone()
    s = A.order(sale(phone=p, card=500, items=[{"name": "x", "price": 200, "quantity": 1},
                                               {"name": "y", "price": 300, "quantity": 1}]))
    r1 = A.order(refund([{"id": s["items"][1]["id"]}]))
    mid = dash(A)
    net = Decimal(500) - dec(r1["totalAmount"])
    assert net == 200
    assert mid["members"] == before["members"] + 1
    assert mid["buyers"] == before["buyers"] + 1  # one purchase left after a partial refund
    assert mid["sales"]["allOrders"] == before["sales"]["allOrders"] + 1
    assert mid["sales"]["programOrders"] == before["sales"]["programOrders"] + 1
    assert_money(mid["sales"]["allAmount"], dec(before["sales"]["allAmount"]) + net)
    assert_money(mid["sales"]["programAmount"], dec(before["sales"]["programAmount"]) + net)
    moved = dec(s["accrued"]["amount"]) + dec(r1["accrued"]["amount"])  # the refund's is negative
    assert_money(mid["pointsOutstanding"], dec(before["pointsOutstanding"]) + moved)
    assert_money(mid["daily"][-1]["accrued"], dec(before["daily"][-1]["accrued"]) + moved)
    assert_money(mid["daily"][-1]["amount"], dec(before["daily"][-1]["amount"]) + net)
    assert s["clientId"] in [c["id"] for c in mid["topClients"]]

    # Refunding the rest takes the client's only purchase away: no longer a buyer, nor a top client.
    r2 = A.order(refund([{"id": s["items"][0]["id"]}]))
    after = dash(A)
    assert after["buyers"] == before["buyers"] and after["repeatBuyers"] == before["repeatBuyers"]
    assert after["sales"]["allOrders"] == before["sales"]["allOrders"] + 1  # receipts, not purchases
    assert_money(after["sales"]["allAmount"], before["sales"]["allAmount"])
    assert_money(after["sales"]["programAmount"], before["sales"]["programAmount"])
    moved += dec(r2["accrued"]["amount"])
    assert moved == 0
    assert_money(after["pointsOutstanding"], before["pointsOutstanding"])
    assert_money(after["daily"][-1]["accrued"], before["daily"][-1]["accrued"])
    assert s["clientId"] not in [c["id"] for c in after["topClients"]]
    assert_money(after["averageCheck"],
                 cents(dec(after["sales"]["allAmount"]) / after["sales"]["allOrders"]))
    check_passes(env)


def test_another_merchants_data_is_never_counted(env):
    A, B = env.a, env.b
    before_a = dash(A)
    before_b = dash(B)
    B.settings(active=True, newCustomerSettings=rule("amount", 7, 10), customerSettings=rule("amount", 7, None))
    p = new_phone()
    B.order(sale(phone=p, card=99.99, items=[{"name": "z", "price": 99.99, "quantity": 1}]))
    B.order(sale(phone=p, card=10, items=[{"name": "z", "price": 10, "quantity": 1}]))
    B.order(sale(card=5, items=[{"name": "z", "price": 5, "quantity": 1}]))
    B.create_client(phone=new_phone())
    assert dash(A) == before_a
    b = dash(B)
    assert b["members"] == before_b["members"] + 2
    assert b["sales"]["allOrders"] == before_b["sales"]["allOrders"] + 3
    assert_money(b["sales"]["allAmount"], dec(before_b["sales"]["allAmount"]) + Decimal("114.99"))
    assert_money(b["pointsOutstanding"], dec(before_b["pointsOutstanding"]) + 14)
    assert b["repeatBuyers"] == before_b["repeatBuyers"] + 1
    assert [c["phone"] for c in b["topClients"]][:1] == [p]
    a_ids = {c["id"] for c in before_a["topClients"]}
    assert not a_ids & {c["id"] for c in b["topClients"]}


def test_roles_and_the_days_parameter(env):
    A = env.a
    logins = {}
    for role in ("cashier", "manager"):
        body = {"email": f"{uniq('rep')}@example.com", "password": "staff-pass-1", "role": role}
        body_of(A.post("/employees/", body), 201)
        logins[role] = (body["email"], body["password"])
    url = env.url("/reports/dashboard/")
    assert_error(Session(logins["cashier"]).get(url), 403, code="forbidden")
    assert Session(logins["manager"]).get(url).status_code == 200
    for bad in ("0", "367", "-1", "x", "1.5"):
        assert_error(A.get("/reports/dashboard/", params={"days": bad}), 400,
                     code="validation_failed", field="days")
    assert len(dash(A, days=366)["daily"]) == 366


def test_the_migration_fills_the_aggregates_of_an_existing_database(env):
    A, B = env.a, env.b
    before_a, before_b = dash(A), dash(B, days=3)
    env.server.stop()
    undo_reports(env.engine, env.db)  # as a database of the release before them
    env.restart()
    assert dash(A) == before_a and dash(B, days=3) == before_b
    check_passes(env)


def test_check_reports_an_aggregate_that_drifted(env):
    env.server.stop()
    drift = ("UPDATE report_days SET amount = amount + 1 WHERE merchant_id = {m}"
             " AND day = (SELECT max(day) FROM report_days WHERE merchant_id = {m})")
    fix = drift.replace("amount + 1", "amount - 1")
    m = env.merchant_a
    if env.engine == "sqlite":
        import sqlite3
        def run(sql):
            with sqlite3.connect(env.db) as conn:
                conn.execute(sql)
    else:
        from schema_undo import psql
        def run(sql):
            psql(env.db, sql)
    run(drift.format(m=m))
    p = env.check()
    assert p.returncode != 0 and f"report_days of merchant {m} day" in p.stdout + p.stderr, p.stdout + p.stderr
    run(fix.format(m=m))
    check_passes(env)
    env.restart()


def test_expired_points_leave_the_liability_and_show_as_written_off(env):
    A = env.a
    before = dash(A, days=40)
    expiring = sum(dec(e["points"]) for e in before["expiring"])
    assert expiring > 0  # the new customers' 30-day lots of the first test
    shift = 31 * DAY_S
    env.restart("--clock-offset-seconds", str(shift), "--expire-sweep-seconds", "1")
    d = dash(A, days=40)
    assert d["to"] == today(shift).isoformat()
    # Expired lots stop counting at once, written off or not yet.
    assert_money(d["pointsOutstanding"], dec(before["pointsOutstanding"]) - expiring)
    assert sum(dec(e["points"]) for e in d["expiring"]) == 0
    # The day the sales were posted moved 31 days back in the window; the sales stay.
    assert d["daily"][-32]["date"] == before["daily"][-1]["date"]
    assert d["daily"][-32] == before["daily"][-1]
    assert d["sales"] == before["sales"]
    deadline = time.time() + 20
    while True:
        written_off = sum(dec(x["expired"]) for x in d["daily"])
        if written_off == expiring or time.time() > deadline:
            break
        time.sleep(0.3)
        d = dash(A, days=40)
    assert written_off == expiring
    assert_money(d["daily"][-1]["expired"], expiring)
    assert_money(d["pointsOutstanding"], dec(before["pointsOutstanding"]) - expiring)
    check_passes(env, "--clock-offset-seconds", str(shift))
    env.restart()
