# Issue 4.1, crash safety (API.md 7, 2.4): orders, and holds with an Idempotency-Key, from 16
# connections while the server is killed with SIGKILL at random moments and restarted, many
# times. After every cycle each acknowledged write is still there (its replay answers the
# identical body), each one left without an answer took effect exactly once when retried, the
# database is intact and the balances add up.
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from conftest import OWNER_A, Server, body_of, describe, new_phone, rule, sale, scale, uniq
from rel_common import HOLD, LoadSession, api_key_auth, balance, seeded, sqlite_integrity

CONNECTIONS = 16
START_POINTS = 10000
ACCRUAL = 2  # every order after the first accrues 2 points (type amount), whatever it spends


class Write:
    """One write of the load: an order (idempotent by externalId) or, one in four, a hold of
    1-3 points with an Idempotency-Key (its key and kept answer commit with it)."""

    def __init__(self, rng, phone, cid):
        self.phone = phone
        if rng.random() < 0.25:
            self.path = HOLD
            self.amount = rng.randint(1, 3)
            self.body = {"clientId": cid, "currency": "points", "amount": self.amount}
            self.headers = {"Idempotency-Key": uniq("crash-hold")}
            self.delta = -self.amount
            self.purchases = 0
        else:
            spend = rng.randint(0, 3)
            self.path = "/fiscal/orders/"
            self.body = sale(ext=uniq("crash"), phone=phone, items=[{"name": "c", "price": 50, "quantity": 1}],
                             card=50 - spend, amount=spend)
            self.headers = {}
            self.delta = ACCRUAL - spend
            self.purchases = 1

    def post(self, s, env):
        return s.post(env.url(self.path), json=self.body, headers=self.headers)


def run_cycle(env, auth, rng, cids, seconds):
    """16 threads post writes until the server is SIGKILLed after `seconds`. Returns
    (acked [(write, text)], unanswered [write], unexpected [text])."""
    acked, unanswered, unexpected = [], [], []
    lock = threading.Lock()
    phones = sorted(cids)
    seeds = [rng.randrange(2**32) for _ in range(CONNECTIONS)]

    def worker(i):
        import random
        local = random.Random(seeds[i])
        with LoadSession(auth, timeout=60) as s:
            while True:
                phone = local.choice(phones)
                w = Write(local, phone, cids[phone])
                try:
                    r = w.post(s, env)
                except requests.RequestException:
                    with lock:
                        unanswered.append(w)
                    return
                with lock:
                    if r.status_code == 200:
                        acked.append((w, r.text))
                    else:  # not expected from a healthy server; retried and reported below
                        unanswered.append(w)
                        unexpected.append(f"{r.status_code} {r.text[:300]}")
                        return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    env.server.proc.send_signal(signal.SIGKILL)  # our own server, by its PID
    env.server.proc.wait(timeout=30)
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a load thread did not stop after the kill"
    return acked, unanswered, unexpected


def replay_all(env, acked, pool, auth):
    """Every acknowledged write replays with the identical body and Idempotent-Replayed: true."""
    local = threading.local()

    def one(item):
        w, text = item
        if not hasattr(local, "s"):
            local.s = LoadSession(auth)
        r = w.post(local.s, env)
        assert r.status_code == 200, describe(r)
        assert r.text == text, "an acknowledged write changed or vanished" + describe(r)
        assert r.headers.get("Idempotent-Replayed") == "true", describe(r)
    list(pool.map(one, acked))


def test_orders_survive_repeated_sigkill(env, A):
    rng, seed = seeded("crash")
    cycles = scale(4, 50)
    A.settings(active=True, newCustomerSettings=rule("amount", START_POINTS),
               customerSettings=rule("amount", ACCRUAL))
    auth = api_key_auth(A, OWNER_A[0])
    phones = [new_phone() for _ in range(CONNECTIONS)]
    cids = {}
    for phone in phones:
        cids[phone] = A.order(sale(phone=phone))["clientId"]
    expected = {phone: Decimal(START_POINTS) for phone in phones}
    count = {phone: 1 for phone in phones}
    all_acked, total_unanswered, kills_at = [], 0, []
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        for cycle in range(cycles):
            where = f"(seed {seed}, cycle {cycle})"
            # Mostly mid-load; one in five right after a restart, while connections are opening.
            seconds = rng.uniform(0.0, 0.2) if rng.random() < 0.2 else rng.uniform(0.2, 1.5)
            kills_at.append(seconds)
            acked, unanswered, unexpected = run_cycle(env, auth, rng, cids, seconds)
            assert not unexpected, f"answers other than 200 under load {where}: {unexpected[:5]}"
            if env.engine == "sqlite":
                text = sqlite_integrity(env.db)
                assert text == "ok", f"integrity_check after the kill {where}: {text}"
            p = env.check()
            assert p.returncode == 0, f"kopilkad check after the kill {where}:\n{p.stdout}{p.stderr}"
            env.server = Server(env.db, env.tmp, env.server.flags).start()
            replay_all(env, acked, pool, auth)
            # a write that got no answer either committed (replay) or not (done now): once
            for w in unanswered:
                r = w.post(A.s, env)
                assert r.status_code == 200, where + describe(r)
            for w in [w for w, _ in acked] + unanswered:
                expected[w.phone] += w.delta
                count[w.phone] += w.purchases
            for phone in phones:
                got = A.balance(cids[phone])
                assert got == expected[phone], f"client {cids[phone]}: balance {got}, want {expected[phone]} {where}"
                assert A.client(phone)["totalPurchases"] == count[phone], where
            all_acked += acked
            total_unanswered += len(unanswered)
        # at the end, every write acknowledged in any cycle survived all the later kills too
        replay_all(env, all_acked, pool, auth)
    elapsed = time.monotonic() - t0
    print(f"crash: {cycles} SIGKILL cycles on {env.engine}, {len(all_acked)} acknowledged writes, "
          f"{total_unanswered} unanswered and retried, {CONNECTIONS} connections, "
          f"{sum(kills_at):.1f} s of load ({len(all_acked) / max(sum(kills_at), 0.001):.0f} writes/s), "
          f"{elapsed:.0f} s in all")
    assert all_acked, "no write was acknowledged in any cycle"
