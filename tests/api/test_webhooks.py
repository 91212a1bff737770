"""Signed webhooks (issue 16): endpoints (owner only), the transactional outbox, the delivery
worker. A receiver in the test (http.server on 127.0.0.1) verifies every signature; the server
runs with --webhook-allow-private 1 to reach it, except where the refusal itself is tested."""
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import threading
import time

import pytest

from conftest import (OWNER_A, Server, Session, assert_error, body_of, init_merchant, new_phone,
                      refund, rule, run_cli, sale)

FAST = ("--lockout-addr-failures", "100000", "--webhook-allow-private", "1", "--webhook-period-ms",
        "50", "--webhook-retry-base-ms", "100", "--webhook-timeout-ms", "1000")
ALL_TYPES = ["client.created", "client.updated", "order.created", "balance.changed",
             "points.expiring", "hold.created", "hold.written_off", "hold.cancelled", "hold.expired",
             "coupon.issued", "coupon.redeemed"]
SIG = re.compile(r"^t=([0-9]+),v1=([0-9a-f]{64})$")


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that checks each POST's signature and keeps the events.
    While `down`, it answers 503 (and keeps nothing)."""

    def __init__(self, secret=None):
        self.secret = secret
        self.events = []  # every delivered body, parsed, in arrival order
        self.bad = []  # what failed verification
        self.down = False
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.verify(self.headers, body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def verify(self, headers, body):
        m = SIG.match(headers.get("Kopilka-Signature", ""))
        ok = m is not None and headers.get("Content-Type") == "application/json"
        if ok:
            want = hmac.new(self.secret.encode(), m.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, m.group(2)) and abs(int(m.group(1)) - time.time()) < 300
        event = json.loads(body)
        ok = ok and headers.get("Kopilka-Event-Id") == event["id"]
        with self.lock:
            (self.events if ok else self.bad).append(event)

    def of_type(self, type_):
        with self.lock:
            return [e for e in self.events if e["type"] == type_]

    def ids(self):
        with self.lock:
            return [e["id"] for e in self.events]

    def wait(self, cond, timeout=30, what="events"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if cond(list(self.events)):
                    return
            time.sleep(0.05)
        with self.lock:
            got = [(e["type"], e["id"]) for e in self.events]
        pytest.fail(f"timed out waiting for {what}; got {got[-20:]}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
    assert not r.bad, f"events that failed the signature check: {r.bad[:3]}"


def add_endpoint(api, receiver, events=ALL_TYPES, **extra):
    ep = body_of(api.post("/webhooks/", {"url": receiver.url, "events": events, **extra}), 201)
    receiver.secret = ep["secret"]
    return ep


# --- the endpoints API ------------------------------------------------------------------------


def test_endpoints_crud_and_validation(make_env):
    env = make_env(*FAST)
    A, B = env.a, env.b
    ep = body_of(A.post("/webhooks/", {"url": "https://pos.example.com/hook", "events": ["order.created"]}), 201)
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", ep["secret"])
    assert ep["events"] == ["order.created"] and ep["active"] is True
    listed = body_of(A.get("/webhooks/"))
    assert [e["id"] for e in listed] == [ep["id"]]
    assert listed[0]["secret"] != ep["secret"] and ep["secret"] not in json.dumps(listed)
    assert listed[0]["secret"].startswith("whsec_") and listed[0]["secret"].endswith(ep["secret"][-4:])
    # a chosen secret, shown once; a partial update keeps what it does not name
    own = body_of(A.post("/webhooks/", {"url": "http://pos.example.com:8443/h?x=1", "secret": "s" * 20,
                                        "events": ["client.created", "order.created"], "active": False}), 201)
    assert own["secret"] == "s" * 20 and own["active"] is False
    upd = body_of(A.put(f"/webhooks/{own['id']}/", {"active": True}))
    assert upd["active"] is True and upd["url"] == own["url"] and upd["events"] == own["events"]
    assert upd["secret"] != "s" * 20
    upd = body_of(A.put(f"/webhooks/{own['id']}/", {"secret": "t" * 16, "events": ["hold.expired"]}))
    assert upd["secret"] == "t" * 16 and upd["events"] == ["hold.expired"]
    # validation names the field and the rule
    for body, field in [
        ({"url": "ftp://x.example.com/", "events": ["order.created"]}, "url"),
        ({"url": "pos.example.com/hook", "events": ["order.created"]}, "url"),
        ({"url": "https://user:pw@x.example.com/", "events": ["order.created"]}, "url"),
        ({"url": "https:///nohost", "events": ["order.created"]}, "url"),
        ({"url": "https://x.example.com/#frag", "events": ["order.created"]}, "url"),
        ({"events": ["order.created"]}, "url"),
        ({"url": "https://x.example.com/", "events": []}, "events"),
        ({"url": "https://x.example.com/"}, "events"),
        ({"url": "https://x.example.com/", "events": ["order.created", "order.deleted"]}, "events[1]"),
        ({"url": "https://x.example.com/", "events": ["order.created"], "secret": "short"}, "secret"),
        ({"url": "https://x.example.com/", "events": ["order.created"], "secret": "with space 1234567"}, "secret"),
        ({"url": "https://x.example.com/", "events": ["order.created"], "active": "yes"}, "active"),
    ]:
        assert_error(A.post("/webhooks/", body), 400, code="validation_failed", field=field)
    assert_error(A.put(f"/webhooks/{own['id']}/", {"url": "javascript:alert(1)"}), 400, field="url")
    # another merchant sees none of it
    assert body_of(B.get("/webhooks/")) == []
    assert_error(B.put(f"/webhooks/{ep['id']}/", {"active": False}), 404, code="not_found")
    assert_error(B.delete(f"/webhooks/{ep['id']}/"), 404, code="not_found")
    assert_error(B.get(f"/webhooks/{ep['id']}/deliveries/"), 404, code="not_found")
    # delete
    assert A.delete(f"/webhooks/{ep['id']}/").status_code == 204
    assert_error(A.delete(f"/webhooks/{ep['id']}/"), 404, code="not_found")
    assert [e["id"] for e in body_of(A.get("/webhooks/"))] == [own["id"]]
    assert_error(A.post("/webhooks/events/evt_00000000000000000000000000000000/redeliver/"), 404, code="not_found")
    assert_error(A.post("/webhooks/events/nonsense/redeliver/"), 404)


# --- events -----------------------------------------------------------------------------------


def wait_delivered(api, ep_id, n, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = body_of(api.get(f"/webhooks/{ep_id}/deliveries/", params={"limit": 100}))
        if len(log) >= n and all(d["status"] == "delivered" for d in log):
            return log
        time.sleep(0.1)
    pytest.fail(f"not delivered: {log[:5]}")


def test_every_event_type_arrives_with_the_api_shape(make_env, receiver):
    env = make_env(*FAST, "--expire-sweep-seconds", "1")
    A = env.a
    ep = add_endpoint(A, receiver)
    # a merchant without endpoints writes no events: B's changes never reach anyone
    body_of(env.b.post("/clients/", {"phone": new_phone()}), 201)

    cat = body_of(A.post("/loyalty/coupons/", {"title": "Coffee"}), 201)
    A.settings(active=True, newCustomerSettings=rule("amount", 50, 3, cat["id"]),
               customerSettings=rule("amount", 0))
    phone = new_phone()
    client = A.create_client(phone=phone, name="Ann")
    receiver.wait(lambda ev: any(e["type"] == "client.created" for e in ev))
    created = receiver.of_type("client.created")[0]
    assert created["data"] == client

    updated = body_of(A.put(f"/clients/{client['id']}/", {"name": "Ann B"}))
    receiver.wait(lambda ev: any(e["type"] == "client.updated" for e in ev))
    assert receiver.of_type("client.updated")[0]["data"] == updated

    s = A.order(sale(phone=phone, card=100))  # accrues 50 points in a lot of 3 days, issues the coupon
    receiver.wait(lambda ev: {"order.created", "balance.changed", "coupon.issued"} <=
                  {e["type"] for e in ev}, what="the sale's events")
    order_ev = receiver.of_type("order.created")[0]
    assert order_ev["data"] == body_of(A.get(f"/fiscal/orders/{s['id']}/"))
    bal_ev = receiver.of_type("balance.changed")[0]
    assert bal_ev["data"] == {"clientId": client["id"], "balance": body_of(A.get(f"/clients/{client['id']}/balance/"))}
    issued = receiver.of_type("coupon.issued")[0]["data"]
    assert issued["clientId"] == client["id"]
    assert issued["coupon"]["id"] in [x["id"] if isinstance(x, dict) else x for x in s["issuedCoupons"]]
    assert issued["coupon"] in body_of(A.get(f"/clients/{client['id']}/coupons/"))

    # the lot expires within 7 days: points.expiring, once
    receiver.wait(lambda ev: any(e["type"] == "points.expiring" for e in ev), timeout=30)
    exp = receiver.of_type("points.expiring")[0]["data"]
    assert exp["clientId"] == client["id"] and exp["currency"] == "points" and float(exp["amount"]) == 50
    assert 2 * 86400_000 < exp["expiresAt"] - time.time() * 1000 <= 3 * 86400_000

    A.settings(newCustomerSettings=rule("amount", 0))
    coupon_id = issued["coupon"]["id"]
    s2 = A.order(sale(phone=phone, card=100, coupons=[coupon_id]))
    receiver.wait(lambda ev: any(e["type"] == "coupon.redeemed" for e in ev))
    assert receiver.of_type("coupon.redeemed")[0]["data"]["coupon"]["id"] == coupon_id
    r = A.order(refund([{"id": s2["items"][0]["id"]}]))
    receiver.wait(lambda ev: any(e["type"] == "order.created" and e["data"]["receiptType"] == "refund" for e in ev))
    ref_ev = [e for e in receiver.of_type("order.created") if e["data"]["receiptType"] == "refund"][0]
    assert ref_ev["data"]["id"] == r["id"]

    hold = "/fiscal_hub/cash_back/hold/"
    h1 = body_of(A.post(hold, {"clientId": client["id"], "currency": "points", "amount": 5}))
    body_of(A.post(hold + "write_off/", {"transactionId": h1["transactionId"], "fiscalOrderId": "f1"}))
    h2 = body_of(A.post(hold, {"clientId": client["id"], "currency": "points", "amount": 5}))
    body_of(A.post(hold + "cancel/", {"transactionId": h2["transactionId"]}))
    soon = int(time.time() * 1000) + 1500
    h3 = body_of(A.post(hold, {"clientId": client["id"], "currency": "points", "amount": 5,
                               "expirationDate": soon}))
    receiver.wait(lambda ev: {"hold.created", "hold.written_off", "hold.cancelled", "hold.expired"} <=
                  {e["type"] for e in ev}, timeout=30, what="the hold events")
    by_tx = {(e["type"], e["data"]["transactionId"]): e["data"] for e in receiver.events if e["type"].startswith("hold.")}
    assert by_tx[("hold.created", h1["transactionId"])] == h1
    assert by_tx[("hold.written_off", h1["transactionId"])]["status"] == "written_off"
    assert by_tx[("hold.cancelled", h2["transactionId"])]["status"] == "cancelled"
    assert by_tx[("hold.expired", h3["transactionId"])]["status"] == "expired"

    assert {e["type"] for e in receiver.events} == set(ALL_TYPES)
    # every event once, ids unique, envelope exact
    assert len(set(receiver.ids())) == len(receiver.ids())
    for e in receiver.events:
        assert set(e) == {"id", "type", "createdAt", "data"} and re.fullmatch(r"evt_[0-9a-f]{32}", e["id"])
    assert len(receiver.of_type("points.expiring")) == 1
    log = wait_delivered(A, ep["id"], len(receiver.events))
    assert {d["eventId"] for d in log} == set(receiver.ids())
    assert all(d["attempts"] == 1 and d["lastStatus"] == 204 and d["log"][0]["status"] == 204 for d in log)


def test_unsubscribed_and_paused_endpoints_get_nothing(make_env, receiver):
    env = make_env(*FAST)
    A = env.a
    ep = add_endpoint(A, receiver, events=["order.created"])
    A.create_client(phone=new_phone())  # not subscribed: no event at all
    body_of(A.put(f"/webhooks/{ep['id']}/", {"active": False}))
    A.order(sale(card=100))  # paused: not written
    body_of(A.put(f"/webhooks/{ep['id']}/", {"active": True}))
    s = A.order(sale(card=100))
    receiver.wait(lambda ev: len(ev) >= 1)
    time.sleep(1)
    assert [e["data"]["id"] for e in receiver.events] == [s["id"]]
    assert len(body_of(A.get(f"/webhooks/{ep['id']}/deliveries/"))) == 1


# --- delivery -----------------------------------------------------------------------------------


def update_names(A, clients, rounds):
    """client.updated events: each client renamed to "<client>-<k>" for k in range(rounds)."""
    for k in range(rounds):
        for c in clients:
            body_of(A.put(f"/clients/{c['id']}/", {"name": f"{c['id']}-{k}"}))


def names_per_client(events):
    seen = {}
    for e in events:
        if e["type"] == "client.updated":
            cid, k = e["data"]["name"].split("-")
            seen.setdefault(int(cid), []).append(int(k))
    return seen


def test_receiver_down_then_back_delivers_all_in_order_per_client(make_env, receiver):
    env = make_env(*FAST)
    A = env.a
    ep = add_endpoint(A, receiver, events=["client.updated"])
    clients = [A.create_client(phone=new_phone()) for _ in range(3)]
    receiver.down = True
    update_names(A, clients, 6)
    time.sleep(2)  # several failed attempts each (backoff from 100 ms)
    log = body_of(A.get(f"/webhooks/{ep['id']}/deliveries/", params={"limit": 100}))
    assert len(log) == 18 and all(d["status"] == "pending" for d in log)
    first = [d for d in log if d["attempts"] > 0]
    assert first and all(d["lastStatus"] == 503 for d in first)
    # a later event of a client waits while an earlier one is pending: only the first of each
    # client was ever tried
    assert len(first) == 3, [(d["eventId"], d["attempts"]) for d in log]
    assert receiver.events == []
    receiver.down = False
    receiver.wait(lambda ev: len(ev) >= 18, timeout=60)
    seen = names_per_client(receiver.events)
    assert seen == {c["id"]: list(range(6)) for c in clients}
    log = wait_delivered(A, ep["id"], 18)
    retried = [d for d in log if d["attempts"] > 1]
    assert len(retried) == 3 and all(d["log"][0]["status"] == 204 and d["log"][-1]["status"] == 503
                                     for d in retried)
    assert all(a["latencyMs"] >= 0 for d in log for a in d["log"])
    # paging
    page = body_of(A.get(f"/webhooks/{ep['id']}/deliveries/", params={"limit": 5, "offset": 5}))
    assert [d["id"] for d in page] == [d["id"] for d in log[5:10]]


def test_sigkill_while_events_are_pending_loses_none(make_env, receiver):
    flags = FAST[:-2] + ("--webhook-timeout-ms", "300")
    env = make_env(*flags)
    A = env.a
    add_endpoint(A, receiver, events=["client.updated"])
    clients = [A.create_client(phone=new_phone()) for _ in range(4)]
    acknowledged = {}
    for cycle in range(3):
        for k in range(5):
            for c in clients:
                name = f"{c['id']}-{cycle * 5 + k}"
                r = Session(OWNER_A).put(env.url(f"/clients/{c['id']}/"), json={"name": name})
                assert r.status_code == 200, r.text
                acknowledged.setdefault(c["id"], []).append(cycle * 5 + k)
        env.server.proc.send_signal(signal.SIGKILL)  # mid-delivery: events are pending
        env.server.proc.wait(timeout=10)
        env.server = Server(env.db, env.tmp, flags).start()
    # every acknowledged change's event arrives at least once, in order per client (a resent
    # event may repeat one already seen, never jump back before a later one's first arrival)
    receiver.wait(lambda ev: names_per_client(ev).keys() == acknowledged.keys() and all(
        set(v) == set(acknowledged[k]) for k, v in names_per_client(ev).items()), timeout=90,
        what="every acknowledged event")
    for cid, ks in names_per_client(receiver.events).items():
        firsts = []
        for k in ks:
            if k not in firsts:
                firsts.append(k)
        assert firsts == acknowledged[cid], (cid, ks)


def test_private_addresses_are_refused_without_the_setting(make_env, receiver):
    env = make_env("--lockout-addr-failures", "100000", "--webhook-period-ms", "50",
                   "--webhook-retry-base-ms", "100")
    A = env.a
    ep = add_endpoint(A, receiver, events=["client.created"])
    A.create_client(phone=new_phone())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = body_of(A.get(f"/webhooks/{ep['id']}/deliveries/"))
        if log and log[0]["attempts"] >= 2:
            break
        time.sleep(0.1)
    d = log[0]
    assert d["status"] == "pending" and d["attempts"] >= 2 and d["lastStatus"] is None
    assert "127.0.0.1 is not a public address" in d["lastError"]
    assert all(a["status"] is None and "not a public address" in a["error"] for a in d["log"])
    assert receiver.events == []


def test_redeliver_sends_the_same_event_again(make_env, receiver):
    env = make_env(*FAST)
    A = env.a
    ep = add_endpoint(A, receiver, events=["client.created"])
    A.create_client(phone=new_phone())
    receiver.wait(lambda ev: len(ev) == 1)
    evt = receiver.events[0]["id"]
    # Delivered and recorded first (a redeliver while the worker is still recording its attempt
    # is the lost-lease case: the attempt is logged and counted, the state is the redeliver's).
    wait_delivered(A, ep["id"], 1)
    body = body_of(A.post(f"/webhooks/events/{evt}/redeliver/"), 202)
    assert body == {"eventId": evt, "deliveries": 1}
    receiver.wait(lambda ev: len(ev) == 2)
    assert receiver.events[1] == receiver.events[0]
    log = wait_delivered(A, ep["id"], 1)
    assert log[0]["attempts"] == 2 and len(log[0]["log"]) == 2
    # another merchant cannot name it
    assert_error(env.b.post(f"/webhooks/events/{evt}/redeliver/"), 404, code="not_found")


@pytest.mark.skipif("postgres" not in os.environ.get("KOPILKA_TEST_ENGINES", "sqlite,postgres"),
                    reason="multi-node runs on PostgreSQL only")
def test_two_nodes_deliver_each_event_once(pg_cluster, tmp_path, receiver):
    uri = pg_cluster.new_database()
    init_merchant(uri, *OWNER_A, name="Merchant A")
    nodes = [Server(uri, str(tmp_path), FAST).start() for _ in range(2)]
    try:
        s = Session(OWNER_A)
        ep = body_of(s.post(nodes[0].base + "/webhooks/", json={"url": receiver.url, "events": ["client.created"]}), 201)
        receiver.secret = ep["secret"]
        n = 40
        for i in range(n):
            body_of(s.post(nodes[i % 2].base + "/clients/", json={"phone": new_phone()}), 201)
        receiver.wait(lambda ev: len(ev) >= n, timeout=60)
        time.sleep(1.5)  # anything sent twice would have arrived by now
        ids = receiver.ids()
        assert len(ids) == n and len(set(ids)) == n
        log = body_of(s.get(nodes[1].base + f"/webhooks/{ep['id']}/deliveries/", params={"limit": 100}))
        assert len(log) == n and all(d["status"] == "delivered" and d["attempts"] == 1 for d in log)
    finally:
        for node in nodes:
            assert node.stop() == 0, node.log_tail()
    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, p.stdout + p.stderr
