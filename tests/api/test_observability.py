"""Issue 7: the OpenAPI document matches the server's routes and is served; /docs/ renders it in
a real browser; /metrics is Prometheus text with route templates for labels; logs are JSON lines
that never carry secrets; request ids are kept or made; cached credentials skip Argon2."""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import (KOPILKAD, OWNER_A, OWNER_B, Session, body_of, free_port, new_phone, run_cli, sale,
                      uniq)
import openapi_check

SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? '
    r'(?P<value>[-+]?[0-9.eE+-]+|\+Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Parses the Prometheus text format strictly: every line a comment or a sample."""
    samples = []
    types = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(LABEL.findall(m.group("labels") or ""))
        samples.append((m.group("name"), labels, float(m.group("value"))))
    return samples, types


def value(samples, name, **labels):
    found = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return sum(found) if found else 0.0


def test_routes_and_document_agree():
    out = subprocess.run([KOPILKAD, "routes"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    server = {tuple(line.split(" ", 1)) for line in out.stdout.splitlines() if line}
    document = openapi_check.document_routes()
    # A route ending in {rest} (Apple's PassKit web service, /wallet/v1/...) takes every path
    # under its prefix: the document lists those paths one by one, as Apple specifies them. It
    # is documented when at least one path of its method is under it, and each such path is
    # one of the server's.
    rest = {(m, t[:-len("{rest}")]) for m, t in server if t.endswith("{rest}")}

    def under_rest(method, template):
        return any(method == m and template.startswith(prefix) for m, prefix in rest)

    lacks = {(m, t) for m, t in server - document
             if not (t.endswith("{rest}") and any(dm == m and dt.startswith(t[:-len("{rest}")])
                                                  for dm, dt in document))}
    assert lacks == set(), f"routes the document lacks: {sorted(lacks)}"
    extra = {(m, t) for m, t in document - server if not under_rest(m, t)}
    assert extra == set(), f"documented routes the server lacks: {sorted(extra)}"


def test_openapi_json_is_the_document(env):
    r = Session().get(env.url("/openapi.json"))
    assert r.status_code == 200
    assert r.json() == openapi_check.DOC
    assert r.json()["openapi"].startswith("3.1")


def postman_requests(items):
    """(method, path) of every request of a Postman collection's folders, the path with the
    OpenAPI document's {name} for the collection's :name."""
    for item in items:
        if "item" in item:
            yield from postman_requests(item["item"])
            continue
        url = item["request"]["url"]
        path = "/" + "/".join(re.sub(r"^:(.+)$", r"{\1}", part) for part in url["path"])
        yield item["request"]["method"], path


def test_postman_collection_has_a_request_per_operation(env):
    """GET /ext/api/v1/postman.json: the collection made at build time from the same document
    (scripts/postman.sh), one request per operation, Basic auth from its variables."""
    r = Session().get(env.url("/postman.json"))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    collection = r.json()
    assert collection["info"]["schema"].startswith("https://schema.getpostman.com/json/collection/v2.1.0/")
    assert collection["info"]["name"] == openapi_check.DOC["info"]["title"]
    assert collection["auth"]["type"] == "basic"
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "http://127.0.0.1:8080"
    assert {"basicAuthUsername", "basicAuthPassword"} <= set(variables)
    requests_ = list(postman_requests(collection["item"]))
    operations = [(m.upper(), path) for path, item in openapi_check.DOC["paths"].items()
                  for m in item if m in ("get", "post", "put", "delete", "patch")]
    assert len(requests_) == len(operations)
    assert sorted(requests_) == sorted(operations)


def test_healthz(env):
    r = Session().get(env.url("/../../../healthz").replace("/ext/api/v1/../../..", ""))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "database": "ok"}


def metrics_url(env):
    return env.base.replace("/ext/api/v1", "") + "/metrics"


def test_metrics_scrape(env, A):
    client = A.create_client(phone=new_phone())
    before, _ = parse_metrics(Session().get(metrics_url(env)).text)
    for _ in range(3):
        assert A.get(f"/clients/{client['id']}/balance/").status_code == 200
    A.order(sale(phone=client["phone"], card=100))
    assert A.get("/clients/999999999/balance/").status_code == 404
    r = Session().get(metrics_url(env))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples, types = parse_metrics(r.text)
    route = "/ext/api/v1/clients/{id}/balance/"
    ok = value(samples, "kopilka_http_requests_total", route=route, method="GET", status="200")
    ok_before = value(before, "kopilka_http_requests_total", route=route, method="GET", status="200")
    assert ok - ok_before == 3
    assert value(samples, "kopilka_http_requests_total", route=route, status="404") >= 1
    assert (value(samples, "kopilka_orders_created_total", receipt_type="sale")
            - value(before, "kopilka_orders_created_total", receipt_type="sale")) == 1
    # No label carries a raw path: ids and tokens never become label values.
    for name, labels, _ in samples:
        for v in labels.values():
            assert not re.search(r"/\d+/", v), f"{name} has a raw path label {v!r}"
    # Histogram buckets are cumulative and end with the count.
    buckets = [(l["le"], v) for n, l, v in samples
               if n == "kopilka_http_request_duration_seconds_bucket" and l.get("route") == route]
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and buckets[-1][0] == "+Inf"
    assert buckets[-1][1] == value(samples, "kopilka_http_request_duration_seconds_count", route=route)
    for name in ("kopilka_http_requests_in_flight", "kopilka_points_accrued_total",
                 "kopilka_points_spent_total", "kopilka_auth_failures_total",
                 "kopilka_auth_lockouts_total", "kopilka_db_commits_total",
                 "kopilka_db_pool_connections", "process_resident_memory_bytes"):
        assert name in types, f"{name} is not exposed"
    assert value(samples, "process_resident_memory_bytes") > 1_000_000
    assert value(samples, "kopilka_db_pool_connections") >= 1


def test_metrics_on_their_own_listener(env):
    port = free_port()
    env.restart("--metrics-listen", f"127.0.0.1:{port}")
    try:
        assert Session().get(metrics_url(env)).status_code == 404
        # The metrics listener is not the API (the OpenAPI document describes the API port):
        # plain requests, not the suite's contract-checking Session.
        r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert r.status_code == 200 and "kopilka_http_requests_total" in r.text
        r = requests.get(f"http://127.0.0.1:{port}/ext/api/v1/clients/", auth=OWNER_A, timeout=10)
        assert r.status_code == 404
    finally:
        env.restart()


def test_request_id_kept_or_made(A):
    r = A.get("/clients/", headers={"X-Request-Id": "pos-42.retry_1"})
    assert r.headers["X-Request-Id"] == "pos-42.retry_1"
    for bad in ("has space", "x" * 65, "ünicode"):
        r = A.get("/clients/", headers={"X-Request-Id": bad.encode("utf-8")})
        assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"]), r.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", A.get("/clients/").headers["X-Request-Id"])


