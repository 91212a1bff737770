# Issue 17, backup and restore: `kopilkad backup` while a server takes orders keeps every order
# acknowledged before it began and passes `kopilkad check`; `kopilkad restore` refuses a database
# in use and a file that is not a sound kopilka backup, keeps the file it replaces, and the
# restored database serves; serve's scheduled backups appear, are pruned to --backup-keep and
# show in /metrics and /healthz; a schema migration takes a copy first. On PostgreSQL backup and
# restore refuse and point at pg_dump.
import glob
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from conftest import (KOPILKAD, OWNER_A, Server, Session, body_of, describe, init_merchant, new_phone, rule,
                      run_cli, sale, uniq)
from schema_undo import UNDO_11, UNDO_ENROL, UNDO_ERASED, UNDO_PASSKIT, UNDO_FP, UNDO_IMPORTS, UNDO_WEBHOOKS, UNDO_LK_SESSIONS, UNDO_REPORTS_SQLITE

SCHEDULED = re.compile(r"^kopilka-backup-\d{8}T\d{6}\.\d{3}Z\.db$")


def sqlite_only(engine):
    if engine != "sqlite":
        pytest.skip("kopilkad backup and restore copy SQLite files (PostgreSQL: pg_dump)")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def checked(path):
    p = run_cli("check", "--db", path)
    assert p.returncode == 0, f"kopilkad check {path}: {p.returncode}\n{p.stdout}\n{p.stderr}"


def backup(db, out):
    return run_cli("backup", "--db", db, "--out", out, timeout=120)


def restore(src, db):
    return run_cli("restore", "--from", src, "--db", db, timeout=120)


def funded(A):
    """A client with points to spend; accrual off afterwards so each order spends 1 point."""
    A.settings(active=True, newCustomerSettings=rule("amount", 100000), customerSettings=rule("amount", 0))
    phone = new_phone()
    cid = A.order(sale(phone=phone))["clientId"]
    A.settings(active=False)
    return phone


def post_orders_until(env, phone, stop, acked, errors):
    """Posts orders from 4 threads until `stop` is set; acked gets (monotonic time of the answer,
    body, answer text) of every 200."""
    lock = threading.Lock()

    def worker():
        with Session(OWNER_A) as s:
            while not stop.is_set():
                body = sale(ext=uniq("bk"), phone=phone, items=[{"name": "b", "price": 3, "quantity": 1}],
                            amount=1)
                try:
                    r = s.post(env.url("/fiscal/orders/"), json=body, timeout=30)
                except requests.RequestException as e:
                    with lock:
                        errors.append(repr(e))
                    return
                with lock:
                    if r.status_code == 200:
                        acked.append((time.monotonic(), body, r.text))
                    else:
                        errors.append(describe(r))
                        return

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    return threads


def fresh_db(tmp, name):
    db = os.path.join(tmp, name)
    init_merchant(db, *OWNER_A, name="Merchant A")
    return db


def test_backup_during_orders_keeps_every_acknowledged_order_and_restores_to_a_serving_database(env, A):
    sqlite_only(env.engine)
    phone = funded(A)
    stop, acked, errors = threading.Event(), [], []
    threads = post_orders_until(env, phone, stop, acked, errors)
    try:
        deadline = time.monotonic() + 30
        while len(acked) < 50 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        out = os.path.join(env.tmp, "during.db")
        began = time.monotonic()
        p = backup(env.db, out)
        ended = time.monotonic()
        # the load went on through the copy: wait for an order acknowledged after it
        deadline = time.monotonic() + 30
        while not any(at > ended for at, _, _ in list(acked)) and time.monotonic() < deadline \
                and not errors:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors[:3]
    assert p.returncode == 0, p.stderr
    assert "wrote" in p.stderr, p.stderr
    before = [(body, text) for at, body, text in acked if at < began]
    assert len(before) >= 50, "the load had not started before the backup"
    assert any(at > ended for at, _, _ in acked), "no order was acknowledged after the backup"
    checked(out)
    assert not [f for f in os.listdir(env.tmp) if ".tmp-" in f], "a temporary file was left"

    # Restored to a new path and served, the backup answers every order acknowledged before it
    # began with the stored answer: they are all in it.
    target = os.path.join(env.tmp, "restored.db")
    r = restore(out, target)
    assert r.returncode == 0, r.stderr
    assert "ledger check passed" in r.stderr
    server = Server(target, env.tmp).start()
    try:
        with Session(OWNER_A) as s:
            for body, text in before:
                got = s.post(server.base + "/fiscal/orders/", json=body)
                assert got.status_code == 200, describe(got)
                assert got.headers.get("Idempotent-Replayed") == "true", \
                    "an order acknowledged before the backup began is missing from it" + describe(got)
                assert got.text == text, describe(got)
    finally:
        assert server.stop() == 0, server.log_tail()
    checked(target)


