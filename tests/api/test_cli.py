# The operator interface: init, check, serve's clean SIGTERM exit, --help, --version.
import base64
import os
import re

import pytest

from conftest import OWNER_A, Server, Session, body_of, init_merchant, run_cli


@pytest.fixture
def db(tmp_path, engine, request):
    """A database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if engine == "postgres":
        return request.getfixturevalue("pg_cluster").new_database()
    return str(tmp_path / "cli.db")


def test_init_prints_new_merchant_ids_and_can_run_again(db):
    first = init_merchant(db, "first@example.com", "password-1")
    second = init_merchant(db, "second@example.com", "password-2", name="Second shop")
    assert "://" in db or os.path.isfile(db)
    assert first != second
    assert run_cli("check", "--db", db).returncode == 0


@pytest.mark.parametrize(
    "email,password,why",
    [
        ("owner@example.com", "short7!", "password shorter than 8 characters"),
        ("owner@example.com", "", "empty password"),
        ("not-an-email", "long-enough-password", "malformed email"),
        ("", "long-enough-password", "empty email"),
        ("two@@example.com", "long-enough-password", "malformed email"),
    ],
)
def test_init_refuses_bad_credentials(db, email, password, why):
    p = run_cli("init", "--db", db, "--email", email, "--password", password)
    assert p.returncode != 0, f"{why} accepted: {p.stdout!r}"
    assert p.stderr.strip(), f"{why}: no message on stderr"
    assert p.stdout.strip() == "", f"{why}: a merchant id was printed: {p.stdout!r}"


def test_init_with_only_the_database_creates_it_without_a_merchant(db):
    p = run_cli("init", "--db", db)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and "no merchant added" in p.stderr
    assert "://" in db or os.path.isfile(db)
    assert run_cli("check", "--db", db).returncode == 0
    # run again on the same database: nothing changes, and a merchant can be added after it
    assert run_cli("init", "--db", db).returncode == 0
    assert init_merchant(db, "first@example.com", "password-1") == 1
    # an email without a password (or the reverse) is still refused
    assert run_cli("init", "--db", db, "--email", "x@example.com").returncode == 2


def test_version_is_the_project_version():
    cmake = open(os.path.join(os.path.dirname(__file__), "..", "..", "CMakeLists.txt")).read()
    version = re.search(r"project\(kopilka VERSION ([0-9.]+)", cmake).group(1)
    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout == f"kopilkad {version}\n"


def test_init_refuses_an_email_already_in_use(db):
    init_merchant(db, "taken@example.com", "password-1")
    for email in ("taken@example.com", "TAKEN@Example.com"):
        p = run_cli("init", "--db", db, "--email", email, "--password", "password-2")
        assert p.returncode != 0, f"duplicate owner {email} accepted"
        assert p.stderr.strip()
    # the refused attempts did not add an account: a new one still works, with a fresh id
    assert init_merchant(db, "other@example.com", "password-3") > 0


def test_init_owner_can_log_in_and_serve_stops_cleanly_on_sigterm(db, tmp_path):
    init_merchant(db, *OWNER_A)
    server = Server(db, str(tmp_path)).start()
    try:
        with Session(OWNER_A) as s:
            settings = body_of(s.get(server.base + "/loyalty/settings/"))
            assert settings["active"] is False
            for _ in range(3):
                assert s.get(server.base + "/clients/", params={"phone": "7912%"}).status_code == 200
    finally:
        rc = server.stop()
    log = server.log_tail(100000)
    assert rc == 0, log
    # one log line per request on stderr; no secrets, no query strings
    lines = log.splitlines()
    assert sum("/loyalty/settings" in ln for ln in lines) == 1, log
    assert sum("/clients" in ln for ln in lines) == 3, log
    token = base64.b64encode(b"a@example.com:secret-pass-A").decode()
    assert "secret-pass-A" not in log and token not in log and "7912%" not in log
    assert run_cli("check", "--db", db).returncode == 0


def test_help_lists_the_settings():
    p = run_cli("--help")
    assert p.returncode == 0
    text = p.stdout + p.stderr
    for word in ("init", "serve", "check", "--db", "--listen", "--threads", "--lockout-login-failures",
                 "--lockout-addr-failures", "--lockout-window-seconds", "--lockout-seconds",
                 "--clock-offset-seconds"):
        assert word in text, f"--help does not mention {word}"


def test_check_on_a_missing_database_fails(tmp_path):
    p = run_cli("check", "--db", str(tmp_path / "missing" / "none.db"))
    assert p.returncode != 0


def test_a_newer_schema_is_refused(tmp_path):
    import sqlite3
    db = str(tmp_path / "future.db")
    init_merchant(db, "f@example.com", "password-1")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_version(version) VALUES (999)")
    for args in (["check", "--db", db], ["init", "--db", db, "--email", "g@example.com",
                                         "--password", "password-2"]):
        p = run_cli(*args)
        assert p.returncode != 0
        assert "newer" in (p.stdout + p.stderr)


def test_make_run_serves_demo_data(tmp_path):
    """`make run` (scripts/run.sh) on a fresh machine: creates the demo database through the
    API, prints working credentials and a curl command, serves until stopped."""
    import signal
    import subprocess
    import time
    from conftest import REPO, free_port, stop_process
    port = free_port()
    log = open(tmp_path / "run.log", "wb")
    env = dict(os.environ, KOPILKA_DB=str(tmp_path / "var" / "kopilka.db"),
               KOPILKA_LISTEN=f"127.0.0.1:{port}")
    proc = subprocess.Popen(["bash", os.path.join(REPO, "scripts", "run.sh")], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 180  # six weeks of history, one server per third day
        text = ""
        while "kopilka is serving" not in text:
            assert proc.poll() is None and time.monotonic() < deadline, text
            time.sleep(0.2)
            text = (tmp_path / "run.log").read_text(errors="replace")
        assert "demo@kopilka.local" in text and "curl -u" in text
        demo = Session(("demo@kopilka.local", "demo-password"))
        base = f"http://127.0.0.1:{port}/ext/api/v1"
        clients = body_of(demo.get(base + "/clients/", params={"phone": "7912%"}))
        assert len(clients) == 6 and all(c["totalPurchases"] >= 2 for c in clients)
        assert f"http://127.0.0.1:{port}/lk/" in text
        assert not (tmp_path / "var" / "kopilka.db.making").exists()  # made whole, then renamed
        # The dashboard has weeks of history to chart, and every screen something to show.
        dash = body_of(demo.get(base + "/reports/dashboard/", params={"days": 45}))
        assert sum(1 for d in dash["daily"] if d["accrued"] > 0) >= 10
        assert sum(1 for d in dash["daily"] if d["spent"] > 0) >= 3
        assert dash["sales"]["allOrders"] > dash["sales"]["programOrders"] > 0
        coupon = body_of(demo.get(base + "/loyalty/coupons/1/"))
        assert coupon["imagePath"] and demo.get(f"http://127.0.0.1:{port}{coupon['imagePath']}").status_code == 200
        assert body_of(demo.get(base + "/fiscal/orders/", params={"receipt_type": "refund"}))
        cashier = Session(("cashier@kopilka.local", "demo-cashier"))
        assert cashier.get(base + "/fiscal/auth/").status_code == 200
        balance = body_of(demo.get(f"{base}/clients/{clients[0]['id']}/balance/"))
        assert balance[0]["currency"] == "points" and balance[0]["amount"] > 0
        assert body_of(demo.get(f"{base}/clients/{clients[0]['id']}/coupons/"))
        settings = body_of(demo.get(base + "/loyalty/settings/"))
        assert settings["active"] and settings["customerSettings"]["amount"] == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        assert stop_process(proc) == 0
        log.close()


def test_check_reports_each_broken_invariant(tmp_path):
    """kopilkad check on a database whose ledger was tampered with: exit 1, a FAIL line each."""
    import sqlite3
    from conftest import Server, rule, sale
    db = str(tmp_path / "tamper.db")
    init_merchant(db, *OWNER_A)
    server = Server(db, str(tmp_path)).start()
    try:
        s = Session(OWNER_A)
        base = server.base
        body_of(s.put(base + "/loyalty/settings/", json={"active": True, "newCustomerSettings": rule("amount", 50)}))
        body_of(s.post(base + "/fiscal/orders/", json=sale(phone="79990001122")))
        coupon = body_of(s.post(base + "/loyalty/coupons/", json={"title": "T"}), 201)
        body_of(s.post(base + "/clients/1/coupons/", json={"couponId": coupon["id"]}), 201)
    finally:
        server.stop()
    assert run_cli("check", "--db", db).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE balances SET balance = balance + 1")
        conn.execute("UPDATE lots SET remaining = -1")
        conn.execute("UPDATE coupon_instances SET status = 1, redeemed_order_id = NULL")
    p = run_cli("check", "--db", db)
    assert p.returncode == 1
    out = p.stdout
    assert "ledger rows sum" in out and "lots sum" in out
    assert "remaining -1" in out
    assert "redeemed without an order" in out
    assert "FAILED" in out
