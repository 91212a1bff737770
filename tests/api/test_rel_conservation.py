# Issue 4.4, conservation (the bank test; API.md 3.1, 3.3, 4.3): workers run a random mix of sales
# (with spends), full and partial refunds (refund orders and the fiscal hub refund) and holds
# (written off, cancelled or left active) for a bounded time. Throughout, a reader checks for every
# client that accrued - taken back - spent + returned - held + released - expired = balance on a
# consistent snapshot of the history and the balance; at the end every ledger total equals what
# the acknowledged answers add up to, and `kopilkad check` passes.
import threading
import time
from decimal import Decimal

import requests

from conftest import OWNER_A, describe, loads, new_phone, rule, sale, scale, uniq
from rel_common import (CANCEL, HOLD, HUB_REFUND, WRITE_OFF, LoadSession, api_key_auth, balance,
                        consistent_snapshot, history, ledger_sums, money, seeded)

WORKERS = 8
CLIENTS = 10
FIRST_POINTS = 100
PERCENT = 5
REFUSALS = {"insufficient_funds", "item_not_refundable"}
TYPES = ("accrual", "refund_accrual", "spend", "refund_spend", "hold", "release", "expire")


class Model:
    """What the acknowledged answers say each client's ledger holds, per row type."""

    def __init__(self, cids):
        self.lock = threading.Lock()
        self.sums = {cid: {t: Decimal(0) for t in TYPES} for cid in cids}
        self.sales = []         # [{"cid", "order", "left": {item id: quantity}, "busy"}]
        self.refunds = {}       # sale id -> [refund answer]
        self.holds = []         # active holds: (cid, transactionId, amount)
        self.counts = {}

    def add(self, cid, kind, amount):
        self.sums[cid][kind] += amount

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1