def test_restore_refuses_a_database_a_server_has_open(env, A):
    sqlite_only(env.engine)
    out = os.path.join(env.tmp, "for-running.db")
    assert backup(env.db, out).returncode == 0
    p = restore(out, env.db)
    assert p.returncode == 1, p.stderr
    assert "is in use" in p.stderr and "--db" in p.stderr, p.stderr
    assert not glob.glob(env.db + ".replaced-*")
    assert not [f for f in os.listdir(env.tmp) if ".tmp-" in f], "a staged copy was left"
    body_of(env.session().get(env.server.base.replace("/ext/api/v1", "") + "/healthz"))


def test_restore_keeps_the_replaced_database_and_serves_the_backup(env, tmp_path):
    sqlite_only(env.engine)
    db = fresh_db(str(tmp_path), "shop.db")
    server = Server(db, str(tmp_path)).start()
    with Session(OWNER_A) as s:
        early = sale(ext=uniq("early"), phone=new_phone())
        body_of(s.post(server.base + "/fiscal/orders/", json=early))
        copy = str(tmp_path / "copy.db")
        assert backup(db, copy).returncode == 0
        late = sale(ext=uniq("late"), phone=new_phone())
        late_text = s.post(server.base + "/fiscal/orders/", json=late).text
    assert server.stop() == 0

    os.chmod(db, 0o640)
    p = restore(copy, db)
    assert p.returncode == 0, p.stderr
    assert os.stat(db).st_mode & 0o777 == 0o640, "the restored file lost the replaced one's mode"
    kept = glob.glob(db + ".replaced-*")
    assert len(kept) == 1 and kept[0] in p.stderr, (kept, p.stderr)
    assert not os.path.exists(db + "-wal") or os.path.getsize(db + "-wal") == 0
    checked(kept[0])

    def replayed(path, body):
        srv = Server(path, str(tmp_path)).start()
        try:
            with Session(OWNER_A) as s:
                r = s.post(srv.base + "/fiscal/orders/", json=body)
                assert r.status_code == 200, describe(r)
                return r.headers.get("Idempotent-Replayed") == "true", r.text
        finally:
            assert srv.stop() == 0, srv.log_tail()

    # The restored database has the early order and not the late one; the kept file has both.
    assert replayed(db, early)[0]
    assert replayed(kept[0], late) == (True, late_text)
    assert not replayed(db, late)[0]