def read_log_lines(env):
    with open(env.server.log_path, encoding="utf-8") as f:
        return [line for line in f.read().splitlines() if line]


def test_logs_are_json_and_never_carry_secrets(env, A):
    env.restart()
    phone = new_phone()
    client = A.create_client(phone=phone, email=f"{uniq('mail')}@example.com")
    coupon = A.catalog_coupon(title="Secret-free coupon")
    inst = A.issue(client["id"], coupon["id"])
    assert A.get(f"/clients/?phone={phone}").status_code == 200
    Session(("a@example.com", "wrong-password-xyz")).get(A.url("/clients/"))
    A.get(f"/clients/{client['id']}/coupons/", headers={"X-Request-Id": "trace-me"})
    env.restart()  # flush: the stopped server wrote every line
    log_path = [p for p in sorted(os.listdir(env.tmp)) if p.startswith("serve-")]
    text = "".join(open(os.path.join(env.tmp, p), encoding="utf-8").read() for p in log_path)
    secrets = [OWNER_A[1], "wrong-password-xyz", client["token"], inst["token"], inst["shareToken"],
               phone]
    for s in secrets:
        assert s not in text, f"a secret reached the log: {s[:4]}..."
    access = []
    for line in text.splitlines():
        obj = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "msg"} <= obj.keys()
        if obj["msg"] == "request":
            access.append(obj)
            assert {"request_id", "method", "route", "status", "duration_ms", "merchant_id",
                    "bytes"} <= obj.keys()
            assert not re.search(r"/\d+/", obj["route"]), obj["route"]
    assert any(a["request_id"] == "trace-me" and a["route"] == "/ext/api/v1/clients/{id}/coupons/"
               and a["merchant_id"] is not None for a in access)
    assert any(a["status"] == 401 for a in access)


def test_access_log_file(env, A, tmp_path):
    path = tmp_path / "access.log"
    env.restart("--access-log", str(path))
    try:
        A.get("/clients/")
    finally:
        env.restart()
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    assert any(l["msg"] == "request" and l["route"] == "/ext/api/v1/clients/" for l in lines)


