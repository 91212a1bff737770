"""Issue 16: the kopilka command-line client (docs/CLI.md) against a real kopilkad: each command's
text and --json output, its exit codes (0 done, 1 refused, 2 usage, 3 unreachable and queued,
4 other), the settings' precedence (flags over environment over the config file), and the local
webhook receiver, which must accept correctly signed deliveries and refuse every other."""
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from conftest import KOPILKAD, free_port, stop_process

KOPILKA = os.environ.get("KOPILKA_CLI", os.path.join(os.path.dirname(KOPILKAD), "kopilka"))

OK, REFUSED, USAGE, UNREACHABLE, FAILED = 0, 1, 2, 3, 4


def kopilka(*args, env=None, timeout=60, input=None):
    """Runs the CLI with a clean environment (no KOPILKA_* of the caller's, no config file
    unless the test gives one) plus env."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOPILKA_")}
    base["HOME"] = "/nonexistent-home"
    base.pop("XDG_CONFIG_HOME", None)
    base.update(env or {})
    return subprocess.run([KOPILKA, *args], capture_output=True, text=True, timeout=timeout,
                          env=base, input=input, stdin=None if input is not None else subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# The frame: help, usage errors, settings


def test_help_lists_every_command_and_exit_code():
    p = kopilka("--help")
    assert p.returncode == OK, p.stderr
    assert p.stdout.startswith("Usage: kopilka [OPTIONS] COMMAND")
    assert "webhooks listen" in p.stdout
    for code in range(5):
        assert re.search(rf"^  {code}   ", p.stdout, re.M), f"exit code {code} not documented"
    for word in ("--url", "--login", "--password", "--config", "--json", "KOPILKA_URL"):
        assert word in p.stdout
    p = kopilka("webhooks", "listen", "--help")
    assert p.returncode == OK and p.stdout.startswith("Usage: kopilka webhooks listen")
    assert "--tolerance SECONDS" in p.stdout
    p = kopilka("webhooks", "--help")
    assert p.returncode == OK and "kopilka webhooks listen" in p.stdout


def test_version():
    p = kopilka("--version")
    assert p.returncode == OK and re.fullmatch(r"kopilka \d+\.\d+\.\d+\n", p.stdout)


@pytest.mark.parametrize("args", [
    (),
    ("nonsense",),
    ("config", "--no-such-option"),
    ("config", "extra-argument"),
    ("webhooks", "listen", "--port", "1"),               # no secret
    ("webhooks", "listen", "--secret", "s"),             # no port
    ("webhooks", "listen", "--port", "70000", "--secret", "s"),
    ("webhooks", "listen", "--port", "1", "--secret", "s", "--tolerance", "-1"),
    ("config", "--url", "ftp://example.org"),
    ("config", "--timeout", "0"),
])
def test_usage_errors_exit_2(args):
    p = kopilka(*args)
    assert p.returncode == USAGE, (p.stdout, p.stderr)
    assert p.stderr.strip(), "a usage error says what is wrong"


def config_settings(*args, env=None):
    p = kopilka("config", "--json", *args, env=env)
    assert p.returncode == OK, p.stderr
    return json.loads(p.stdout)


def test_settings_precedence_flag_env_file(tmp_path):
    conf = tmp_path / "config"
    conf.write_text("# kopilka\nurl = http://file.example:1\nlogin = file-login\n"
                    "password = \"file pass \"\ntimeout = 7\n")
    s = config_settings("--config", str(conf))
    assert {k: (s[k]["value"], s[k]["from"]) for k in ("url", "login", "timeout")} == {
        "url": ("http://file.example:1", "file"), "login": ("file-login", "file"),
        "timeout": ("7", "file")}
    assert s["password"] == {"value": "(set)", "from": "file"}, "the password is never printed"
    assert s["configFile"] == {"path": str(conf), "found": True}

    env = {"KOPILKA_URL": "http://env.example:2", "KOPILKA_LOGIN": "env-login"}
    s = config_settings("--config", str(conf), env=env)
    assert (s["url"]["value"], s["url"]["from"]) == ("http://env.example:2", "env")
    assert (s["login"]["value"], s["login"]["from"]) == ("env-login", "env")
    assert s["timeout"]["from"] == "file"

    s = config_settings("--config", str(conf), "--url", "http://flag.example:3", env=env)
    assert (s["url"]["value"], s["url"]["from"]) == ("http://flag.example:3", "flag")
    assert s["login"]["from"] == "env"

    # The default file: $KOPILKA_CONFIG, else $XDG_CONFIG_HOME/kopilka/config.
    (tmp_path / "kopilka").mkdir()
    (tmp_path / "kopilka" / "config").write_text("login = xdg-login\n")
    s = config_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert (s["login"]["value"], s["login"]["from"]) == ("xdg-login", "file")
    s = config_settings(env={"XDG_CONFIG_HOME": str(tmp_path), "KOPILKA_CONFIG": str(conf)})
    assert s["login"]["value"] == "file-login"
    # A default file that does not exist is no error; one given that does not exist is.
    s = config_settings()
    assert s["configFile"]["found"] is False and s["url"] == {"value": None, "from": "default"}
    assert kopilka("config", "--config", str(tmp_path / "missing")).returncode == USAGE


def test_bad_config_file_is_a_usage_error(tmp_path):
    conf = tmp_path / "config"
    conf.write_text("url = http://x\nnonsense line\n")
    p = kopilka("config", "--config", str(conf))
    assert p.returncode == USAGE and "line 2" in p.stderr
    conf.write_text("colour = blue\n")
    p = kopilka("config", "--config", str(conf))
    assert p.returncode == USAGE and "unknown key 'colour'" in p.stderr


def test_config_text_output(tmp_path):
    p = kopilka("config", "--url", "http://127.0.0.1:9", "--password", "hunter2")
    assert p.returncode == OK
    assert re.search(r"^url\s+http://127\.0\.0\.1:9\s+\(flag\)$", p.stdout, re.M)
    assert re.search(r"^password\s+\(set\)\s+\(flag\)$", p.stdout, re.M)
    assert "hunter2" not in p.stdout


# ---------------------------------------------------------------------------------------------
# kopilka webhooks listen

SECRET = "whsec_test_0123456789"


def signature(body, secret=SECRET, t=None):
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class Receiver:
    def __init__(self, *extra):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOPILKA_")}
        self.proc = subprocess.Popen([KOPILKA, "webhooks", "listen", "--port", str(self.port),
                                      "--secret", SECRET, *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        first = self.proc.stderr.readline()
        assert f":{self.port}/" in first, first + self.proc.stderr.read()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.s = requests.Session()
        self.s.trust_env = False

    def post(self, body, headers):
        return self.s.post(self.url, data=body, headers=headers, timeout=10)

    def stop(self):
        self.s.close()
        rc = stop_process(self.proc)
        out, err = self.proc.communicate(timeout=10)
        return rc, out, err


def event(n, type_="order.created"):
    return json.dumps({"id": f"evt_{n}", "type": type_, "createdAt": 1795867486290 + n,
                       "data": {"id": n, "amount": 10.1}}, separators=(",", ":")).encode()


def test_listen_accepts_good_signatures_and_refuses_bad_ones():
    rx = Receiver()
    try:
        good = event(1)
        r = rx.post(good, {"Kopilka-Signature": signature(good), "Kopilka-Event-Id": "evt_1",
                           "Content-Type": "application/json"})
        assert r.status_code == 200 and r.json() == {"received": True}

        bad = [
            ({"Kopilka-Signature": signature(event(2), secret="another-secret-123")}, "does not match"),
            ({"Kopilka-Signature": signature(event(1))}, "does not match"),   # another body's
            ({}, "no Kopilka-Signature"),
            ({"Kopilka-Signature": "v1=00"}, "not t="),
            ({"Kopilka-Signature": "t=abc,v1=" + "0" * 64}, "not t="),
            ({"Kopilka-Signature": signature(event(2), t=int(time.time()) - 330)}, "tolerance"),
            ({"Kopilka-Signature": signature(event(2), t=int(time.time()) + 330)}, "tolerance"),
        ]
        for headers, reason in bad:
            r = rx.post(event(2), headers)
            assert r.status_code == 400, (headers, r.status_code)
            assert r.json()["error"] == "bad_signature" and reason in r.json()["message"]
        # Tampered: the signed body with one byte changed.
        tampered = good.replace(b"10.1", b"99.1")
        r = rx.post(tampered, {"Kopilka-Signature": signature(good)})
        assert r.status_code == 400
        # Within the tolerance either side, and a header with a rotated secret's v1 beside.
        for n, skew in ((3, -290), (4, 290)):
            body = event(n, "balance.changed")
            sig = signature(body, t=int(time.time()) + skew)
            other = hmac.new(b"old-secret", body, hashlib.sha256).hexdigest()
            r = rx.post(body, {"Kopilka-Signature": sig.replace(",v1=", f",v1={other},v1=")})
            assert r.status_code == 200, r.text
        r = rx.s.get(rx.url, timeout=10)
        assert r.status_code == 405
    finally:
        rc, out, err = rx.stop()
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert re.fullmatch(r"2026-11-28T12:04:46\.291Z evt_1 order\.created", lines[0]), lines[0]
    assert lines[1].endswith(" evt_3 balance.changed") and lines[2].endswith(" evt_4 balance.changed")
    assert err.count("kopilka: rejected POST /hooks") == len(bad) + 1
    assert "3 event(s) accepted, 8 rejected" in err


def test_listen_json_prints_the_raw_event_and_status_option():
    rx = Receiver("--json", "--status", "503", "--tolerance", "0")
    try:
        bodies = [event(10), event(11, "client.created")]
        for body in bodies:
            # --tolerance 0: any t, an old one included.
            r = rx.post(body, {"Kopilka-Signature": signature(body, t=1000)})
            assert r.status_code == 503
        r = rx.post(event(12), {"Kopilka-Signature": signature(event(13))})
        assert r.status_code == 400
    finally:
        rc, out, err = rx.stop()
    assert rc == 0
    assert out.splitlines() == [b.decode() for b in bodies]


# ---------------------------------------------------------------------------------------------
# The API commands against a real kopilkad (both engines)

from conftest import OWNER_A, body_of, loads, new_phone, rule, sale, uniq  # noqa: E402


def as_owner(env, **extra):
    e = {"KOPILKA_URL": env.base.replace("/ext/api/v1", ""), "KOPILKA_LOGIN": OWNER_A[0],
         "KOPILKA_PASSWORD": OWNER_A[1], "KOPILKA_TIMEOUT": "10"}
    e.update(extra)
    return e


def cli_json(p, code=OK):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    return loads(p.stdout)


def dead_url():
    """A URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


