# Black-box fixtures: start the real kopilkad on a free 127.0.0.1 port with a fresh database
# and speak HTTP to it; every module gets its own database and server (see `env`).
import base64
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests

import openapi_check

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KOPILKAD = os.environ.get("KOPILKAD", os.path.join(REPO, "build", "kopilkad"))
API_PREFIX = "/ext/api/v1"

OWNER_A = ("a@example.com", "secret-pass-A")
OWNER_B = ("b@example.com", "secret-pass-B")

# Generous per-address limit so auth-error tests do not lock the whole suite out.
DEFAULT_SERVE_FLAGS = ("--lockout-addr-failures", "100000", "--threads", "8")

JSON_CT = "application/json;charset=UTF-8"
ERROR_KEYS = {"error", "message", "path", "status", "timestamp", "code"}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}
HEX32 = re.compile(r"^[0-9a-f]{32}$")
DIGITS6 = re.compile(r"^[0-9]{6}$")
DAY_MS = 86400 * 1000

_counter = itertools.count(1)

# The reliability suite (tests/api/test_rel_*.py, issue 4) runs at a small scale in `make test`
# and at the full counts of the issue in `make stress` (KOPILKA_STRESS=1).
STRESS = os.environ.get("KOPILKA_STRESS") == "1"


def scale(ci, full):
    """How much of a reliability load to run: `ci` in make test, `full` in make stress."""
    return full if STRESS else ci



def uniq(prefix="x"):
    """A name unique within the test process (deterministic: a counter, not randomness)."""
    return f"{prefix}-{next(_counter)}"


def new_phone(prefix="79"):
    """A fresh 11-digit phone number that no other test of the process uses."""
    n = next(_counter)
    return prefix + str(n).zfill(11 - len(prefix))


# ---------------------------------------------------------------------------------------------
# JSON with exact numbers

class Num(Decimal):
    """A JSON number with a fraction or exponent, compared as a Decimal, keeping its raw text."""


def _parse_float(text):
    n = Num(text)
    n.raw = text
    return n


def loads(text):
    return json.loads(text, parse_float=_parse_float)


def raw(value):
    """The literal text a JSON number was printed as."""
    if isinstance(value, Num):
        return value.raw
    assert isinstance(value, int) and not isinstance(value, bool), f"not a JSON number: {value!r}"
    return str(value)


def canonical(amount):
    """How the contract prints an exact money amount: 1234.56, 100.5, 10, -3.4."""
    d = Decimal(amount)
    if d == d.to_integral_value():
        return str(int(d))
    text = format(d.normalize(), "f")
    return text


def assert_money(value, expected):
    """value (a parsed JSON number) equals expected and is printed in the exact short form."""
    assert Decimal(raw(value)) == Decimal(expected), f"{raw(value)} != {expected}"
    assert raw(value) == canonical(expected), f"money printed as {raw(value)}, want {canonical(expected)}"


def D(text):
    return Decimal(text)


# ---------------------------------------------------------------------------------------------
# Diagnostics: every failing assertion about a response shows the request and the response.

def describe(r):
    req = r.request
    body = req.body
    if isinstance(body, bytes):
        body = body[:600].decode("utf-8", "replace")
    elif isinstance(body, str):
        body = body[:600]
    return (
        f"\n>>> {req.method} {req.url}\n>>> {body}\n<<< {r.status_code} {r.reason}"
        f" {dict((k, v) for k, v in r.headers.items() if k.lower() not in ('date',))}"
        f"\n<<< {r.text[:1500]}"
    )


def body_of(r, status=200):
    """Assert the status and JSON content type, return the parsed body (exact numbers)."""
    assert r.status_code == status, describe(r)
    assert r.headers.get("Content-Type", "").startswith(JSON_CT), describe(r)
    try:
        return loads(r.text)
    except ValueError:
        pytest.fail("response is not JSON" + describe(r))


def assert_error(r, status, code=None, field=None, path=None, check_time=True):
    """The contract's error body: exactly the five Spring fields plus `code`."""
    body = body_of(r, status)
    assert isinstance(body, dict), describe(r)
    assert set(body) == ERROR_KEYS, f"error body keys {sorted(body)}" + describe(r)
    assert body["status"] == status, describe(r)
    assert body["error"] == REASONS[status], describe(r)
    assert isinstance(body["message"], str) and body["message"], describe(r)
    want_path = path if path is not None else urlsplit(r.request.url).path
    assert body["path"] == want_path, describe(r)
    assert isinstance(body["timestamp"], int) and not isinstance(body["timestamp"], bool), describe(r)
    if check_time:
        assert abs(body["timestamp"] - time.time() * 1000) < DAY_MS, describe(r)
    if code is not None:
        assert body["code"] == code, describe(r)
    if field is not None:
        assert field in body["message"], f"message does not name {field!r}" + describe(r)
    return body