def count_argon2(env):
    return sum(1 for line in read_log_lines(env) if "argon2 verification" in line)


def test_cached_credentials_and_locks_skip_argon2(env):
    env.restart("--log-level", "debug", "--lockout-login-failures", "3")
    try:
        s = Session(OWNER_A)
        for _ in range(20):
            assert s.get(env.url("/clients/")).status_code == 200
        assert count_argon2(env) == 1, "a cached credential ran Argon2 again"
        wrong = Session((OWNER_A[0], "not-the-password"))
        for _ in range(3):
            assert wrong.get(env.url("/clients/")).status_code == 401
        assert count_argon2(env) == 4
        for _ in range(5):
            assert wrong.get(env.url("/clients/")).status_code == 429
        assert count_argon2(env) == 4, "a locked login ran Argon2"
        unknown = Session(("nobody@example.com", "whatever-pass"))
        assert unknown.get(env.url("/clients/")).status_code == 401
        assert count_argon2(env) == 5, "an unknown login must cost the same Argon2 work"
    finally:
        env.restart()


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is installed by scripts/deps.sh test")
def test_docs_page_renders_in_a_browser(env, tmp_path):
    docs = env.base.replace("/ext/api/v1", "") + "/docs/"
    r = Session().get(docs)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "http" not in re.sub(r'https?://127\.0\.0\.1[^"\']*', "", r.text).replace("http-equiv", ""), \
        "the docs page must load nothing from outside"
    profile = tempfile.mkdtemp(dir=tmp_path)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=15000",
             "--window-size=1280,2000"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", docs], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Swagger UI rendered the document: its title and operations are in the DOM.
    assert "kopilka" in dom.stdout
    assert "/ext/api/v1/fiscal/orders/" in dom.stdout
    assert "opblock" in dom.stdout
    shot = tmp_path / "docs.png"
    p = subprocess.run(["chromium", *flags, f"--screenshot={shot}", docs], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000
    out = os.environ.get("KOPILKA_DOCS_SCREENSHOT")
    if out:
        shutil.copy(shot, out)


def test_contract_check_catches_drift():
    """The hook that holds every response to the document fails on a drifted body."""
    url = "http://127.0.0.1:1/ext/api/v1/clients/7/balance/"
    good = b'[{"amount":1.5,"currency":"points"},{"amount":0,"currency":"rubles"}]'
    headers = {"Content-Type": "application/json;charset=UTF-8"}
    openapi_check.check("GET", url, 200, headers, good)
    for bad in (b'[{"amount":1.5,"currency":"points"}]',
                b'[{"amount":"1.5","currency":"points"},{"amount":0,"currency":"rubles"}]',
                b'[{"amount":1,"currency":"points","extra":1},{"amount":0,"currency":"rubles"}]'):
        with pytest.raises(openapi_check.ContractError):
            openapi_check.check("GET", url, 200, headers, bad)
    with pytest.raises(openapi_check.ContractError):
        openapi_check.check("GET", url, 418, headers, good)


def test_expired_credential_is_verified_once_by_concurrent_requests(env):
    # Single-flight (src/api/auth.c): when a cached credential expires, the requests in flight
    # with it wait for the first one's Argon2 verification instead of each running their own
    # (64 MiB apiece). Before it, 12 concurrent requests ran one verification per server thread.
    # Merchant B's owner: the test above leaves A's login locked.
    env.restart("--log-level", "debug", "--auth-cache-seconds", "2", "--threads", "8")
    try:
        with Session(OWNER_B) as s:
            assert s.get(env.url("/loyalty/settings/")).status_code == 200
        before = count_argon2(env)
        assert before == 1
        n = 12
        sessions = [Session(OWNER_B) for _ in range(n)]
        for s in sessions:  # open every connection first (healthz needs no auth)
            assert s.get(env.base.replace("/ext/api/v1", "") + "/healthz").status_code == 200
        time.sleep(2.3)  # the cached credential has expired now
        barrier = threading.Barrier(n)

        def one(s):
            barrier.wait()
            return s.get(env.url("/loyalty/settings/")).status_code

        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            codes = list(pool.map(one, sessions))
        assert codes == [200] * n
        assert count_argon2(env) - before == 1, "concurrent requests at expiry each ran Argon2"
        for s in sessions:
            s.close()
    finally:
        env.restart()