def funded(A, points="12.5"):
    """A new client whose first sale accrued `points`."""
    phone = new_phone()
    A.settings(active=True, currency="points", autoRegisterClients=True, maxSpendPercent=100,
               newCustomerSettings=rule("amount", float(points)), customerSettings=rule("amount", 0))
    o = A.order(sale(phone=phone, items=[{"name": "first", "price": 1, "quantity": 1}]))
    return phone, o["clientId"]


def test_whoami_and_credentials_by_precedence(env, tmp_path):
    p = kopilka("whoami", env=as_owner(env))
    assert p.returncode == OK, p.stderr
    assert re.fullmatch(rf"merchant \d+ of merchant {env.merchant_a} \(owner\): email {OWNER_A[0]}, phone -\n",
                        p.stdout), p.stdout
    me = cli_json(kopilka("whoami", "--json", env=as_owner(env)))
    assert me["accountType"] == "merchant" and me["merchantId"] == env.merchant_a

    # A wrong password: refused by the server, exit 1, the error as JSON with --json.
    wrong = as_owner(env, KOPILKA_PASSWORD="not-the-password")
    p = kopilka("whoami", "--json", env=wrong)
    err = cli_json(p, REFUSED)["error"]
    assert err["httpStatus"] == 401 and err["exit"] == REFUSED and err["retryable"] is False
    assert "refused: 401" in p.stderr and "not-the-password" not in p.stderr + p.stdout

    # The file's wrong password loses to the environment's; a flag's wrong one wins over both.
    conf = tmp_path / "config"
    conf.write_text(f"url = {env.base}\nlogin = {OWNER_A[0]}\npassword = wrong-in-file\n")
    env_only_password = {"KOPILKA_PASSWORD": OWNER_A[1]}
    assert kopilka("whoami", "--config", str(conf)).returncode == REFUSED
    assert kopilka("whoami", "--config", str(conf), env=env_only_password).returncode == OK
    assert kopilka("whoami", "--config", str(conf), "--password", "wrong-flag",
                   env=env_only_password).returncode == REFUSED
    conf.write_text(f"url = {env.base}/\nlogin = {OWNER_A[0]}\npassword = {OWNER_A[1]}\n")
    assert kopilka("--config", str(conf), "whoami").returncode == OK, "the file alone is enough"
    # No URL anywhere: a usage error, nothing sent.
    p = kopilka("whoami")
    assert p.returncode == USAGE and "no server" in p.stderr