def test_restore_refuses_what_is_no_sound_backup_and_leaves_the_database(env, A, tmp_path):
    sqlite_only(env.engine)
    tmp = str(tmp_path)
    funded(A)  # a client with a balance in env's database, for the copy broken below
    db = fresh_db(tmp, "keep.db")
    before = digest(db)
    good = os.path.join(tmp, "good.db")
    assert backup(db, good).returncode == 0

    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"not a database at all\n" * 300)
    foreign = os.path.join(tmp, "foreign.db")
    c = sqlite3.connect(foreign)
    c.execute("CREATE TABLE notes (t TEXT)")
    c.commit()
    c.close()
    truncated = os.path.join(tmp, "truncated.db")
    with open(good, "rb") as f, open(truncated, "wb") as g:
        g.write(f.read()[: os.path.getsize(good) // 2])
    broken = os.path.join(tmp, "broken.db")
    assert backup(env.db, broken).returncode == 0
    c = sqlite3.connect(broken)
    assert c.execute("UPDATE balances SET balance = balance + 5").rowcount > 0
    c.commit()
    c.close()
    assert run_cli("check", "--db", broken).returncode == 1, "the broken copy should fail the check"

    for bad, says in ((junk, "is not a kopilka database"), (foreign, "is not a kopilka database"),
                      (truncated, "--from"), (broken, "fails the ledger check"),
                      (os.path.join(tmp, "missing.db"), "no such file")):
        p = restore(bad, db)
        assert p.returncode == 1, (bad, p.stderr)
        assert says in p.stderr and "is left as it is" in p.stderr, (bad, p.stderr)
        assert digest(db) == before, f"restoring {bad} changed the database"
        assert not glob.glob(db + ".replaced-*")
        assert not [f for f in os.listdir(tmp) if ".tmp-" in f], f"{bad}: a staged copy was left"
    checked(db)


def test_backup_and_restore_name_the_flag_of_bad_input(env, tmp_path):
    p = run_cli("backup", "--db", env.db)
    assert p.returncode == 2 and "--out" in p.stderr, p.stderr
    p = run_cli("restore", "--db", env.db)
    assert p.returncode == 2 and "--from" in p.stderr, p.stderr
    if env.engine != "sqlite":
        # PostgreSQL: both refuse and say what to use instead.
        for p in (backup(env.db, str(tmp_path / "x.db")), restore(str(tmp_path / "x.db"), env.db)):
            assert p.returncode == 2, p.stderr
            assert "pg_dump" in p.stderr and "WAL archiving" in p.stderr, p.stderr
        assert not os.path.exists(tmp_path / "x.db")
        return
    p = backup(env.db, str(tmp_path))
    assert p.returncode == 1 and "--out" in p.stderr and "is a directory" in p.stderr, p.stderr
    p = backup(env.db, env.db)
    assert p.returncode == 1 and "is the database itself" in p.stderr, p.stderr
    p = backup(env.db, str(tmp_path / "no" / "such" / "dir.db"))
    assert p.returncode == 1 and "--out" in p.stderr, p.stderr
    p = backup(str(tmp_path / "absent.db"), str(tmp_path / "x.db"))
    assert p.returncode == 1 and "--db" in p.stderr, p.stderr
    assert not os.path.exists(tmp_path / "x.db")


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def metric(server, name):
    text = requests.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    m = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


def health(server):
    return body_of(Session().get(f"http://127.0.0.1:{server.port}/healthz"))


def scheduled(directory):
    return sorted(f for f in os.listdir(directory) if SCHEDULED.match(f))


def test_scheduled_backups_appear_are_pruned_and_show_in_metrics_and_healthz(env, tmp_path):
    tmp = str(tmp_path)
    bdir = os.path.join(tmp, "backups")
    if env.engine != "sqlite":
        p = run_cli("serve", "--db", env.db, "--listen", "127.0.0.1:1", "--backup-dir", bdir)
        assert p.returncode == 2 and "--backup-dir" in p.stderr and "pg_dump" in p.stderr, p.stderr
        return
    db = fresh_db(tmp, "sched.db")
    with open(os.path.join(tmp, "notes.txt"), "w") as f:
        f.write("not a backup")
    server = Server(db, tmp, ("--backup-dir", bdir, "--backup-every", "1s", "--backup-keep", "2")).start()
    try:
        assert health(server)["backup"]["status"] in ("ok", "pending")
        wait_for(lambda: metric(server, "kopilka_backups_total") >= 4, 60, "4 scheduled backups")
        h = health(server)
        assert h["status"] == "ok" and h["backup"]["status"] == "ok", h
        assert h["backup"]["failures"] == 0 and h["backup"]["lastSizeBytes"] > 0, h
        assert abs(h["backup"]["lastAt"] / 1000 - time.time()) < 60, h
        assert metric(server, "kopilka_backup_failures_total") == 0
        assert metric(server, "kopilka_backup_last_size_bytes") > 0
        assert metric(server, "kopilka_backup_last_success_timestamp_seconds") > 0
    finally:
        assert server.stop() == 0, server.log_tail()
    files = scheduled(bdir)
    assert len(files) == 2, files
    assert sorted(os.listdir(bdir)) == files, "something else was left in the backup directory"
    assert os.path.exists(os.path.join(tmp, "notes.txt"))
    for f in files:
        checked(os.path.join(bdir, f))
    assert "scheduled backup written" in server.log_tail(20000)


def test_a_failing_scheduled_backup_shows_in_healthz_and_metrics(env, tmp_path):
    sqlite_only(env.engine)
    tmp = str(tmp_path)
    bdir = os.path.join(tmp, "backups")
    db = fresh_db(tmp, "failing.db")
    server = Server(db, tmp, ("--backup-dir", bdir, "--backup-every", "1s", "--backup-keep", "3")).start()
    try:
        wait_for(lambda: metric(server, "kopilka_backups_total") >= 1, 60, "the first backup")
        shutil.rmtree(bdir)  # the directory goes away: the next copies cannot be written
        wait_for(lambda: metric(server, "kopilka_backup_failures_total") >= 1, 60, "a failed backup")
        h = health(server)
        assert h["status"] == "ok", "a failing backup must not take the node out of service"
        assert h["backup"]["status"] == "failing" and h["backup"]["failures"] >= 1, h
        os.mkdir(bdir)
        wait_for(lambda: health(server)["backup"]["status"] == "ok", 60, "a backup after the failure")
    finally:
        assert server.stop() == 0, server.log_tail()
    assert "scheduled backup failed" in server.log_tail(20000)


def test_serve_names_the_flag_of_a_bad_schedule(env, tmp_path):
    for flags, says in ((("--backup-every", "soon"), "--backup-every must be a duration"),
                        (("--backup-every", "0"), "--backup-every must be between 1 and"),
                        (("--backup-keep", "0"), "--backup-keep must be between 1 and")):
        p = run_cli("serve", "--db", env.db, "--listen", "127.0.0.1:1", *flags)
        assert p.returncode == 2 and says in p.stderr, (flags, p.stderr)
    # the same settings from the environment (KOPILKA_BACKUP_*)
    p = subprocess.run([KOPILKAD, "serve", "--db", env.db, "--listen", "127.0.0.1:1"],
                       env=dict(os.environ, KOPILKA_BACKUP_EVERY="90 minutes"),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "KOPILKA_BACKUP_EVERY" in p.stderr, p.stderr
    if env.engine == "sqlite":
        not_dir = str(tmp_path / "file")
        open(not_dir, "w").close()
        p = run_cli("serve", "--db", env.db, "--listen", "127.0.0.1:1", "--backup-dir", not_dir)
        assert p.returncode == 2 and "--backup-dir" in p.stderr, p.stderr


def test_a_schema_migration_backs_the_database_up_first(env, tmp_path):
    sqlite_only(env.engine)
    tmp = str(tmp_path)
    db = fresh_db(tmp, "old.db")
    phone = new_phone()
    server = Server(db, tmp).start()
    with Session(OWNER_A) as s:
        order = sale(ext=uniq("old"), phone=phone)
        body_of(s.post(server.base + "/fiscal/orders/", json=order))
    assert server.stop() == 0
    # Back to schema 10, as a database an older kopilkad left.
    c = sqlite3.connect(db)
    c.executescript(";".join(UNDO_ENROL + UNDO_PASSKIT + UNDO_ERASED + UNDO_FP + UNDO_WEBHOOKS + UNDO_IMPORTS + UNDO_REPORTS_SQLITE + UNDO_LK_SESSIONS + UNDO_11) + "; DELETE FROM schema_version WHERE version >= 11;")
    c.close()
    server = Server(db, tmp).start()
    assert server.stop() == 0
    copies = glob.glob(db + ".schema-v10.*.bak")
    assert len(copies) == 1, os.listdir(tmp)
    assert copies[0] in server.log_tail(20000)
    c = sqlite3.connect(f"file:{copies[0]}?mode=ro", uri=True)
    assert c.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 10
    assert c.execute("SELECT count(*) FROM orders WHERE external_id = ?",
                     (order["order"]["externalId"],)).fetchone()[0] == 1
    c.close()
    # An up-to-date database is not copied again.
    server = Server(db, tmp).start()
    assert server.stop() == 0
    assert len(glob.glob(db + ".schema-v*.bak")) == 1
