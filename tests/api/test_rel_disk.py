# Reliability, disk faults (issue 4 item 5; docs/RELIABILITY.md section 5): the SQLite database
# on a tiny tmpfs that fills up under a load of orders, then made read-only mid-run. A write that
# could not commit is answered 503 with the error body, never 2xx; reads keep working; writes
# work again when space (or write access) returns; nothing acknowledged is lost and nothing
# refused is stored. SQLite only: the database files must live on the small filesystem.
import os
import subprocess
import threading
import time

import pytest

from conftest import (ERROR_KEYS, Env, Session, body_of, describe, loads, new_phone, rule, sale,
                      scale, uniq)


# A filesystem of a few MiB, filled by filler files: the WAL runs into the full disk long before
# its checkpoint size (16,000 pages), so the writes stop at SQLITE_FULL, and the checkpoint and
# WAL restart after it (sqlite_writer.c) are what makes freed space usable again.
FS_SIZE = "16m"
ORDERS_WHILE_FULL = scale(60, 400)
LOAD_SECONDS = scale(8, 30)


def _run(*cmd):
    return subprocess.run(list(cmd), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)


@pytest.fixture
def tiny_fs(tmp_path):
    """A size-limited tmpfs mounted on a fresh directory; unmounted afterwards whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("disk-fault tests need root to mount a size-limited tmpfs")
    mnt = tmp_path / "tinyfs"
    mnt.mkdir()
    p = _run("mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0755", "tmpfs", str(mnt))
    if p.returncode != 0:
        pytest.skip(f"mount of a tmpfs is not permitted here: {p.stderr.strip()}")
    try:
        yield str(mnt)
    finally:
        _run("mount", "-o", "remount,rw", str(mnt))
        p = _run("umount", str(mnt))
        if p.returncode != 0:  # a process of ours still holds it: detach it lazily
            _run("umount", "-l", str(mnt))


@pytest.fixture
def disk_env(tmp_path, tiny_fs):
    """Merchants A and B on a database that lives on the tiny filesystem (server logs outside)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    env = Env(logs, db=os.path.join(tiny_fs, "kopilka.db"))
    env.mnt = tiny_fs
    try:
        yield env
    finally:
        # The server must be gone before the filesystem is unmounted.
        for api in (env.a, env.b):
            api.s.close()
        env.server.stop()


def fill(mnt, name="filler", leave=0):
    """Writes a file until the filesystem is full, then gives `leave` bytes back."""
    path = os.path.join(mnt, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (65536, 4096, 512):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(path, max(0, os.path.getsize(path) - leave))
    return path


def assert_unavailable(r):
    """A write that could not commit: 5xx with the contract's error body, no internals."""
    assert 500 <= r.status_code < 600, describe(r)
    body = loads(r.text)
    assert set(body) == ERROR_KEYS, describe(r)
    assert body["status"] == r.status_code, describe(r)
    assert r.status_code == 503, "a full or read-only disk should answer 503 (retry later)" + describe(r)
    assert body["code"] == "unavailable", describe(r)
    for leak in ("sqlite", "SQLITE", "disk", ".db", "/tmp", "database or disk is full"):
        assert leak not in body["message"], describe(r)


def order_numbers(api):
    """The externalIds of every order the merchant has, through the list endpoint."""
    seen, offset = set(), 0
    while True:
        page = body_of(api.get("/fiscal/orders/", params={"offset": offset, "limit": 1000}))
        seen.update(o["externalOrderNumber"] for o in page)
        if len(page) < 1000:
            return seen
        offset += 1000


def load_orders(env, phone, seconds, threads=3, stop=None, max_refused=300):
    """Posts orders from `threads` connections for `seconds` (or until `stop` is set, or
    `max_refused` were refused). Returns [(body, status, text, response)] for every order sent."""
    results, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds
    stop = stop or threading.Event()

    def worker():
        with Session(env.a.auth) as s:
            while time.monotonic() < deadline and not stop.is_set():
                body = sale(ext=uniq("disk"), phone=phone,
                            items=[{"name": "x" * 200, "price": 7, "quantity": 1}] * 4)
                r = s.post(env.url("/fiscal/orders/"), json=body)
                with lock:
                    results.append((body, r.status_code, r.text, r))
                    if sum(1 for x in results if x[1] != 200) >= max_refused:
                        stop.set()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=seconds + 60)
    return results


def verify_outcomes(env, results, client_id, balance_before, per_order):
    """Every 2xx order is there (and replays byte for byte), every refused one is absent, and
    the balance is exactly what the acknowledged orders accrued."""
    acked = [(b, t) for b, st, t, _r in results if 200 <= st < 300]
    refused = [b for b, st, _t, _r in results if not 200 <= st < 300]
    present = order_numbers(env.a)
    for body, _text in acked:
        assert body["order"]["externalId"] in present, "an acknowledged order is missing"
    for body in refused:
        assert body["order"]["externalId"] not in present, "a refused order was stored"
    assert env.a.balance(client_id) == balance_before + per_order * len(acked)
    for body, text in acked:
        r = env.a.post("/fiscal/orders/", body)
        assert r.status_code == 200 and r.text == text, describe(r)
        assert r.headers.get("Idempotent-Replayed") == "true", describe(r)
    return acked, refused