def test_clients_find_by_phone_email_token(env, A):
    phone, email = new_phone(), f"{uniq('cli')}@example.com"
    c = A.create_client(phone=phone, email=email, name="Ivan CLI")
    for what in (phone, "+" + phone, email, c["token"]):
        found = cli_json(kopilka("clients", "find", what, "--json", env=as_owner(env)))
        assert found == [c], what
    p = kopilka("clients", "find", phone, env=as_owner(env))
    assert p.returncode == OK
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "PHONE", "EMAIL", "NAME", "SALES"]
    assert len(lines) == 2 and lines[1].split()[:5] == [str(c["id"]), phone, email, "Ivan", "CLI"]
    p = kopilka("clients", "find", "70000000000", env=as_owner(env))
    assert p.returncode == OK and p.stdout == "no client matches 70000000000\n"
    assert cli_json(kopilka("clients", "find", "70000000000", "--json", env=as_owner(env))) == []
    assert kopilka("clients", "find", env=as_owner(env)).returncode == USAGE


def test_balance_by_id_and_phone(env, A):
    phone, client_id = funded(A, "12.5")
    expected = body_of(A.get(f"/clients/{client_id}/balance/"))
    amounts = {e["currency"]: str(e["amount"]) for e in expected}
    p = kopilka("balance", str(client_id), env=as_owner(env))
    assert p.returncode == OK, p.stderr
    assert p.stdout == f"client {client_id}: 12.5 points, {amounts['rubles']} rubles\n"
    # By phone, --json: the amounts as the server wrote them.
    p = kopilka("balance", phone, "--json", env=as_owner(env))
    assert p.returncode == OK
    assert p.stdout == f'{{"clientId":{client_id},"points":12.5,"rubles":{amounts["rubles"]}}}\n'
    # Unknown: refused (404), exit 1.
    p = kopilka("balance", "999999999", env=as_owner(env))
    assert p.returncode == REFUSED and "404" in p.stderr
    p = kopilka("balance", "70000000000", env=as_owner(env))
    assert p.returncode == REFUSED and "no client matches" in p.stderr


