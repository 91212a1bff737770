"""Issue 13 item 4: on PostgreSQL a write locks the rows it touches (the client, the sale it
refunds, its Idempotency-Key), not a table, so writes of different clients run side by side on
one node and across nodes. Every guarantee holds as before: the race of 3 nodes x 16
connections over the same 50 clients ends with each balance exactly what the acknowledged
answers add up to and `kopilkad check` clean; a write for a client locked elsewhere waits while
a write for another client completes; two identical requests racing each other are one write."""
import os
import random
import select
import subprocess
import threading
import time
from decimal import Decimal

import pytest
import requests

from conftest import (DEFAULT_SERVE_FLAGS, OWNER_A, Server, Session, body_of, describe, init_merchant, loads, new_phone,
                      rule, run_cli, sale, scale, uniq)
from rel_common import (CANCEL, HOLD, HUB_REFUND, WRITE_OFF, LoadSession, history, ledger_sums,
                        money, seeded)

pytestmark = pytest.mark.skipif("postgres" not in os.environ.get("KOPILKA_TEST_ENGINES", "sqlite,postgres"),
                                reason="row locks across nodes: PostgreSQL only")

NODES = 3
CONNECTIONS = 16  # per node
CLIENTS = 50
FIRST_POINTS = 100
REFUSALS = {"insufficient_funds", "item_not_refundable"}
TYPES = ("accrual", "refund_accrual", "spend", "refund_spend", "hold", "release")


@pytest.fixture(scope="module")
def cluster(pg_cluster, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("pgrows"))
    uri = pg_cluster.new_database()
    init_merchant(uri, *OWNER_A, name="Merchant A")
    # A lock wait never times out here (it would end a wait by a retry and hide who waited).
    flags = DEFAULT_SERVE_FLAGS + ("--busy-timeout-ms", "120000")
    nodes = [Server(uri, tmp, flags).start() for _ in range(NODES)]
    yield uri, nodes
    for n in nodes:
        assert n.stop() == 0, n.log_tail()
    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, p.stdout + p.stderr


def url(node, path):
    return node.base + path