# ---------------------------------------------------------------------------------------------
# Processes

def run_cli(*args, timeout=60):
    return subprocess.run(
        [KOPILKAD, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


def init_merchant(db, email, password, name=None):
    args = ["init", "--db", db, "--email", email, "--password", password]
    if name:
        args += ["--name", name]
    p = run_cli(*args)
    assert p.returncode == 0, f"init failed: {p.returncode}\n{p.stdout}\n{p.stderr}"
    lines = [ln.strip() for ln in p.stdout.strip().splitlines()]
    assert lines and re.fullmatch(r"[1-9][0-9]*", lines[-1]), f"init stdout: {p.stdout!r}"
    return int(lines[-1])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=10):
    """SIGTERM by PID, wait up to `timeout` s, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


class Server:
    """One `kopilkad serve` process on a free port of 127.0.0.1."""

    _n = itertools.count(1)

    def __init__(self, db, workdir, flags=DEFAULT_SERVE_FLAGS):
        self.db = db
        self.workdir = workdir
        self.flags = tuple(flags)
        self.proc = None
        self.port = None
        self.log_path = None

    def start(self):
        last = ""
        for _attempt in range(3):  # a port picked free may be taken meanwhile: retry another
            self.port = free_port()
            self.log_path = os.path.join(self.workdir, f"serve-{next(self._n)}.log")
            log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                [KOPILKAD, "serve", "--db", self.db, "--listen", f"127.0.0.1:{self.port}", *self.flags],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return self
                except OSError:
                    time.sleep(0.05)
            stop_process(self.proc)
            last = self.log_tail()
        pytest.fail(f"kopilkad serve did not start listening within 10 s:\n{last}")

    def stop(self):
        rc = stop_process(self.proc)
        return rc

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"


class Session(requests.Session):
    """A requests session with a default timeout, so no test can hang."""

    def __init__(self, auth=None):
        super().__init__()
        self.auth = auth
        self.trust_env = False  # never go through a proxy: traffic stays on 127.0.0.1

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        r = super().request(method, url, *args, **kwargs)
        # Every answer the suite sees is held to api/openapi.json (issue 7), so the document
        # cannot drift from the server.
        if method.upper() != "HEAD" and not kwargs.get("stream"):
            openapi_check.check(method, url, r.status_code, r.headers, r.content)
        return r


class Api:
    """A merchant's view of the server: paths relative to /ext/api/v1, Basic auth."""

    def __init__(self, env, auth):
        self.env = env
        self.auth = auth
        self.s = Session(auth)

    def url(self, path):
        return self.env.url(path)

    def get(self, path, **kw):
        return self.s.get(self.url(path), **kw)

    def post(self, path, json_body=None, **kw):
        if json_body is not None:
            kw["json"] = json_body
        return self.s.post(self.url(path), **kw)

    def put(self, path, json_body=None, **kw):
        if json_body is not None:
            kw["json"] = json_body
        return self.s.put(self.url(path), **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.url(path), **kw)

    def post_raw(self, path, data, content_type="application/json"):
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.s.post(self.url(path), data=data, headers=headers)

    # --- conveniences used by many tests ---

    def settings(self, **fields):
        return body_of(self.put("/loyalty/settings/", fields))

    def create_client(self, phone=None, email=None, name=None, **kw):
        body = {k: v for k, v in (("phone", phone), ("email", email), ("name", name)) if v is not None}
        body.update(kw)
        return body_of(self.post("/clients/", body), 201)

    def order(self, body, status=200):
        r = self.post("/fiscal/orders/", body)
        return body_of(r, status) if status == 200 else r

    def balance(self, client_id, currency="points"):
        b = body_of(self.get(f"/clients/{client_id}/balance/"))
        return {e["currency"]: Decimal(raw(e["amount"])) for e in b}[currency]

    def client(self, phone):
        """The client with this exact phone, read through the seed search endpoint."""
        found = body_of(self.get("/clients/", params={"phone": phone}))
        assert len(found) == 1, found
        return found[0]

    def coupon_ids(self, client_id):
        return [c["id"] for c in body_of(self.get(f"/clients/{client_id}/coupons/"))]

    def catalog_coupon(self, **fields):
        fields.setdefault("title", uniq("coupon"))
        return body_of(self.post("/loyalty/coupons/", fields), 201)

    def issue(self, client_id, coupon_id):
        return body_of(self.post(f"/clients/{client_id}/coupons/", {"couponId": coupon_id}), 201)


def sale(ext=None, items=None, phone=None, email=None, card=None, cash=None, amount=None,
         currency=None, coupons=None):
    """A sale order body. Without items: one item of price 100."""
    order = {"externalId": ext if ext is not None else uniq("sale"), "receiptType": "sale",
             "items": items if items is not None else [{"name": "Item", "price": 100, "quantity": 1}]}
    if phone is not None:
        order["customerPhone"] = phone
    if email is not None:
        order["customerEmail"] = email
    if card is not None:
        order["amountCard"] = card
    if cash is not None:
        order["amountCash"] = cash
    body = {"order": order}
    if amount is not None:
        body["amount"] = amount
    if currency is not None:
        body["currency"] = currency
    if coupons is not None:
        body["coupons"] = coupons
    return body


def refund(items, ext=None):
    return {"order": {"externalId": ext if ext is not None else uniq("refund"), "receiptType": "refund",
                      "items": items}}


def rule(type_="amount", amount=0, valid_days=None, coupon_id=None):
    return {"couponId": coupon_id, "type": type_, "amount": amount, "validDays": valid_days}


class Env:
    """A temporary directory, a database with merchants A and B, and a running server."""

    def __init__(self, tmpdir, flags=DEFAULT_SERVE_FLAGS, db=None, engine="sqlite"):
        self.tmp = str(tmpdir)
        self.engine = engine
        self.db = db or os.path.join(self.tmp, "kopilka.db")
        self.merchant_a = init_merchant(self.db, *OWNER_A, name="Merchant A")
        self.merchant_b = init_merchant(self.db, *OWNER_B, name="Merchant B")
        assert self.merchant_a != self.merchant_b
        self.server = Server(self.db, self.tmp, flags).start()
        self.a = Api(self, OWNER_A)
        self.b = Api(self, OWNER_B)

    @property
    def base(self):
        return self.server.base

    def url(self, path):
        return self.base + path

    def session(self, auth=None):
        return Session(auth)

    def restart(self, *flags, keep_defaults=True):
        """Stop the server (asserting a clean exit) and start it again on the same database."""
        rc = self.server.stop()
        assert rc == 0, f"kopilkad serve exited {rc}:\n{self.server.log_tail()}"
        all_flags = (DEFAULT_SERVE_FLAGS if keep_defaults else ()) + tuple(flags)
        self.server = Server(self.db, self.tmp, all_flags).start()
        return self.server

    def check(self, *extra):
        return run_cli("check", "--db", self.db, *extra)

    def close(self):
        for api in (self.a, self.b):
            api.s.close()
        rc = self.server.stop()
        assert rc == 0, f"kopilkad serve exited {rc} on SIGTERM:\n{self.server.log_tail()}"
        p = self.check()
        assert p.returncode == 0, f"kopilkad check failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"


@pytest.fixture(scope="session", autouse=True)
def _logs_never_carry_secrets(tmp_path_factory):
    """After the whole suite: no server log of any test holds a password, a Basic credential or
    an Authorization header the suite sent (issue 7)."""
    yield
    secrets = [OWNER_A[1], OWNER_B[1], "Authorization", "Basic "]
    for pair in (OWNER_A, OWNER_B):
        secrets.append(base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode())
    root = str(tmp_path_factory.getbasetemp())
    for folder, _dirs, files in os.walk(root):
        for name in files:
            # server logs (make run's own log prints the demo password on purpose)
            if name.endswith(".log") and name.startswith(("serve-", "access")):
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for secret in secrets:
                    assert secret not in text, f"{secret[:6]}... found in {os.path.join(folder, name)}"


@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    if not (os.path.isfile(KOPILKAD) and os.access(KOPILKAD, os.X_OK)):
        pytest.exit(f"kopilkad binary not found at {KOPILKAD} (set KOPILKAD or run make build)", 2)


# ---------------------------------------------------------------------------------------------
# Engines: the whole suite runs on each (issue 6), parametrized, not copied. KOPILKA_TEST_ENGINES
# narrows the list (e.g. "sqlite" for a quick run).

ENGINES = [e for e in os.environ.get("KOPILKA_TEST_ENGINES", "sqlite,postgres").split(",") if e]
PG_CLUSTER_SCRIPT = os.path.join(REPO, "scripts", "pg-test-cluster.sh")


class PgCluster:
    """A private PostgreSQL cluster for the test session, started and stopped by the repo's
    script; every test module gets a fresh database in it."""

    _n = itertools.count(1)

    def __init__(self):
        # Under /tmp, not pytest's 0700 tree: the cluster runs as the postgres user.
        self.dir = tempfile.mkdtemp(prefix="kopilka-pg-")
        p = subprocess.run(["bash", PG_CLUSTER_SCRIPT, "start", self.dir], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            pytest.fail(f"could not start the test PostgreSQL cluster:\n{p.stderr[-3000:]}")
        self.uri = p.stdout.strip().splitlines()[-1]

    def new_database(self):
        name = f"kopilka_{os.getpid()}_{next(self._n)}"
        p = subprocess.run(["psql", self.uri, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return self.uri.rsplit("/", 1)[0] + "/" + name

    def stop(self):
        subprocess.run(["bash", PG_CLUSTER_SCRIPT, "stop", self.dir], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def database_for(engine, tmpdir, request):
    """A new, empty database of the engine: a file path or a postgresql:// URI."""
    if engine == "postgres":
        return request.getfixturevalue("pg_cluster").new_database()
    return os.path.join(str(tmpdir), "kopilka.db")


@pytest.fixture(scope="module", params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture(scope="module")
def env(tmp_path_factory, engine, request):
    tmp = tmp_path_factory.mktemp(f"kopilka-{engine}")
    e = Env(tmp, db=database_for(engine, tmp, request), engine=engine)
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def make_env(tmp_path, engine, request):
    """make_env(*flags): a server of its own with exactly these flags, on a fresh database of the
    module's engine; each is stopped and checked after the test."""
    envs = []

    def make(*flags):
        d = tmp_path / f"env{len(envs)}"
        d.mkdir()
        e = Env(d, flags=flags, db=database_for(engine, d, request), engine=engine)
        envs.append(e)
        return e

    yield make
    for e in envs:
        e.close()


@pytest.fixture
def A(env):
    return env.a


@pytest.fixture
def B(env):
    return env.b


# ---------------------------------------------------------------------------------------------
# Sanitizer reports (issue 4 item 10). Under an ASan + UBSan build (make asan, make test) every
# kopilkad the suite starts, server or CLI, writes any AddressSanitizer, LeakSanitizer or
# UndefinedBehaviorSanitizer report to a file of its own in SANITIZER_LOG_DIR (log_path), so a
# report cannot hide in a log nobody reads: the test during which one appears fails, and so does
# the session when one appears later (a leak found when a module's server exits). Harmless for
# an uninstrumented binary, which never reads these variables.
SANITIZER_LOG_DIR = tempfile.mkdtemp(prefix="kopilka-sanitizer-")
for _var, _name in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
    _opts = os.environ.get(_var, "")
    os.environ[_var] = (_opts + ":" if _opts else "") + f"log_path={SANITIZER_LOG_DIR}/{_name}"


def _sanitizer_reports(seen):
    """Reports written since `seen` (a set of file names it updates), as one text."""
    out = []
    for name in sorted(os.listdir(SANITIZER_LOG_DIR)):
        if name in seen:
            continue
        seen.add(name)
        with open(os.path.join(SANITIZER_LOG_DIR, name), encoding="utf-8", errors="replace") as f:
            out.append(f"--- {name}\n{f.read()[-6000:]}")
    return "\n".join(out)


_SEEN_REPORTS = set()


@pytest.fixture(autouse=True)
def _no_sanitizer_report():
    yield
    reports = _sanitizer_reports(_SEEN_REPORTS)
    if reports:
        pytest.fail(f"sanitizer report(s) from kopilkad:\n{reports}", pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    """After every fixture is torn down (the last servers have exited): a report written since
    the last test, such as a leak found at a server's exit, fails the run."""
    reports = _sanitizer_reports(_SEEN_REPORTS)
    if reports:
        print(f"\nFAILED: sanitizer report(s) from kopilkad after the tests:\n{reports}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