def test_orders_post_ok_replayed_refused_and_bad_files(env, A, tmp_path):
    phone, client_id = funded(A, "20")
    ext = uniq("cli-sale")
    body = sale(ext=ext, phone=phone, items=[{"name": "Tea", "price": 100.5, "quantity": 1}],
                amount=5, currency="points")
    f = tmp_path / "sale.json"
    f.write_text(json.dumps(body))
    p = kopilka("orders", "post", str(f), env=as_owner(env))
    assert p.returncode == OK, p.stderr
    m = re.fullmatch(rf"order (\d+) \(sale {ext}\): total 100\.5, accrued 0 points, spent 5 points, "
                     rf"client {client_id}\n", p.stdout)
    assert m, p.stdout
    # Again, --json, from standard input: the same order (externalId makes it idempotent).
    order = cli_json(kopilka("orders", "post", "-", "--json", env=as_owner(env), input=json.dumps(body)))
    assert order["id"] == int(m.group(1)) and order["externalOrderNumber"] == ext
    assert str(order["totalAmount"]) == "100.5"
    assert body_of(A.get(f"/clients/{client_id}/balance/"))[0]["amount"] == 15

    # Refused for good: more points than the client has.
    f.write_text(json.dumps(sale(phone=phone, amount=1000, currency="points")))
    p = kopilka("orders", "post", str(f), "--json", env=as_owner(env))
    err = cli_json(p, REFUSED)["error"]
    assert 400 <= err["httpStatus"] < 500 and err["code"]

    # Bad files: usage errors, nothing sent.
    f.write_text('{"order": ')
    p = kopilka("orders", "post", str(f), env=as_owner(env))
    assert p.returncode == USAGE and "not JSON" in p.stderr
    f.write_text('{"order": {"receiptType": "sale"}}')
    p = kopilka("orders", "post", str(f), env=as_owner(env))
    assert p.returncode == USAGE and "externalId" in p.stderr
    assert kopilka("orders", "post", str(tmp_path / "missing.json"), env=as_owner(env)).returncode == USAGE