def setup_world(env):
    env.a.settings(active=True, newCustomerSettings=rule("amount", 1), customerSettings=rule("amount", 1))
    phone = new_phone()
    client = env.a.create_client(phone=phone, email=uniq("disk") + "@example.com")
    return phone, client


def assert_reads_work(env, client):
    body_of(env.a.get(f"/clients/{client['id']}/balance/"))
    found = body_of(env.a.get("/clients/", params={"phone": client["phone"]}))
    assert [c["id"] for c in found] == [client["id"]]
    body_of(env.a.get(f"/clients/{client['id']}/"))
    body_of(env.a.get("/fiscal/orders/", params={"limit": 5}))
    body_of(env.a.get("/loyalty/settings/"))
    h = Session().get(f"http://127.0.0.1:{env.server.port}/healthz")  # the database answers reads
    assert h.status_code == 200, describe(h)


def png():
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff")) + chunk(b"IEND", b""))


def writes_of_every_kind(env, client, read_only):
    """Every kind of write, while the disk cannot take (most) writes: read-only, each is 503; full,
    each is 503 or, when it fits in the room a refused larger write left in the WAL, a 2xx that
    did commit (read back here)."""
    a = env.a
    key, body = uniq("k"), {"phone": new_phone()}
    calls = [
        ("client", lambda: a.post("/clients/", {"phone": new_phone()})),
        ("client with key", lambda: a.post("/clients/", body, headers={"Idempotency-Key": key})),
        ("client change", lambda: a.put(f"/clients/{client['id']}/", {"name": "changed while full"})),
        ("settings", lambda: a.put("/loyalty/settings/", {"maxSpendPercent": 50})),
        ("catalog coupon", lambda: a.post("/loyalty/coupons/", {"title": uniq("c")})),
        ("employee", lambda: a.post("/employees/", {"email": uniq("e") + "@example.com",
                                                    "password": "staff-pass-1", "role": "cashier"})),
        ("api key", lambda: a.post("/api_keys/", {})),
        ("hold", lambda: a.post("/fiscal_hub/cash_back/hold/", {"clientId": client["id"], "currency": "points",
                                                                "amount": 1})),
        ("logo", lambda: a.post("/loyalty/settings/contact_info/logo/",
                                files={"logo": ("l.png", png(), "image/png")})),
    ]
    answers = {}
    for name, send in calls:
        r = send()
        answers[name] = r
        if read_only or not 200 <= r.status_code < 300:
            assert_unavailable(r)
    if answers["client change"].status_code == 200:
        assert body_of(a.get(f"/clients/{client['id']}/"))["name"] == "changed while full"
    if answers["settings"].status_code == 200:
        assert body_of(a.get("/loyalty/settings/"))["maxSpendPercent"] == 50
    env.keyed_write = (key, body, answers["client with key"])
    # a wrong password is still judged (401) when its failure cannot be counted in the database
    r = Session((env.a.auth[0], "wrong-password")).get(env.url("/loyalty/settings/"))
    assert r.status_code == 401, describe(r)
    return answers


def test_disk_fills_up_under_load_and_recovers(disk_env):
    env = disk_env
    phone, client = setup_world(env)
    body_of(env.a.post("/fiscal/orders/", sale(phone=phone)))  # first sale: the client is known
    before = env.a.balance(client["id"])

    # Leave a little room, then let the load of orders fill the rest.
    filler = fill(env.mnt, leave=scale(192, 1024) * 1024)
    results = load_orders(env, phone, LOAD_SECONDS)
    statuses = [st for _b, st, _t, _r in results]
    assert statuses.count(200) > 0, "no order fitted in the room left"
    refused_during = [r for _b, st, _t, r in results if st != 200]
    assert refused_during, f"the filesystem never filled up ({len(results)} orders)"
    for r in refused_during:
        assert_unavailable(r)

    # Full: more writes are refused (503), reads keep working.
    fill(env.mnt, name="filler2")
    more = []
    for _ in range(ORDERS_WHILE_FULL):
        body = sale(ext=uniq("full"), phone=phone, items=[{"name": "y" * 200, "price": 7, "quantity": 1}] * 4)
        r = env.a.post("/fiscal/orders/", body)
        more.append((body, r.status_code, r.text, r))
        if r.status_code != 200:
            assert_unavailable(r)
    assert sum(1 for m in more if m[1] != 200) >= ORDERS_WHILE_FULL // 2, "writes went on on a full disk"
    answers = writes_of_every_kind(env, client, read_only=False)
    for _ in range(5):
        assert_reads_work(env, client)
    r = env.a.get("/clients/", params={"phone": "79%"})
    body_of(r)

    # Space returns: writes succeed again, at once.
    os.remove(filler)
    os.remove(os.path.join(env.mnt, "filler2"))
    after = []
    for _ in range(scale(30, 100)):  # a bounded count: an unbounded load would fill the disk again
        body = sale(ext=uniq("after"), phone=phone, items=[{"name": "z", "price": 7, "quantity": 1}])
        r = env.a.post("/fiscal/orders/", body)
        after.append((body, r.status_code, r.text, r))
    bad = [(st, t) for _b, st, t, _r in after if st != 200]
    assert after and not bad, ([st for _b, st, _t, _r in after], os.listdir(env.mnt), os.statvfs(env.mnt).f_bavail)

    acked, refused = verify_outcomes(env, results + more + after, client["id"], before, 1)
    assert refused
    # A 503 is not kept for its Idempotency-Key: the same request runs now (a 201 replays).
    key, body, first = env.keyed_write
    r = env.a.post("/clients/", body, headers={"Idempotency-Key": key})
    assert r.status_code == 201, describe(r)
    replayed = "true" if first.status_code == 201 else None
    assert r.headers.get("Idempotent-Replayed") == replayed, describe(r)
    env.figures_every_kind = {n: x.status_code for n, x in answers.items()}
    # The server shuts down cleanly and the ledger check passes on the database.
    assert env.server.stop() == 0, env.server.log_tail()
    p = env.check()
    assert p.returncode == 0, p.stdout + p.stderr
    env.server.start()
    body_of(env.a.post("/fiscal/orders/", sale(phone=phone)))
    env.figures = {"sent": len(results) + len(more) + len(after), "acked": len(acked), "refused": len(refused)}
    print(f"\ndisk full: {env.figures}, writes of every kind while full: {env.figures_every_kind}")


