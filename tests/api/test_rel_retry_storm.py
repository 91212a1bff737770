# Issue 4.2, retry storm (API.md 2.4 "Retries are safe"): every order is sent 3 times from 16
# connections, one of the three on a raw socket closed before its answer is read (a POS that gave
# up). Exactly one order exists per externalId, the accruals are exactly what one order each gives,
# and every answer any retry got is the first answer byte for byte.
import base64
import json
import queue
import socket
import struct
import threading
import time
from decimal import Decimal

from conftest import OWNER_A, describe, loads, new_phone, rule, sale, scale, uniq
from rel_common import LoadSession, api_key_auth, balance, history, ledger_sums, money, seeded

CONNECTIONS = 16
CLIENTS = 8
START_POINTS = 1000
PERCENT = 10


def abandoned_post(port, path, auth, body, rng):
    """POST the request on a fresh socket and close it without reading the answer: at once,
    after a few ms, with a reset (SO_LINGER 0), or halfway through the body."""
    payload = json.dumps(body).encode()
    cred = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {cred}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
    mode = rng.choice(("close", "wait", "reset", "half"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if mode == "half":  # gave up mid-body: never an order, and no worker stays stuck on it
            sock.sendall(head + payload[: len(payload) // 2])
            return mode
        sock.sendall(head + payload)
        if mode == "wait":
            time.sleep(rng.uniform(0, 0.02))
        if mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return mode


def test_retry_storm_makes_one_order_each(env, A):
    rng, seed = seeded("retry storm")
    n = scale(200, 1000)
    A.settings(active=True, newCustomerSettings=rule("amount", START_POINTS),
               customerSettings=rule("percentage", PERCENT))
    auth = api_key_auth(A, OWNER_A[0])
    phones = [new_phone() for _ in range(CLIENTS)]
    cids = {p: A.order(sale(phone=p))["clientId"] for p in phones}
    orders = []
    for _ in range(n):
        price = rng.randint(10, 200)
        spend = rng.randint(0, 5)
        orders.append(sale(ext=uniq("storm"), phone=rng.choice(phones),
                           items=[{"name": "s", "price": price, "quantity": 1}], card=price - spend,
                           amount=spend))
    # 3 sends per order, one of them abandoned; shuffled within windows of 48 sends so that the
    # copies of an order race each other on different connections.
    tasks = []
    for i in range(n):
        dropped = rng.randrange(3)
        tasks += [(i, k == dropped) for k in range(3)]
    for w in range(0, len(tasks), 48):
        window = tasks[w:w + 48]
        rng.shuffle(window)
        tasks[w:w + 48] = window
    work = queue.Queue()
    for t in tasks:
        work.put(t)
    answers = [[] for _ in range(n)]
    problems = []
    lock = threading.Lock()
    seeds = [rng.randrange(2**32) for _ in range(CONNECTIONS)]
    path = "/ext/api/v1/fiscal/orders/"

    def worker(k):
        import random
        local = random.Random(seeds[k])
        with LoadSession(auth) as s:
            while True:
                try:
                    i, dropped = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    if dropped:
                        abandoned_post(env.server.port, path, auth, orders[i], local)
                        continue
                    r = s.post(env.url("/fiscal/orders/"), json=orders[i])
                except Exception as exc:  # noqa: BLE001 - reported with the seed below
                    with lock:
                        problems.append(f"order {i}: {exc!r}")
                    continue
                with lock:
                    if r.status_code != 200:
                        problems.append(f"order {i}: " + describe(r))
                    else:
                        answers[i].append((r.text, r.headers.get("Idempotent-Replayed")))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), f"the storm did not finish in 600 s (seed {seed})"
    assert not problems, f"seed {seed}: {problems[:5]}"
    print(f"retry storm on {env.engine}: {n} orders x 3 sends ({n} abandoned) from {CONNECTIONS} "
          f"connections in {elapsed:.1f} s ({3 * n / elapsed:.0f} sends/s)")

    # Once more, after the storm: a replay, and the same bytes every earlier answer carried.
    with LoadSession(auth) as s:
        for i, body in enumerate(orders):
            r = s.post(env.url("/fiscal/orders/"), json=body)
            assert r.status_code == 200, describe(r)
            assert r.headers.get("Idempotent-Replayed") == "true", f"seed {seed}, order {i}" + describe(r)
            assert len(answers[i]) == 2, f"seed {seed}, order {i}: {answers[i]}"
            for text, _ in answers[i]:
                assert text == r.text, f"seed {seed}, order {i}: a retry got another answer"
            fresh = [h for _, h in answers[i] if h != "true"]
            assert len(fresh) <= 1, f"seed {seed}, order {i}: {len(fresh)} answers not marked as replays"
            o = loads(r.text)
            card = Decimal(body["order"]["amountCard"])
            assert money(o["accrued"]["amount"]) == card * PERCENT / 100, f"seed {seed}, order {i}"
            assert money(o["spent"]["amount"]) == body["amount"], f"seed {seed}, order {i}"

    # Exactly one order per externalId, each client's balance and ledger exactly n orders' worth.
    with LoadSession(A.auth) as s:
        for phone in phones:
            cid = cids[phone]
            mine = [b for b in orders if b["order"]["customerPhone"] == phone]
            listed, offset = [], 0
            while True:
                r = s.get(env.url("/fiscal/orders/"), params={"client_id": cid, "offset": offset, "limit": 1000})
                assert r.status_code == 200, describe(r)
                page = loads(r.text)
                listed += [o["externalOrderNumber"] for o in page]
                if len(page) < 1000:
                    break
                offset += 1000
            storm = sorted(x for x in listed if x.startswith("storm-"))
            assert storm == sorted(b["order"]["externalId"] for b in mine), \
                f"seed {seed}: client {cid} has {len(storm)} storm orders, want {len(mine)}"
            accrued = sum(Decimal(b["order"]["amountCard"]) * PERCENT / 100 for b in mine)
            spent = sum(Decimal(b["amount"]) for b in mine)
            sums = ledger_sums(history(s, env.base, cid))
            assert sums.get("accrual", 0) == START_POINTS + accrued, f"seed {seed}, client {cid}: {sums}"
            assert sums.get("spend", 0) == -spent, f"seed {seed}, client {cid}: {sums}"
            assert balance(s, env.base, cid) == START_POINTS + accrued - spent, f"seed {seed}, client {cid}"
            assert A.client(phone)["totalPurchases"] == 1 + len(mine)