def psql(uri, sql):
    p = subprocess.run(["psql", uri, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


class Holder:
    """A psql session holding a transaction open (a row lock, an uncommitted row) until told."""

    def __init__(self, uri, sql):
        self.p = subprocess.Popen(["psql", uri, "-qAt", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.p.stdin.write(f"BEGIN; {sql}; SELECT 'held';\n")
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], 30)
        assert ready, "psql did not take the lock"
        line = ""
        while line.strip() != "held":  # the rows the statement returned come first
            line = self.p.stdout.readline()
            assert line, self.p.stderr.read()

    def end(self, verb="COMMIT"):
        self.p.communicate(f"{verb};\n", timeout=30)
        assert self.p.returncode == 0


def waiting(uri):
    """Backends of this database waiting for a lock now."""
    name = uri.rsplit("/", 1)[1]
    return int(psql(uri, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                         f" WHERE NOT l.granted AND a.datname = '{name}'"))


def await_waiting(uri, n):
    """Awaits (up to 20 s) n backends waiting for a lock."""
    deadline = time.monotonic() + 20
    while waiting(uri) < n:
        assert time.monotonic() < deadline, f"fewer than {n} writes came to wait for the lock"
        time.sleep(0.02)


def db_retries(node):
    text = Session().get(node.base.replace("/ext/api/v1", "") + "/metrics").text
    for line in text.splitlines():
        if line.startswith("kopilka_db_retries_total "):
            return int(float(line.split()[1]))
    return 0


def setup_client(node, points):
    """A client holding `points` points, accrued by a first sale."""
    s = Session(OWNER_A)
    body_of(s.put(url(node, "/loyalty/settings/"),
                  json={"active": True, "newCustomerSettings": rule("amount", points),
                        "customerSettings": rule("amount", 0), "maxSpendPercent": 100}))
    phone = new_phone()
    order = body_of(s.post(url(node, "/fiscal/orders/"), json=sale(phone=phone)))
    return order["clientId"], phone


def balance(node, cid):
    return body_of(Session(OWNER_A).get(url(node, f"/clients/{cid}/balance/")))[0]["amount"]


def post_in_thread(node, path, body, headers=None):
    """Posts in a thread; returns (thread, answers list) — the answer lands when it comes."""
    out = []

    def run():
        with Session(OWNER_A) as s:
            out.append(s.post(url(node, path), json=body, headers=headers or {}, timeout=60))

    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_a_write_for_another_client_completes_while_one_waits(cluster):
    uri, nodes = cluster
    a_cid, a_phone = setup_client(nodes[0], 50)
    b_cid, b_phone = setup_client(nodes[0], 50)
    retries = [db_retries(n) for n in nodes]
    holder = Holder(uri, f"SELECT id FROM clients WHERE id = {a_cid} FOR UPDATE")
    try:
        ta, out_a = post_in_thread(nodes[0], "/fiscal/orders/", sale(phone=a_phone, amount=5))
        await_waiting(uri, 1)  # the write for A waits for A's row
        with Session(OWNER_A) as s:
            # Before issue 13 every writer waited for the table lock the waiting write held:
            # these did not come back until A was released (the request timeout fails).
            for node in (nodes[0], nodes[1]):
                r = s.post(url(node, "/fiscal/orders/"), json=sale(phone=b_phone, amount=5), timeout=15)
                assert r.status_code == 200, describe(r)
            r = s.post(url(nodes[2], HOLD), json={"clientId": b_cid, "amount": 5}, timeout=15)
            assert r.status_code == 200, describe(r)
        assert ta.is_alive() and not out_a and waiting(uri) == 1, "the write for A did not wait"
        assert [db_retries(n) for n in nodes] == retries, "a write was run again"
    finally:
        holder.end()
    ta.join(timeout=60)
    assert out_a and out_a[0].status_code == 200, describe(out_a[0]) if out_a else "no answer"
    assert balance(nodes[1], a_cid) == 45
    assert balance(nodes[2], b_cid) == 35


def test_two_identical_orders_waiting_on_one_client_are_one_order(cluster):
    """Both pass the externalId lookup before either commits; the second's insert meets the
    first's row and the whole write runs again, replaying it."""
    uri, nodes = cluster
    cid, phone = setup_client(nodes[0], 50)
    body = sale(ext=uniq("twin"), phone=phone, amount=10, card=90)
    holder = Holder(uri, f"SELECT id FROM clients WHERE id = {cid} FOR UPDATE")
    try:
        t1, out1 = post_in_thread(nodes[0], "/fiscal/orders/", body)
        t2, out2 = post_in_thread(nodes[1], "/fiscal/orders/", body)
        await_waiting(uri, 2)
    finally:
        holder.end()
    t1.join(timeout=60)
    t2.join(timeout=60)
    answers = out1 + out2
    assert [r.status_code for r in answers] == [200, 200], [describe(r) for r in answers]
    assert answers[0].text == answers[1].text
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in answers) == ["", "true"]
    assert balance(nodes[2], cid) == 40  # spent once


def test_two_identical_refunds_of_one_sale_are_one_refund(cluster):
    """The seed's refund identity (externalId + fd) under the same race."""
    uri, nodes = cluster
    cid, phone = setup_client(nodes[0], 50)
    ext = uniq("twin-sale")
    body_of(Session(OWNER_A).post(url(nodes[0], "/fiscal/orders/"),
                                  json=sale(ext=ext, phone=phone, amount=10, card=90)))
    refund = {"order": {"receiptType": "refund", "externalId": ext, "fd": "77",
                        "items": [{"name": "Item", "price": 100, "quantity": 1}]}}
    holder = Holder(uri, f"SELECT id FROM clients WHERE id = {cid} FOR UPDATE")
    try:
        t1, out1 = post_in_thread(nodes[0], "/fiscal/orders/", refund)
        t2, out2 = post_in_thread(nodes[1], "/fiscal/orders/", refund)
        await_waiting(uri, 2)
    finally:
        holder.end()
    t1.join(timeout=60)
    t2.join(timeout=60)
    answers = out1 + out2
    assert [r.status_code for r in answers] == [200, 200], [describe(r) for r in answers]
    assert answers[0].text == answers[1].text
    assert balance(nodes[2], cid) == 50  # the 10 spent came back once


def test_two_identical_holds_with_one_idempotency_key_are_one_hold(cluster):
    uri, nodes = cluster
    cid, _phone = setup_client(nodes[0], 50)
    key = {"Idempotency-Key": uniq("twin-key")}
    body = {"clientId": cid, "amount": 7}
    holder = Holder(uri, f"SELECT id FROM clients WHERE id = {cid} FOR UPDATE")
    try:
        t1, out1 = post_in_thread(nodes[0], HOLD, body, key)
        t2, out2 = post_in_thread(nodes[1], HOLD, body, key)
        await_waiting(uri, 2)  # one on the client, the other on the key
    finally:
        holder.end()
    t1.join(timeout=60)
    t2.join(timeout=60)
    answers = out1 + out2
    assert [r.status_code for r in answers] == [200, 200], [describe(r) for r in answers]
    assert answers[0].text == answers[1].text
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in answers) == ["", "true"]
    assert balance(nodes[2], cid) == 43  # held once


