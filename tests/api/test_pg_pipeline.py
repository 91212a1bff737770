"""Issue 13 on PostgreSQL: a write sends the statements whose answer it does not wait for (an
order's items, its ledger and lot rows, the balance, the kept answer; the transaction's BEGIN
and COMMIT) down libpq's pipeline with the next statement it waits for, one round trip for
them all (src/store/pg.c, "the pipeline"). What must hold whatever the pipeline holds when a
statement in it fails: the failure reaches the request (nothing acknowledged), the transaction
leaves nothing behind, a failure worth a rerun reruns the whole write once, and the connection
serves the next write cleanly. The failures are made by triggers of the test's own, on the
rows an order sends ahead."""
import os
import subprocess

import pytest

from conftest import (DEFAULT_SERVE_FLAGS, OWNER_A, Server, Session, body_of, describe, init_merchant,
                      new_phone, rule, run_cli, sale, uniq)

pytestmark = pytest.mark.skipif("postgres" not in os.environ.get("KOPILKA_TEST_ENGINES", "sqlite,postgres"),
                                reason="libpq's pipeline: PostgreSQL only")


def psql(uri, sql):
    p = subprocess.run(["psql", uri, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(scope="module")
def node(pg_cluster, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("pgpipe"))
    uri = pg_cluster.new_database()
    init_merchant(uri, *OWNER_A, name="Merchant A")
    # Two connections: the writes after a failure run on the connection it happened on.
    server = Server(uri, tmp, DEFAULT_SERVE_FLAGS + ("--pool-size", "2")).start()
    # An item named 'boom' fails as a bug would (a CHECK-like refusal); an item named
    # 'conflict-once' fails the first time with a serialization failure, as a concurrent
    # write would make it, and then passes.
    psql(uri, """
        CREATE SEQUENCE test_once;
        CREATE FUNCTION test_item_trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW.name = 'boom' THEN
            RAISE EXCEPTION 'test: item refused' USING ERRCODE = '23514';
          END IF;
          -- A sequence is not rolled back with the transaction: the rerun passes.
          IF NEW.name = 'conflict-once' AND nextval('test_once') = 1 THEN
            RAISE EXCEPTION 'test: serialization failure' USING ERRCODE = '40001';
          END IF;
          RETURN NEW; END $$;
        CREATE TRIGGER test_item_trap BEFORE INSERT ON order_items
          FOR EACH ROW EXECUTE FUNCTION test_item_trap();
        -- An order whose externalId starts with 'order-boom' is refused at its own row, which
        -- goes ahead with its id taken beforehand; 'order-dup' as a uniqueness rule would.
        CREATE FUNCTION test_order_trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW.external_id LIKE 'order-boom%' THEN
            RAISE EXCEPTION 'test: order refused' USING ERRCODE = '23514';
          END IF;
          IF NEW.external_id LIKE 'order-dup%' THEN
            RAISE EXCEPTION 'test: duplicate order' USING ERRCODE = '23505';
          END IF;
          RETURN NEW; END $$;
        CREATE TRIGGER test_order_trap BEFORE INSERT ON orders
          FOR EACH ROW EXECUTE FUNCTION test_order_trap();
    """)
    s = Session(OWNER_A)
    body_of(s.put(server.base + "/loyalty/settings/",
                  json={"active": True, "newCustomerSettings": rule("amount", 10),
                        "customerSettings": rule("percentage", 10), "maxSpendPercent": 100}))
    yield uri, server
    assert server.stop() == 0, server.log_tail()
    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, p.stdout + p.stderr


def metric(server, name):
    text = Session().get(server.base.replace("/ext/api/v1", "") + "/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return 0


def balance(server, cid):
    return body_of(Session(OWNER_A).get(f"{server.base}/clients/{cid}/balance/"))[0]["amount"]


def items(*names):
    return [{"name": n, "price": 100, "quantity": 1} for n in names]


def test_a_failed_statement_sent_ahead_fails_the_order_and_leaves_nothing(node):
    uri, server = node
    s = Session(OWNER_A)
    phone = new_phone()
    first = body_of(s.post(server.base + "/fiscal/orders/", json=sale(phone=phone, card=100)))
    cid = first["clientId"]
    assert balance(server, cid) == 10
    orders_before = psql(uri, "SELECT count(*) FROM orders")
    ledger_before = psql(uri, "SELECT count(*) FROM ledger")
    # The item is sent ahead behind the order row; its refusal comes back with the next
    # statement that waits, and the order, its spend and its accrual are rolled back.
    ext = uniq("boom")
    r = s.post(server.base + "/fiscal/orders/",
               json=sale(ext=ext, phone=phone, card=200, amount=5, items=items("tea", "boom")))
    assert r.status_code == 500, describe(r)
    assert psql(uri, "SELECT count(*) FROM orders") == orders_before
    assert psql(uri, "SELECT count(*) FROM ledger") == ledger_before
    assert psql(uri, f"SELECT count(*) FROM orders WHERE external_id = '{ext}'") == "0"
    assert balance(server, cid) == 10
    # Both connections (the one that failed among them) serve the next writes cleanly: the
    # same order without the refused item, then more.
    expected = 10
    item_ids = set()
    for i in range(6):
        body = sale(ext=ext if i == 0 else None, phone=phone, card=199, amount=1,
                    items=items("tea", "cake"))
        order = body_of(s.post(server.base + "/fiscal/orders/", json=body))
        assert [it["name"] for it in order["items"]] == ["tea", "cake"]
        # The items' ids come back from the pipeline before the answer is written.
        assert all(it["id"] > 0 for it in order["items"]), order["items"]
        item_ids.update(it["id"] for it in order["items"])
        assert order["spent"]["amount"] == 1 and order["accrued"]["amount"] > 0, order
        expected += order["accrued"]["amount"] - 1
    assert len(item_ids) == 12
    assert balance(server, cid) == pytest.approx(expected, abs=0.001)
    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_order_row_goes_ahead_under_the_id_taken_with_its_number(node):
    """The order's id comes from the orders' identity in the round trip of its number; its row
    then travels unanswered with the statements after it. A refusal of that row (a rule, or a
    uniqueness answer nobody waited for) fails the order whole, and the ids stay the rows'."""
    uri, server = node
    s = Session(OWNER_A)
    phone = new_phone()
    cid = body_of(s.post(server.base + "/fiscal/orders/", json=sale(phone=phone, card=100)))["clientId"]
    before = balance(server, cid)
    counts = ("SELECT (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM order_items)"
              " || '/' || (SELECT count(*) FROM ledger) || '/' || (SELECT count(*) FROM lots)")
    rows_before = psql(uri, counts)
    for prefix in ("order-boom", "order-dup"):
        ext = uniq(prefix)
        r = s.post(server.base + "/fiscal/orders/",
                   json=sale(ext=ext, phone=phone, card=200, amount=5, items=items("tea")))
        assert r.status_code == 500, describe(r)
        assert psql(uri, f"SELECT count(*) FROM orders WHERE external_id = '{ext}'") == "0"
    assert psql(uri, counts) == rows_before
    assert balance(server, cid) == before
    # The next orders on both connections: each answer's ids are its rows' ids.
    for _ in range(4):
        ext = uniq("ahead")
        order = body_of(s.post(server.base + "/fiscal/orders/",
                               json=sale(ext=ext, phone=phone, card=300, amount=1,
                                         items=items("tea", "cake"))))
        assert psql(uri, f"SELECT id || '/' || order_number FROM orders WHERE external_id = '{ext}'") \
            == f"{order['id']}/{order['orderNumber']}"
        assert psql(uri, f"SELECT string_agg(id::text, ',' ORDER BY line_no) FROM order_items"
                         f" WHERE order_id = {order['id']}") \
            == ",".join(str(it["id"]) for it in order["items"])
        assert psql(uri, f"SELECT count(*) FROM ledger WHERE order_id = {order['id']}") == "2"
    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, p.stdout + p.stderr


def test_a_rerun_worthy_failure_sent_ahead_reruns_the_write_once(node):
    uri, server = node
    s = Session(OWNER_A)
    phone = new_phone()
    cid = body_of(s.post(server.base + "/fiscal/orders/", json=sale(phone=phone, card=100)))["clientId"]
    retries = metric(server, "kopilka_db_retries_total")
    ext = uniq("once")
    order = body_of(s.post(server.base + "/fiscal/orders/",
                           json=sale(ext=ext, phone=phone, card=100, amount=3,
                                     items=items("conflict-once"))))
    assert metric(server, "kopilka_db_retries_total") == retries + 1, "the write was not run again"
    assert psql(uri, f"SELECT count(*) FROM orders WHERE external_id = '{ext}'") == "1"
    assert psql(uri, f"SELECT count(*) FROM order_items WHERE order_id = {order['id']}") == "1"
    # 10 from the first sale, 3 spent, the accrual on the rest: once each.
    assert order["spent"]["amount"] == 3 and order["accrued"]["amount"] > 0, order
    assert balance(server, cid) == pytest.approx(10 - 3 + order["accrued"]["amount"], abs=0.001)
    assert psql(uri, f"SELECT count(*) FROM ledger WHERE order_id = {order['id']}") == "2"


def test_writes_come_back_after_the_database_cut_every_connection(node):
    """A connection lost with statements in its pipeline is connected again by its next
    borrower: a write may fail once per pooled connection, never twice, never half-written."""
    uri, server = node
    name = uri.rsplit("/", 1)[1]
    s = Session(OWNER_A)
    phone = new_phone()
    cid = body_of(s.post(server.base + "/fiscal/orders/", json=sale(phone=phone, card=100)))["clientId"]
    before = balance(server, cid)
    psql(uri, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
              f" WHERE datname = '{name}' AND pid <> pg_backend_pid()")
    answers = [s.post(server.base + "/fiscal/orders/", json=sale(phone=phone, card=100, amount=1))
               for _ in range(8)]
    codes = [r.status_code for r in answers]
    assert codes.count(200) >= 8 - 2 and codes[-4:] == [200] * 4, codes
    accepted = [r.json() for r in answers if r.status_code == 200]
    expected = before + sum(o["accrued"]["amount"] - o["spent"]["amount"] for o in accepted)
    assert balance(server, cid) == pytest.approx(expected, abs=0.001)
    p = run_cli("check", "--db", uri)
    assert p.returncode == 0, p.stdout + p.stderr


def test_settings_read_ahead_are_dropped_with_their_transaction(node, tmp_path):
    """A sale sends the merchant's settings ahead with its lookup (one round trip for both); a
    replayed sale never reads them. What was read ahead and not taken is dropped with its
    transaction: the next reader on that connection sees the settings as they are then, also
    when another node changed them meanwhile. One pooled connection, so that every request
    runs on it."""
    uri, _ = node
    one = Server(uri, str(tmp_path), DEFAULT_SERVE_FLAGS + ("--pool-size", "1")).start()
    try:
        s = Session(OWNER_A)
        phone = new_phone()
        body = sale(ext=uniq("ahead-replay"), phone=phone, card=100)
        first = s.post(one.base + "/fiscal/orders/", json=body)
        assert first.status_code == 200, describe(first)
        again = s.post(one.base + "/fiscal/orders/", json=body)
        assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        psql(uri, "UPDATE merchants SET max_spend_percent = 37")  # as another node would
        assert body_of(s.get(one.base + "/loyalty/settings/"))["maxSpendPercent"] == 37
        # A sale reads them too: 5 of 10 in points is over 37 % (the client has 10 points).
        ten = [{"name": "tea", "price": 10, "quantity": 1}]
        r = s.post(one.base + "/fiscal/orders/", json=sale(phone=phone, card=5, amount=5, items=ten))
        assert r.status_code == 400 and r.json()["code"] == "spend_limit", describe(r)
        psql(uri, "UPDATE merchants SET max_spend_percent = 100")
        r = s.post(one.base + "/fiscal/orders/", json=sale(phone=phone, card=5, amount=5, items=ten))
        assert r.status_code == 200, describe(r)
    finally:
        assert one.stop() == 0, one.log_tail()