def test_unreachable_without_outbox_exits_3(env, tmp_path):
    f = tmp_path / "sale.json"
    f.write_text(json.dumps(sale()))
    p = kopilka("orders", "post", str(f), "--timeout", "1", env=as_owner(env, KOPILKA_URL=dead_url()))
    assert p.returncode == UNREACHABLE and "unreachable" in p.stderr
    assert not (tmp_path / "outbox").exists()


def test_outbox_queued_while_unreachable_then_flushed_once(env, A, tmp_path):
    phone, client_id = funded(A, "10")
    A.settings(customerSettings=rule("amount", 1))
    outbox = str(tmp_path / "pos.outbox")
    dead = as_owner(env, KOPILKA_URL=dead_url(), KOPILKA_TIMEOUT="1")
    exts = [uniq("offline") for _ in range(3)]
    for n, ext in enumerate(exts):
        f = tmp_path / f"sale{n}.json"
        f.write_text(json.dumps(sale(ext=ext, phone=phone)))
        args = ("orders", "post", str(f), "--outbox", outbox) + (("--json",) if n == 0 else ())
        p = kopilka(*args, env=dead)
        assert p.returncode == UNREACHABLE, p.stderr
        assert f"kopilka outbox flush {outbox}" in p.stderr
        if n == 0:
            q = loads(p.stdout)
            assert q["queued"] is True and q["outbox"] == outbox
        else:
            assert p.stdout == f"queued in {outbox}\n"

    status = cli_json(kopilka("outbox", "status", outbox, "--json"))
    assert (status["pending"], status["sent"], status["failed"]) == (3, 0, 0)
    assert [e["externalId"] for e in status["entries"]] == exts
    assert all(e["state"] == "pending" for e in status["entries"])
    p = kopilka("outbox", "status", outbox)
    assert p.returncode == OK and p.stdout.splitlines()[0] == "pending 3, sent 0, failed 0"
    assert len(p.stdout.splitlines()) == 4 and exts[0] in p.stdout.splitlines()[1]

    # Still unreachable: flush keeps them, exit 3.
    p = kopilka("outbox", "flush", outbox, env=dead)
    assert p.returncode == UNREACHABLE
    assert cli_json(kopilka("outbox", "status", outbox, "--json"))["pending"] == 3
    # The server back: every order acknowledged once, in order.
    p = kopilka("outbox", "flush", outbox, "--json", env=as_owner(env))
    done = cli_json(p)
    assert (done["pending"], done["sent"], done["failed"], done["entries"]) == (0, 3, 0, [])
    p = kopilka("outbox", "flush", outbox, env=as_owner(env))
    assert p.returncode == OK and p.stdout == "pending 0, sent 3, failed 0\n"
    assert body_of(A.get(f"/clients/{client_id}/balance/"))[0]["amount"] == 13, \
        "three sales accrued 1 point each, once"
    assert kopilka("outbox", "status", str(tmp_path / "no-such.outbox")).returncode == USAGE


