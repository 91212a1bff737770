# Issue 4.3, concurrent overspend (API.md 2.4 step 2-3, 7): 64 connections spend small amounts and
# 16 spend larger ones with coupons (orders and direct write-offs), from balances that cover only
# part of it. The final balance is the start less the acknowledged spends, a reader sampling
# throughout never sees a negative (or a rising) balance, and no coupon is redeemed twice.
import threading
import time
from decimal import Decimal

import requests

from conftest import OWNER_A, body_of, describe, loads, new_phone, rule, sale, scale, uniq
from rel_common import LoadSession, api_key_auth, balance, money, seeded

SMALL, LARGE = 64, 16
CLIENTS = 6
START_POINTS = scale(300, 2000)  # make stress: enough that the race lasts most of the 10 s
COUPONS_EACH = 8
REFUSALS = {"insufficient_funds", "coupon_not_active"}


def test_concurrent_overspend_never_overdraws(env, A):
    rng, seed = seeded("overspend")
    seconds = scale(3, 10)
    A.settings(active=True, newCustomerSettings=rule("amount", START_POINTS), customerSettings=rule("amount", 0))
    phones = [new_phone() for _ in range(CLIENTS)]
    cids = [A.order(sale(phone=p))["clientId"] for p in phones]
    A.settings(active=False)  # no accrual from here on: balances only go down
    cat = A.catalog_coupon()["id"]
    coupons = {cid: [A.issue(cid, cat)["id"] for _ in range(COUPONS_EACH)] for cid in cids}
    auth = api_key_auth(A, OWNER_A[0])
    stop = threading.Event()
    lock = threading.Lock()
    spent = {cid: Decimal(0) for cid in cids}   # acknowledged spends
    redeemed = {}                               # coupon id -> what redeemed it
    problems, samples = [], []
    counts = {"ok": 0, "refused": 0}
    seeds = [rng.randrange(2**32) for _ in range(SMALL + LARGE)]

    def ack(cid, amount, coupon_ids, what):
        with lock:
            counts["ok"] += 1
            spent[cid] += amount
            for c in coupon_ids:
                if c in redeemed:
                    problems.append(f"coupon {c} redeemed by {redeemed[c]} and again by {what}")
                redeemed[c] = what

    def refused(r):
        try:
            code = loads(r.text).get("code")
        except ValueError:
            code = None
        with lock:
            if r.status_code == 400 and code in REFUSALS:
                counts["refused"] += 1
            else:
                problems.append(describe(r))

    def spender(k):
        import random
        local = random.Random(seeds[k])
        large = k >= SMALL
        with LoadSession(auth) as s:
            while not stop.is_set():
                phone_i = local.randrange(CLIENTS)
                cid = cids[phone_i]
                amount = local.randint(20, 80) if large else local.randint(1, 5)
                picked = local.sample(coupons[cid], local.randint(1, 2)) if large else []
                try:
                    if large and local.random() < 0.5:  # a direct write-off (API.md 4.1)
                        r = s.post(env.url(f"/clients/{cid}/balance/write_off/"),
                                   json={"balance": [{"amount": amount, "currency": "points"}], "coupons": picked})
                        if r.status_code == 200:
                            w = loads(r.text)
                            got = sum(money(x["amount"]) for x in w["writtenOff"])
                            assert got == amount and sorted(w["coupons"]) == sorted(picked), describe(r)
                            ack(cid, got, w["coupons"], f"write-off {w['writtenOff'][0]['transactionId']}")
                            continue
                    else:
                        body = sale(ext=uniq("over"), phone=phones[phone_i], amount=amount, coupons=picked,
                                    items=[{"name": "o", "price": 200, "quantity": 1}])
                        r = s.post(env.url("/fiscal/orders/"), json=body)
                        if r.status_code == 200:
                            o = loads(r.text)
                            assert money(o["spent"]["amount"]) == amount, describe(r)
                            assert sorted(o["redeemedCoupons"]) == sorted(picked), describe(r)
                            ack(cid, amount, o["redeemedCoupons"], f"order {o['id']}")
                            continue
                except requests.RequestException as exc:
                    with lock:
                        problems.append(repr(exc))
                    return
                refused(r)

    def reader():
        last = {cid: Decimal(START_POINTS) for cid in cids}
        with LoadSession(auth) as s:
            while not stop.is_set():
                for cid in cids:
                    b = balance(s, env.base, cid)
                    samples.append(b)
                    if b < 0 or b > last[cid]:
                        with lock:
                            problems.append(f"client {cid}: balance {b} sampled after {last[cid]}")
                    last[cid] = b

    threads = [threading.Thread(target=spender, args=(k,)) for k in range(SMALL + LARGE)]
    threads.append(threading.Thread(target=reader))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), f"seed {seed}: a spender did not stop"
    assert not problems, f"seed {seed}: {problems[:5]}"
    print(f"overspend on {env.engine}: {SMALL}+{LARGE} connections for {elapsed:.1f} s, {counts['ok']} spends "
          f"acknowledged, {counts['refused']} refused ({(counts['ok'] + counts['refused']) / elapsed:.0f}/s), "
          f"{len(redeemed)} coupons redeemed, {len(samples)} balance samples")
    assert counts["ok"] and counts["refused"], f"seed {seed}: the load did not reach the limits: {counts}"
    for cid in cids:
        final = A.balance(cid)
        assert final == START_POINTS - spent[cid], f"seed {seed}: client {cid} {final} != {START_POINTS} - {spent[cid]}"
        assert final >= 0
        usable = set(A.coupon_ids(cid))
        mine = set(coupons[cid])
        assert usable == mine - set(redeemed), f"seed {seed}: client {cid} usable coupons {usable}"
    assert body_of(A.get("/loyalty/settings/"))["active"] is False