def test_server_started_on_a_full_disk_serves_reads(disk_env):
    """A restart while the disk is full (a crash, an upgrade): the server starts and serves reads
    (its WAL index cannot be created there, so it reads the database read-only), answers 503 to
    writes, and takes writes again when restarted once there is room."""
    env = disk_env
    phone, client = setup_world(env)
    acked = [body_of(env.a.post("/fiscal/orders/", sale(phone=phone))) for _ in range(scale(10, 100))]
    before = env.a.balance(client["id"])
    assert env.server.stop() == 0, env.server.log_tail()
    filler = fill(env.mnt)
    env.server.start()
    for _ in range(5):
        assert_reads_work(env, client)
    assert env.a.balance(client["id"]) == before
    body = sale(ext=uniq("full-start"), phone=phone)
    assert_unavailable(env.a.post("/fiscal/orders/", body))
    writes_of_every_kind(env, client, read_only=True)
    p = env.check()
    assert p.returncode == 0, p.stdout + p.stderr
    assert env.server.stop() == 0, env.server.log_tail()
    os.remove(filler)
    env.server.start()
    present = order_numbers(env.a)
    assert all(o["externalOrderNumber"] in present for o in acked)
    assert body["order"]["externalId"] not in present
    body_of(env.a.post("/fiscal/orders/", body))
    assert env.a.balance(client["id"]) == before + 1


def test_database_made_read_only_and_back(disk_env):
    """A live `mount -o remount,ro` is refused by the kernel while the server holds the database
    open for writing (EBUSY for every filesystem), so the server is restarted on the read-only
    filesystem: reads work, every write is 503, and after `remount,rw` and a restart writes
    succeed and the ledger check passes."""
    env = disk_env
    phone, client = setup_world(env)
    acked = [body_of(env.a.post("/fiscal/orders/", sale(phone=phone))) for _ in range(scale(20, 200))]
    before = env.a.balance(client["id"])

    p = _run("mount", "-o", "remount,ro", env.mnt)
    assert p.returncode != 0 and "busy" in p.stderr, "a live remount,ro worked: make this test use it"
    assert env.server.stop() == 0, env.server.log_tail()
    p = _run("mount", "-o", "remount,ro", env.mnt)
    assert p.returncode == 0, p.stderr
    try:
        env.server.start()
        for _ in range(5):
            assert_reads_work(env, client)
        assert env.a.balance(client["id"]) == before
        refused = []
        for _ in range(scale(20, 200)):
            body = sale(ext=uniq("ro"), phone=phone)
            r = env.a.post("/fiscal/orders/", body)
            assert_unavailable(r)
            refused.append(body)
        assert_unavailable(env.a.post("/clients/", {"phone": new_phone()}))
        assert_unavailable(env.a.put("/loyalty/settings/", {"maxSpendPercent": 50}))
        writes_of_every_kind(env, client, read_only=True)
        p = env.check()  # the ledger check reads a read-only database too
        assert p.returncode == 0, p.stdout + p.stderr
        assert env.server.stop() == 0, env.server.log_tail()
    finally:
        if env.server.proc.poll() is None:
            env.server.stop()
        _run("mount", "-o", "remount,rw", env.mnt)
    env.server.start()
    present = order_numbers(env.a)
    assert all(o["externalOrderNumber"] in present for o in acked)
    assert not any(b["order"]["externalId"] in present for b in refused)
    assert env.a.balance(client["id"]) == before
    body_of(env.a.post("/fiscal/orders/", sale(phone=phone)))
    assert env.a.balance(client["id"]) == before + 1
    p = env.check()
    assert p.returncode == 0, p.stdout + p.stderr