def test_ledger_conserves_under_a_random_mix(env, A):
    rng, seed = seeded("conservation")
    seconds = scale(4, 30)
    A.settings(active=True, newCustomerSettings=rule("amount", FIRST_POINTS, valid_days=1),
               customerSettings=rule("percentage", PERCENT, valid_days=1), maxSpendPercent=100)
    auth = api_key_auth(A, OWNER_A[0])
    phones = [new_phone() for _ in range(CLIENTS)]
    firsts = [A.order(sale(phone=p)) for p in phones]
    cids = [o["clientId"] for o in firsts]
    model = Model(cids)
    for cid in cids:
        model.add(cid, "accrual", Decimal(FIRST_POINTS))
    stop = threading.Event()
    problems = []
    snapshots = {"checked": 0, "busy": 0}
    seeds = [rng.randrange(2**32) for _ in range(WORKERS + 1)]

    def refused(r, what):
        try:
            code = loads(r.text).get("code")
        except ValueError:
            code = None
        with model.lock:
            if r.status_code == 400 and code in REFUSALS:
                model.count(f"{what} refused")
            else:
                problems.append(f"{what}: " + describe(r))

    def do_sale(s, local):
        i = local.randrange(CLIENTS)
        items = [{"name": f"g{k}", "price": local.randint(10, 300), "quantity": local.choice((1, 2, 3))}
                 for k in range(local.randint(1, 3))]
        total = sum(it["price"] * it["quantity"] for it in items)
        spend = min(total, local.choice((0, 0, local.randint(1, 60))))
        r = s.post(env.url("/fiscal/orders/"), json=sale(ext=uniq("bank"), phone=phones[i], items=items,
                                                         card=total - spend, amount=spend))
        if r.status_code != 200:
            return refused(r, "sale")
        o = loads(r.text)
        cid = o["clientId"]
        with model.lock:
            model.count("sale")
            model.add(cid, "accrual", money(o["accrued"]["amount"]))
            model.add(cid, "spend", -money(o["spent"]["amount"]))
            model.sales.append({"cid": cid, "order": o, "busy": False,
                                "left": {it["id"]: money(it["quantity"]) for it in o["items"]}})

    def do_refund(s, local):
        with model.lock:
            open_sales = [x for x in model.sales if not x["busy"] and any(model_left > 0 for model_left in x["left"].values())]
            if not open_sales:
                return
            x = local.choice(open_sales)
            x["busy"] = True  # one refund of a sale at a time, so the test knows what is left
        try:
            left = {k: q for k, q in x["left"].items() if q > 0}
            style = local.choice(("full", "partial", "hub"))
            if style == "hub":
                r = s.post(env.url(HUB_REFUND), json={"orderItems": sorted(left)})
                taken = dict(left)
            elif style == "full":
                r = s.post(env.url("/fiscal/orders/"), json={"order": {
                    "externalId": uniq("bank-r"), "receiptType": "refund", "items": [{"id": k} for k in sorted(left)]}})
                taken = dict(left)
            else:
                item = local.choice(sorted(left))
                q = min(left[item], local.choice((Decimal("0.5"), Decimal(1))))
                r = s.post(env.url("/fiscal/orders/"), json={"order": {
                    "externalId": uniq("bank-r"), "receiptType": "refund",
                    "items": [{"id": item, "quantity": float(q)}]}})
                taken = {item: q}
            if r.status_code != 200:
                return refused(r, f"{style} refund")
            o = loads(r.text)
            with model.lock:
                model.count(f"{style} refund")
                for k, q in taken.items():
                    x["left"][k] -= q
                model.add(x["cid"], "refund_accrual", money(o["accrued"]["amount"]))
                model.add(x["cid"], "refund_spend", -money(o["spent"]["amount"]))
                model.refunds.setdefault(x["order"]["id"], []).append(o)
        finally:
            with model.lock:
                x["busy"] = False

    def do_hold(s, local):
        cid = local.choice(cids)
        amount = local.randint(1, 40)
        r = s.post(env.url(HOLD), json={"clientId": cid, "currency": "points", "amount": amount})
        if r.status_code != 200:
            return refused(r, "hold")
        h = loads(r.text)
        with model.lock:
            model.count("hold")
            model.add(cid, "hold", -money(h["amount"]))
            model.holds.append((cid, h["transactionId"], money(h["amount"])))

    def do_settle(s, local):
        with model.lock:
            if not model.holds:
                return
            cid, tx, amount = model.holds.pop(local.randrange(len(model.holds)))
        if local.random() < 0.5:
            r = s.post(env.url(WRITE_OFF), json={"transactionId": tx, "fiscalOrderId": uniq("pos")})
            what, kind = "write-off", None
        else:
            r = s.post(env.url(CANCEL), json={"transactionId": tx})
            what, kind = "cancel", "release"
        if r.status_code != 200:
            return refused(r, what)
        with model.lock:
            model.count(what)
            if kind:
                model.add(cid, kind, amount)

    ops = [do_sale] * 4 + [do_refund] * 3 + [do_hold] * 2 + [do_settle] * 2

    def worker(k):
        import random
        local = random.Random(seeds[k])
        with LoadSession(auth) as s:
            while not stop.is_set():
                try:
                    local.choice(ops)(s, local)
                except requests.RequestException as exc:
                    with model.lock:
                        problems.append(repr(exc))
                    return
                except AssertionError as exc:
                    with model.lock:
                        problems.append(str(exc))
                    return

    def check_client(s, cid, final=False):
        snap = consistent_snapshot(s, env.base, cid)
        if snap is None:
            snapshots["busy"] += 1
            return
        rows, bal = snap
        sums = ledger_sums(rows)
        total = sum(sums.values(), Decimal(0))
        if total != bal:
            with model.lock:
                problems.append(f"client {cid}: ledger {sums} adds up to {total}, balance {bal}")
        snapshots["checked"] += 1

    def reader():
        import random
        local = random.Random(seeds[WORKERS])
        with LoadSession(auth) as s:
            while not stop.is_set():
                try:
                    check_client(s, local.choice(cids))
                except (AssertionError, requests.RequestException) as exc:
                    with model.lock:
                        problems.append(f"reader: {exc}")
                    return

    def run(seconds, with_reader):
        stop.clear()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(WORKERS)]
        if with_reader:
            threads.append(threading.Thread(target=reader))
        t0 = time.monotonic()
        for t in threads:
            t.start()
        # `kopilkad check` on the live database, again and again while the load runs: it must
        # see one consistent state, never a half-written one (docs/SETTINGS.md, "check").
        checks = 0
        while time.monotonic() - t0 < seconds:
            p = env.check()
            if p.returncode != 0:
                problems.append(f"kopilkad check under load ({p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
                break
            checks += 1
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - t0
        assert not any(t.is_alive() for t in threads), f"seed {seed}: a worker did not stop"
        assert not problems, f"seed {seed}: {problems[:5]}"
        ops_done = sum(model.counts.values())
        print(f"conservation on {env.engine}: {WORKERS} workers for {elapsed:.1f} s, {ops_done} operations "
              f"in all ({ops_done / elapsed:.0f}/s): {dict(sorted(model.counts.items()))}; "
              f"{snapshots['checked']} consistent snapshots checked, {snapshots['busy']} too busy, "
              f"{checks} passing kopilkad check runs under load")
        model.counts.clear()

    def settled(s):
        """Waits (up to 30 s) for the sweep: every balance equals the sum of its rows."""
        deadline = time.monotonic() + 30
        while True:
            off = [cid for cid in cids if sum(ledger_sums(history(s, env.base, cid)).values(), Decimal(0))
                   != balance(s, env.base, cid)]
            if not off:
                return
            assert time.monotonic() < deadline, f"seed {seed}: clients {off}: balance != sum of rows after 30 s"
            time.sleep(0.5)

    def compare(s, expiry):
        """Quiet: every client's ledger, row type by row type, is what the answers said (the
        expiry rows, which no answer shows, only after the clock moved on)."""
        for cid in cids:
            sums = ledger_sums(history(s, env.base, cid))
            for kind in TYPES:
                if kind == "expire" and expiry:
                    continue
                assert sums.get(kind, 0) == model.sums[cid][kind], \
                    f"seed {seed}: client {cid} {kind}: ledger {sums.get(kind, 0)}, answers {model.sums[cid][kind]}"
            bal = balance(s, env.base, cid)
            total = sum(sums.values(), Decimal(0))
            assert bal == total, f"seed {seed}: client {cid} balance {bal}, ledger {sums}"
            assert bal == sum(model.sums[cid].values()) + (sums.get("expire", 0) if expiry else 0), \
                f"seed {seed}: client {cid} balance {bal}"
        # A sale refunded to the last item gave back exactly what it accrued and spent, however
        # many partial refunds it took (shares are cumulative and rounded down, API.md 3.3).
        whole = 0
        for x in model.sales:
            if all(q == 0 for q in x["left"].values()):
                whole += 1
                rs = model.refunds[x["order"]["id"]]
                assert sum(money(o["accrued"]["amount"]) for o in rs) == -money(x["order"]["accrued"]["amount"]), \
                    f"seed {seed}: sale {x['order']['id']}"
                assert sum(money(o["spent"]["amount"]) for o in rs) == -money(x["order"]["spent"]["amount"]), \
                    f"seed {seed}: sale {x['order']['id']}"
        print(f"conservation: {whole} sales refunded in full, {len(model.holds)} holds active")
        p = env.check()
        assert p.returncode == 0, f"seed {seed}: kopilkad check:\n{p.stdout}{p.stderr}"

    # Phase 1: the mix, with the reader checking snapshots throughout (no lot expires yet).
    run(seconds, True)
    assert snapshots["checked"], f"seed {seed}: the reader never caught a consistent snapshot"
    with LoadSession(auth) as s:
        compare(s, expiry=False)

    # Phase 2: the clock moves 31 days on: every accrued lot (validDays 1) and every hold left
    # active (30 days) expires; the sweep writes the expire and release rows. Then the mix again,
    # now refunding sales whose points went back into expired lots.
    env.restart("--clock-offset-seconds", str(31 * 86400), "--expire-sweep-seconds", "1")
    expired_holds = list(model.holds)
    with model.lock:
        for cid, _tx, amount in model.holds:
            model.add(cid, "release", amount)
        model.holds.clear()
    with LoadSession(auth) as s:
        settled(s)
        compare(s, expiry=True)
        expired = sum(ledger_sums(history(s, env.base, cid)).get("expire", 0) for cid in cids)
        assert expired < 0, f"seed {seed}: the clock moved 31 days on and nothing expired"
        print(f"conservation: {-expired} points expired by the sweep")
        for cid, tx, _amount in expired_holds[:5]:
            bal = balance(s, env.base, cid)
            r = s.post(env.url(WRITE_OFF), json={"transactionId": tx, "fiscalOrderId": uniq("late")})
            assert r.status_code == 409 and loads(r.text)["code"] == "hold_not_active", describe(r)
            r = s.post(env.url(CANCEL), json={"transactionId": tx})
            assert r.status_code == 200 and loads(r.text)["status"] == "expired", describe(r)
            assert balance(s, env.base, cid) == bal
    run(scale(3, 15), False)
    with LoadSession(auth) as s:
        settled(s)
        compare(s, expiry=True)