def test_outbox_flush_reports_a_refused_order(env, A, tmp_path):
    phone, client_id = funded(A, "1")
    outbox = str(tmp_path / "refused.outbox")
    f = tmp_path / "big.json"
    f.write_text(json.dumps(sale(phone=phone, amount=1000, currency="points")))
    p = kopilka("orders", "post", str(f), "--outbox", outbox,
                env=as_owner(env, KOPILKA_URL=dead_url(), KOPILKA_TIMEOUT="1"))
    assert p.returncode == UNREACHABLE
    p = kopilka("outbox", "flush", outbox, env=as_owner(env))
    assert p.returncode == REFUSED and "refused 1 order(s) for good" in p.stderr
    status = cli_json(kopilka("outbox", "status", outbox, "--json"))
    assert (status["pending"], status["failed"]) == (0, 1)
    entry = status["entries"][0]
    assert entry["state"] == "failed" and 400 <= entry["httpStatus"] < 500 and entry["code"]
    p = kopilka("outbox", "status", outbox)
    assert p.returncode == OK
    assert p.stdout.splitlines()[0] == "pending 0, sent 0, failed 1"
    assert re.fullmatch(rf"#1 +failed +sale +{entry['externalId']} +attempts \d+  last: "
                        rf"{entry['httpStatus']} {entry['code']}: .+", p.stdout.splitlines()[1]), p.stdout
    # Through the outbox with the server up: sent at once, exit 0.
    f.write_text(json.dumps(sale(phone=phone)))
    p = kopilka("orders", "post", str(f), "--outbox", outbox, "--json", env=as_owner(env))
    assert cli_json(p)["clientId"] == client_id


# ---------------------------------------------------------------------------------------------
# The webhooks log commands. The webhook endpoints live on the webhooks branch; here a fake server
# answers with the shapes of its handlers (GET /webhooks/, GET /webhooks/{id}/deliveries/,
# POST /webhooks/events/{id}/redeliver/), and records what the CLI asked.

import base64  # noqa: E402
import http.server  # noqa: E402
import threading  # noqa: E402

ENDPOINTS = [{"id": 7, "url": "https://pos.example/hooks", "secret": "whsec_…abcd",
              "events": ["order.created", "balance.changed"], "active": True, "createdAt": 1795867486290}]
DELIVERIES = [
    {"id": 31, "eventId": "evt_0f1e2d3c4b5a69788796a5b4c3d2e1f0", "eventType": "order.created",
     "status": "delivered", "attempts": 2, "nextAttemptAt": None, "lastStatus": 200, "lastError": None,
     "createdAt": 1795867486290,
     "log": [{"at": 1795867486300, "status": None, "error": "connect: refused", "latencyMs": 3},
             {"at": 1795867487300, "status": 200, "error": None, "latencyMs": 12}]},
    {"id": 32, "eventId": "evt_1f1e2d3c4b5a69788796a5b4c3d2e1f0", "eventType": "balance.changed",
     "status": "pending", "attempts": 1, "nextAttemptAt": 1795867496290, "lastStatus": 503,
     "lastError": None, "createdAt": 1795867486291,
     "log": [{"at": 1795867486400, "status": 503, "error": None, "latencyMs": 5}]},
]