def test_two_clients_created_with_one_phone_at_once_are_one_client(cluster):
    """An uncommitted row with the phone makes both inserts wait; it rolls back, one insert
    wins and the other meets it: 409."""
    uri, nodes = cluster
    phone = new_phone()
    merchant = psql(uri, "SELECT id FROM merchants ORDER BY id LIMIT 1")
    holder = Holder(uri, "INSERT INTO clients(merchant_id, phone, token, created_ms)"
                         f" VALUES ({merchant}, '{phone}', 'holder-{phone}', 0)")
    try:
        t1, out1 = post_in_thread(nodes[0], "/clients/", {"phone": phone})
        t2, out2 = post_in_thread(nodes[1], "/clients/", {"phone": phone})
        await_waiting(uri, 2)
    finally:
        holder.end("ROLLBACK")
    t1.join(timeout=60)
    t2.join(timeout=60)
    answers = out1 + out2
    assert sorted(r.status_code for r in answers) == [201, 409], [describe(r) for r in answers]
    assert loads([r for r in answers if r.status_code == 409][0].text)["code"] == "client_conflict"
    found = body_of(Session(OWNER_A).get(url(nodes[2], f"/clients/?phone={phone}")))
    assert len(found) == 1


def test_race_of_three_nodes_over_fifty_clients_keeps_balances_exact(cluster):
    """3 nodes x 16 connections run sales that spend, refunds (full, partial, the hub's), holds
    and their write-offs and cancels for the same 50 clients; then each client's ledger, type
    by type, and balance are exactly what the acknowledged answers add up to."""
    uri, nodes = cluster
    rng, seed = seeded("pg rows race")
    seconds = scale(12, 60)
    s0 = Session(OWNER_A)
    body_of(s0.put(url(nodes[0], "/loyalty/settings/"),
                   json={"active": True, "newCustomerSettings": rule("amount", FIRST_POINTS),
                         "customerSettings": rule("percentage", 5), "maxSpendPercent": 100}))
    auth = (OWNER_A[0], body_of(s0.post(url(nodes[0], "/api_keys/"), data=b""), 201)["key"])
    phones = [new_phone() for _ in range(CLIENTS)]
    firsts = [body_of(s0.post(url(nodes[i % NODES], "/fiscal/orders/"), json=sale(phone=p)))
              for i, p in enumerate(phones)]
    cids = [o["clientId"] for o in firsts]
    lock = threading.Lock()
    sums = {cid: {t: Decimal(0) for t in TYPES} for cid in cids}
    for cid in cids:
        sums[cid]["accrual"] += FIRST_POINTS
    sales, holds, counts, problems = [], [], {}, []
    retries_before = sum(db_retries(n) for n in nodes)

    def count(what):
        counts[what] = counts.get(what, 0) + 1

    def refused(r, what):
        try:
            code = loads(r.text).get("code")
        except ValueError:
            code = None
        with lock:
            if r.status_code == 400 and code in REFUSALS:
                count(f"{what} refused")
            else:
                problems.append(f"{what}: " + describe(r))

    def do_sale(s, node, local):
        i = local.randrange(CLIENTS)
        items = [{"name": f"g{k}", "price": local.randint(10, 300), "quantity": local.choice((1, 2))}
                 for k in range(local.randint(1, 2))]
        total = sum(it["price"] * it["quantity"] for it in items)
        spend = min(total, local.choice((0, local.randint(1, 60), local.randint(1, 60))))
        r = s.post(url(node, "/fiscal/orders/"), json=sale(ext=uniq("race"), phone=phones[i], items=items,
                                                          card=total - spend, amount=spend))
        if r.status_code != 200:
            return refused(r, "sale")
        o = loads(r.text)
        with lock:
            count("sale")
            sums[o["clientId"]]["accrual"] += money(o["accrued"]["amount"])
            sums[o["clientId"]]["spend"] -= money(o["spent"]["amount"])
            sales.append({"cid": o["clientId"], "busy": False,
                          "left": {it["id"]: money(it["quantity"]) for it in o["items"]}})

    def do_refund(s, node, local):
        with lock:
            open_sales = [x for x in sales if not x["busy"] and any(q > 0 for q in x["left"].values())]
            if not open_sales:
                return
            x = local.choice(open_sales)
            x["busy"] = True  # one refund of a sale at a time from here, so the test knows what is left
        try:
            left = {k: q for k, q in x["left"].items() if q > 0}
            style = local.choice(("full", "partial", "hub"))
            if style == "hub":
                r = s.post(url(node, HUB_REFUND), json={"orderItems": sorted(left)})
                taken = dict(left)
            elif style == "full":
                r = s.post(url(node, "/fiscal/orders/"), json={"order": {
                    "externalId": uniq("race-r"), "receiptType": "refund", "items": [{"id": k} for k in sorted(left)]}})
                taken = dict(left)
            else:
                item = local.choice(sorted(left))
                r = s.post(url(node, "/fiscal/orders/"), json={"order": {
                    "externalId": uniq("race-r"), "receiptType": "refund", "items": [{"id": item, "quantity": 1}]}})
                taken = {item: Decimal(1)}
            if r.status_code != 200:
                return refused(r, f"{style} refund")
            o = loads(r.text)
            with lock:
                count(f"{style} refund")
                for k, q in taken.items():
                    x["left"][k] -= q
                sums[x["cid"]]["refund_accrual"] += money(o["accrued"]["amount"])
                sums[x["cid"]]["refund_spend"] -= money(o["spent"]["amount"])
        finally:
            with lock:
                x["busy"] = False

    def do_hold(s, node, local):
        cid = local.choice(cids)
        r = s.post(url(node, HOLD), json={"clientId": cid, "currency": "points", "amount": local.randint(1, 40)})
        if r.status_code != 200:
            return refused(r, "hold")
        h = loads(r.text)
        with lock:
            count("hold")
            sums[cid]["hold"] -= money(h["amount"])
            holds.append((cid, h["transactionId"], money(h["amount"])))

    def do_settle(s, node, local):
        with lock:
            if not holds:
                return
            cid, tx, amount = holds.pop(local.randrange(len(holds)))
        if local.random() < 0.5:
            r = s.post(url(node, WRITE_OFF), json={"transactionId": tx, "fiscalOrderId": uniq("pos")})
            what, released = "write-off", False
        else:
            r = s.post(url(node, CANCEL), json={"transactionId": tx})
            what, released = "cancel", True
        if r.status_code != 200:
            return refused(r, what)
        with lock:
            count(what)
            if released:
                sums[cid]["release"] += amount

    ops = [do_sale] * 4 + [do_refund] * 3 + [do_hold] * 2 + [do_settle] * 2
    stop = threading.Event()
    seeds = [rng.randrange(2**32) for _ in range(NODES * CONNECTIONS)]

    def worker(k):
        local = random.Random(seeds[k])
        node = nodes[k % NODES]
        with LoadSession(auth, timeout=60) as s:
            while not stop.is_set():
                try:
                    local.choice(ops)(s, node, local)
                except (requests.RequestException, KeyError, ValueError) as exc:
                    with lock:
                        problems.append(repr(exc))
                    return

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(NODES * CONNECTIONS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while time.monotonic() - t0 < seconds and not problems:
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), f"seed {seed}: a worker did not stop"
    assert not problems, f"seed {seed}: {problems[:5]}"
    done = sum(counts.values())
    retries = sum(db_retries(n) for n in nodes) - retries_before
    print(f"pg rows race: {NODES} nodes x {CONNECTIONS} connections, {CLIENTS} clients, {elapsed:.1f} s,"
          f" {done} operations ({done / elapsed:.0f}/s), {retries} transactions run again:"
          f" {dict(sorted(counts.items()))}")
    assert counts.get("sale", 0) and counts.get("hold", 0) and counts.get("write-off", 0), counts
    assert sum(v for k, v in counts.items() if k.endswith("refund")), counts

    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, f"seed {seed}: kopilkad check:\n{p.stdout}{p.stderr}"
    with LoadSession(auth) as s:
        for i, cid in enumerate(cids):
            node = nodes[i % NODES]
            got = ledger_sums(history(s, node.base, cid))
            for kind in TYPES:
                assert got.get(kind, 0) == sums[cid][kind], \
                    f"seed {seed}: client {cid} {kind}: ledger {got.get(kind, 0)}, answers {sums[cid][kind]}"
            bal = money(body_of(s.get(url(node, f"/clients/{cid}/balance/")))[0]["amount"])
            assert bal == sum(sums[cid].values()), f"seed {seed}: client {cid}: balance {bal}, answers {sums[cid]}"
    # (A balance may be negative: a refund takes back accrued points already spent as a debt,
    # docs/ARCHITECTURE.md, "The ledger". No overspend is `kopilkad check`'s: no lot below zero, balances equal
    # lots less debt, held equals the active holds.)