class FakeWebhooksApi(http.server.BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        FakeWebhooksApi.seen.append(("GET", self.path, self.headers.get("Authorization")))
        if self.path == "/ext/api/v1/webhooks/":
            return self.answer(200, ENDPOINTS)
        if self.path == "/ext/api/v1/webhooks/7/deliveries/":
            return self.answer(200, DELIVERIES)
        if self.path == "/ext/api/v1/webhooks/8/deliveries/":
            return self.answer(200, [])
        self.answer(404, {"error": "Not Found", "code": "not_found", "message": "no such webhook",
                          "status": 404, "path": self.path, "timestamp": 0})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        FakeWebhooksApi.seen.append(("POST", self.path, body))
        if self.path == f"/ext/api/v1/webhooks/events/{DELIVERIES[0]['eventId']}/redeliver/":
            return self.answer(202, {"eventId": DELIVERIES[0]["eventId"], "deliveries": 1})
        self.answer(404, {"error": "Not Found", "code": "not_found", "message": "event not found",
                          "status": 404, "path": self.path, "timestamp": 0})


@pytest.fixture
def fake_api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeWebhooksApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeWebhooksApi.seen = []
    env = {"KOPILKA_URL": f"http://127.0.0.1:{server.server_address[1]}", "KOPILKA_LOGIN": "o@example.com",
           "KOPILKA_PASSWORD": "pw", "KOPILKA_TIMEOUT": "5"}
    yield env
    server.shutdown()
    server.server_close()


def test_webhooks_list_events_deliveries_redeliver(fake_api):
    p = kopilka("webhooks", "list", env=fake_api)
    assert p.returncode == OK, p.stderr
    assert p.stdout == "7      active   https://pos.example/hooks order.created,balance.changed\n"
    assert cli_json(kopilka("webhooks", "list", "--json", env=fake_api)) == ENDPOINTS
    auth = "Basic " + base64.b64encode(b"o@example.com:pw").decode()
    assert FakeWebhooksApi.seen[0] == ("GET", "/ext/api/v1/webhooks/", auth)

    p = kopilka("webhooks", "events", "7", env=fake_api)
    assert p.returncode == OK, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == ["2026-11-28T12:04:46Z", DELIVERIES[0]["eventId"], "order.created",
                                "delivered", "attempts", "2", "last", "200"]
    assert lines[1].split() == ["2026-11-28T12:04:46Z", DELIVERIES[1]["eventId"], "balance.changed",
                                "pending", "attempts", "1", "last", "503,", "next", "2026-11-28T12:04:56Z"]
    p = kopilka("webhooks", "deliveries", "7", env=fake_api)
    lines = p.stdout.splitlines()
    assert p.returncode == OK and len(lines) == 5
    assert lines[1] == "    2026-11-28T12:04:46Z status -, 3 ms, connect: refused"
    assert lines[2] == "    2026-11-28T12:04:47Z status 200, 12 ms"
    assert lines[4] == "    2026-11-28T12:04:46Z status 503, 5 ms"
    assert cli_json(kopilka("webhooks", "deliveries", "7", "--json", env=fake_api)) == DELIVERIES
    p = kopilka("webhooks", "events", "8", env=fake_api)
    assert p.returncode == OK and p.stdout == "no events delivered to it yet\n"
    p = kopilka("webhooks", "events", "9", env=fake_api)
    assert p.returncode == REFUSED and "404 not_found" in p.stderr
    assert kopilka("webhooks", "events", "../x", env=fake_api).returncode == USAGE

    event_id = DELIVERIES[0]["eventId"]
    p = kopilka("webhooks", "redeliver", event_id, env=fake_api)
    assert p.returncode == OK and p.stdout == f"event {event_id}: redelivery scheduled to 1 endpoint(s)\n"
    assert cli_json(kopilka("webhooks", "redeliver", event_id, "--json", env=fake_api)) == \
        {"eventId": event_id, "deliveries": 1}
    assert ("POST", f"/ext/api/v1/webhooks/events/{event_id}/redeliver/", b"{}") in FakeWebhooksApi.seen
    p = kopilka("webhooks", "redeliver", "evt_unknown", "--json", env=fake_api)
    assert cli_json(p, REFUSED)["error"]["httpStatus"] == 404


# ---------------------------------------------------------------------------------------------
# The CLI and a real server's webhooks (both engines): deliveries signed by kopilkad verified by
# `kopilka webhooks listen`, through SIGKILLs of the server; the webhooks commands on the log.

from conftest import Server, Session  # noqa: E402
from test_webhooks import Receiver as WebhookReceiver, names_per_client as renamed  # noqa: E402

WEBHOOK_FLAGS = ("--lockout-addr-failures", "100000", "--webhook-allow-private", "1",
                 "--webhook-period-ms", "50", "--webhook-retry-base-ms", "100",
                 "--webhook-timeout-ms", "300")


class LiveReceiver(Receiver):
    """The CLI's receiver with --json, its standard output read as it comes (one event a line)."""

    def __init__(self, *extra):
        super().__init__("--json", *extra)
        self.events = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    wait = WebhookReceiver.wait  # the same wait on self.events under self.lock

    def stop(self):
        self.s.close()
        rc = stop_process(self.proc)
        self.reader.join(timeout=10)
        return rc, self.proc.stderr.read()


def test_listen_verifies_a_real_servers_deliveries_through_sigkills(make_env):
    env = make_env(*WEBHOOK_FLAGS)
    A = env.a
    rx = LiveReceiver()
    try:
        ep = body_of(A.post("/webhooks/", {"url": rx.url, "events": ["client.updated"],
                                          "secret": SECRET}), 201)
        # An endpoint whose secret the receiver does not know: each of its deliveries refused.
        wrong = body_of(A.post("/webhooks/", {"url": rx.url.replace("/hooks", "/wrong"),
                                             "events": ["client.updated"],
                                             "secret": "whsec_not_the_receivers_1"}), 201)
        clients = [A.create_client(phone=new_phone()) for _ in range(3)]
        acknowledged = {}
        for cycle in range(3):
            for k in range(cycle * 4, cycle * 4 + 4):
                for c in clients:
                    r = Session(OWNER_A).put(env.url(f"/clients/{c['id']}/"), json={"name": f"{c['id']}-{k}"})
                    assert r.status_code == 200, r.text
                    acknowledged.setdefault(c["id"], []).append(k)
            env.server.proc.send_signal(signal.SIGKILL)  # events are pending
            env.server.proc.wait(timeout=10)
            env.server = Server(env.db, env.tmp, WEBHOOK_FLAGS).start()
        A = env.a
        rx.wait(lambda ev: {k: set(v) for k, v in renamed(ev).items()} ==
                {k: set(v) for k, v in acknowledged.items()}, timeout=90, what="every acknowledged change's event")
        # In order per client: a resent event may repeat one, never come before an earlier one.
        for cid, ks in renamed(rx.events).items():
            assert list(dict.fromkeys(ks)) == acknowledged[cid], (cid, ks)
        assert all(e["id"].startswith("evt_") and isinstance(e["createdAt"], int) for e in rx.events)

        # The commands on the real log: the endpoints, the events, a redelivery.
        env_cli = as_owner(env)
        p = kopilka("webhooks", "list", env=env_cli)
        assert p.returncode == OK, p.stderr
        lines = p.stdout.splitlines()
        assert sorted(lines) == sorted([f"{ep['id']:<6} active   {rx.url} client.updated",
                                        f"{wrong['id']:<6} active   {rx.url.replace('/hooks', '/wrong')} client.updated"]), lines
        listed = cli_json(kopilka("webhooks", "list", "--json", env=env_cli))
        assert {e["id"] for e in listed} == {ep["id"], wrong["id"]}
        assert all(e["secret"] != SECRET for e in listed)  # masked
        # The receiver has every event; the worker records a round's attempts after the round,
        # so the last ones may still read pending for a moment.
        deadline = time.monotonic() + 30
        while True:
            p = kopilka("webhooks", "events", str(ep["id"]), env=env_cli)
            assert p.returncode == OK, p.stderr
            delivered = [line.split() for line in p.stdout.splitlines()]
            if all(f[3] == "delivered" for f in delivered) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(delivered) == 36 and all(f[2] == "client.updated" and f[3] == "delivered"
                                            for f in delivered), p.stdout
        assert {f[1] for f in delivered} == {e["id"] for e in rx.events}
        p = kopilka("webhooks", "events", str(wrong["id"]), env=env_cli)
        refused = [line.split() for line in p.stdout.splitlines()]
        assert refused and all(f[3] == "pending" and "400," in f for f in refused if int(f[5]) > 0), p.stdout
        first = delivered[0][1]
        p = kopilka("webhooks", "redeliver", first, env=env_cli)
        assert p.returncode == OK and p.stdout == f"event {first}: redelivery scheduled to 2 endpoint(s)\n", \
            (p.stdout, p.stderr)
        rx.wait(lambda ev: [e["id"] for e in ev].count(first) >= 2, timeout=30, what="the redelivered event")
    finally:
        rc, err = rx.stop()
    assert rc == 0, err
    rejected = [line for line in err.splitlines() if "rejected" in line and "POST" in line]
    assert rejected and all("rejected POST /wrong" in line and "does not match" in line
                            for line in rejected), rejected
    accepted = int(re.search(r"(\d+) event\(s\) accepted", err).group(1))
    assert accepted == len(rx.events) >= 37
