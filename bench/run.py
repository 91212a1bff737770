#!/usr/bin/python3
"""The kopilka benchmark driver: `make bench` (full) and `make bench-quick`.

One invocation builds an optimized kopilkad and the reference programs, generates the data,
runs every workload against kopilkad and against the references, and prints one table
(median of --runs runs per figure) plus the targets of issue 5 as ratios. See
docs/PERFORMANCE.md for what each workload does and how to read the results.

Everything runs on 127.0.0.1, on free ports picked here; every process this script starts is
stopped by its PID; every run is bounded in time (wrk -d, pgbench -T, ref-sqlite --seconds).
Only the Python standard library is used.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.client import HTTPConnection, HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BUILD = os.path.join(ROOT, "build-bench")
LUA = os.path.join(BENCH, "kopilka.lua")
EMAIL, PASSWORD = "owner@bench.local", "bench-password"
AUTH = "Basic " + base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
SERVE_FLAGS = ["--threads", "8", "--lockout-addr-failures", "1000000"]
SETTINGS = {"active": True, "currency": "points",
            "newCustomerSettings": {"type": "percentage", "amount": 5, "validDays": 365},
            "customerSettings": {"type": "percentage", "amount": 5, "validDays": 365}}

started = []  # Popen objects we own, stopped by PID at exit
rss_sampler = None  # samples kopilkad's VmRSS during the wrk runs
pg_dir = None


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(p, timeout=15):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in started:
        started.remove(p)


def cleanup():
    global pg_dir
    for p in list(started):
        stop(p)
    if pg_dir and os.path.isdir(pg_dir):
        subprocess.run([os.path.join(ROOT, "scripts/pg-test-cluster.sh"), "stop", pg_dir])
        pg_dir = None


# ---- setup ----

def ensure_tools(pg):
    need = [("wrk", "wrk"), ("cmake", "cmake"), ("gcc", "gcc")]
    if pg:  # the private cluster, psql for the load, pgbench (Debian: postgresql-15)
        need += [("psql", "postgresql-client"), ("pgbench", "postgresql"),
                 ("/usr/lib/postgresql/15/bin/pg_ctl", "postgresql")]
    missing = sorted({pkg for tool, pkg in need
                      if not (os.access(tool, os.X_OK) if tool.startswith("/")
                              else shutil.which(tool))})
    if missing:
        cmd = ["apt-get", "install", "-y"] + missing
        if os.geteuid() != 0:
            cmd = ["sudo"] + cmd
        sh(cmd)


def build():
    os.makedirs(BUILD, exist_ok=True)
    # Release (-O3, asserts kept as in every build) plus -g for the profiler's symbols.
    sh(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release",
        "-DCMAKE_C_FLAGS_RELEASE=-O3 -g"], stdout=subprocess.DEVNULL)
    sh(["cmake", "--build", BUILD, "-j2", "--target", "kopilkad"], stdout=subprocess.DEVNULL)
    out = os.path.join(BUILD, "bench")
    os.makedirs(out, exist_ok=True)
    cc = ["gcc", "-O2", "-g", "-Wall", "-Wextra"]
    for name, src, libs in [("kopilka-gen", "gen.c", ["-lsqlite3"]),
                            ("ref-http", "ref_http.c", ["-lmicrohttpd"]),
                            ("ref-sqlite", "ref_sqlite.c", ["-lsqlite3"])]:
        sh(cc + ["-o", os.path.join(out, name), os.path.join(BENCH, src)] + libs)
    return os.path.join(BUILD, "kopilkad"), out


def make_sqlite_db(kopilkad, tools, workdir, name, clients, orders):
    db = os.path.join(workdir, f"{name}.db")
    keys = os.path.join(workdir, f"{name}.keys")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    sh([kopilkad, "init", "--db", db, "--email", EMAIL, "--password", PASSWORD,
        "--name", "Bench Coffee"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.time()
    sh([os.path.join(tools, "kopilka-gen"), "--db", db, "--clients", str(clients),
        "--orders", str(orders), "--keys", keys])
    gen_s = time.time() - t
    check(kopilkad, db)
    return db, keys, gen_s


def schema_of(kopilkad, workdir):
    """The schema version kopilkad creates: read off a database it initializes."""
    probe = os.path.join(workdir, "schema-probe.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(probe + suffix):
            os.remove(probe + suffix)
    sh([kopilkad, "init", "--db", probe, "--email", EMAIL, "--password", PASSWORD],
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = sqlite3.connect(probe)
    try:
        return conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(probe + suffix):
                os.remove(probe + suffix)


def downgrade_for(kopilkad, db, workdir, meta):
    """An older kopilkad refuses a database of a newer schema: its copy of the generated
    database is taken back to the version it knows, with the suite's undo of each migration
    (tests/api/schema_undo.py). What the newer migrations added (the dashboard's aggregates,
    the webhooks' outbox) is then work only the new binary does per order, as it would be on
    an upgrade."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
    from schema_undo import downgrade_sqlite
    conn = sqlite3.connect(db)
    try:
        have = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()
    want = schema_of(kopilkad, workdir)
    meta["baseline_schema"] = want
    if want < have:
        log(f"baseline: schema {have} -> {want} on its copy")
        downgrade_sqlite(db, want)


def check(kopilkad, db):
    r = subprocess.run([kopilkad, "check", "--db", db], capture_output=True, text=True,
                       timeout=900)
    lines = (r.stdout + r.stderr).strip().splitlines()
    log(f"kopilkad check --db {os.path.basename(db)}: " + (lines[-1] if lines else "?"))
    if r.returncode != 0:
        for ln in lines[:10]:
            log("  " + ln)
        raise SystemExit("the ledger check failed")
    return lines[-1]


def http(method, url, body=None, auth=True, timeout=10):
    req = urllib.request.Request(url, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if auth:
        req.add_header("Authorization", AUTH)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def start_server(kopilkad, db, workdir, extra=()):
    port = free_port()
    errlog = open(os.path.join(workdir, f"kopilkad-{port}.log"), "w")
    cmd = [kopilkad, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
           "--access-log", "/dev/null"] + SERVE_FLAGS + list(extra)
    log("$ " + " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errlog)
    started.append(p)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if p.poll() is not None:
            raise SystemExit(f"kopilkad exited ({p.returncode}); see {errlog.name}")
        try:
            http("GET", base + "/healthz", auth=False, timeout=2)
            break
        except Exception:
            time.sleep(0.1)
    else:
        raise SystemExit("kopilkad did not answer /healthz within 30 s")
    http("PUT", base + "/ext/api/v1/loyalty/settings/", SETTINGS)
    return p, base


class RssSampler:
    """Max VmRSS of a process, sampled every 0.25 s while it runs."""

    def __init__(self, pid):
        self.pid, self.max_kib, self.on = pid, 0, True
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while self.on:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for ln in f:
                        if ln.startswith("VmRSS:"):
                            self.max_kib = max(self.max_kib, int(ln.split()[1]))
            except OSError:
                return
            time.sleep(0.25)

    def close(self):
        self.on = False
        self.t.join()


class RssSeries:
    """VmRSS of a process every `interval` s, kept as (seconds since start, KiB): the soak."""

    def __init__(self, pid, interval=1.0):
        self.pid, self.interval, self.samples, self.on = pid, interval, [], True
        self.t0 = time.time()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while self.on:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for ln in f:
                        if ln.startswith("VmRSS:"):
                            self.samples.append((time.time() - self.t0, int(ln.split()[1])))
            except OSError:
                return
            time.sleep(self.interval)

    def close(self):
        self.on = False
        self.t.join()


def run_soak(kopilkad, db, keys, workdir, seconds, conns=16):
    """The mix workload for `seconds` in one wrk run, VmRSS sampled every second. Growth is
    judged after the first minute (page caches, pools and the credential cache fill there):
    a leak shows as RSS still climbing from minute 1 to the end."""
    p, base = start_server(kopilkad, db, workdir)
    idle_kib = 0
    with open(f"/proc/{p.pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                idle_kib = int(ln.split()[1])
    series = RssSeries(p.pid)
    log(f"soak: mix at {conns} connections for {seconds} s")
    res = wrk(base, "mix", conns, seconds, keys, f"soak{int(time.time())}")
    series.close()
    m = re.search(rb"^process_resident_memory_bytes (\d+)",
                  http("GET", base + "/metrics", auth=False), re.M)
    stop(p)
    s = series.samples
    if not s:
        raise SystemExit("soak: no VmRSS samples")

    def at(t):  # the sample nearest to t seconds
        return min(s, key=lambda x: abs(x[0] - t))[1]

    # One Argon2id (64 MiB, freed right after) runs whenever the cached credential expires,
    # every --auth-cache-seconds (60): a spike, not growth. So growth compares the medians of
    # the minute after the first one and of the last minute; the spikes show in the max.
    settle = min(60, seconds / 5)
    span = min(60, seconds / 5)

    def median_in(t0, t1):
        ks = [k for t, k in s if t0 <= t < t1] or [at((t0 + t1) / 2)]
        return statistics.median(ks)

    end_t = s[-1][0]
    minutes = [i for i in range(int(end_t // 60) + 1) if any(i * 60 <= t < (i + 1) * 60 for t, _ in s)]
    soak = {"seconds": seconds, "conns": conns, "workload": "mix", "idle_kib": idle_kib,
            "start_kib": s[0][1], "settle_s": settle,
            "settled_kib": median_in(settle, settle + span),
            "end_kib": median_in(end_t - span, end_t + 1), "last_kib": s[-1][1],
            "max_kib": max(k for _, k in s),
            "rss_metric_mib": int(m.group(1)) / 2**20 if m else 0,
            "rps": res["rps"], "p50_us": res["p50_us"], "p99_us": res["p99_us"],
            "errors": res["errors"],
            "per_minute_median_kib": [median_in(i * 60, (i + 1) * 60) for i in minutes],
            "per_minute_max_kib": [max(k for t, k in s if i * 60 <= t < (i + 1) * 60)
                                   for i in minutes],
            "samples": s}
    soak["growth_kib"] = soak["end_kib"] - soak["start_kib"]
    soak["growth_after_settle_kib"] = soak["end_kib"] - soak["settled_kib"]
    log(f"soak: VmRSS start {soak['start_kib'] / 1024:.1f} MiB, median {settle:.0f}-"
        f"{settle + span:.0f} s {soak['settled_kib'] / 1024:.1f}, median of the last {span:.0f} s "
        f"{soak['end_kib'] / 1024:.1f}, max {soak['max_kib'] / 1024:.1f} MiB; "
        f"{res['rps']:,.0f} req/s, errors {res['errors']}")
    return soak


def soak_lines(soak, clients):
    mib = lambda k: k / 1024  # noqa: E731
    st, sp = soak["settle_s"], min(60, soak["seconds"] / 5)
    return [
        f"Soak: mix at {soak['conns']} connections for {soak['seconds']} s, {clients:,} clients "
        f"({soak['rps']:,.0f} req/s, p50 {fmt_ms(soak['p50_us'])} ms, p99 "
        f"{fmt_ms(soak['p99_us'])} ms, errors {soak['errors']}). VmRSS: idle "
        f"{mib(soak['idle_kib']):.1f} MiB, first sample {mib(soak['start_kib']):.1f}, median "
        f"{st:.0f}-{st + sp:.0f} s {mib(soak['settled_kib']):.1f}, median of the last {sp:.0f} s "
        f"{mib(soak['end_kib']):.1f}, max {mib(soak['max_kib']):.1f} MiB; growth after "
        f"{st:.0f} s {mib(soak['growth_after_settle_kib']):+.1f} MiB. Per minute, median / max: "
        + ", ".join(f"{mib(a):.1f} / {mib(b):.1f}" for a, b in
                    zip(soak["per_minute_median_kib"], soak["per_minute_max_kib"])) + " MiB"]


# ---- the cabinet's CSV export ----

def run_export(base, what="clients"):
    """GET /exports/<what>.csv of the whole bench database, read 1 MiB at a time (as a browser
    saves it): its time, size and rows, and the server's resident memory before and after, so a
    regression that buffers the file shows as a jump of the size of the file."""
    def rss():
        m = re.search(rb"^process_resident_memory_bytes (\d+)",
                      http("GET", base + "/metrics", auth=False), re.M)
        return int(m.group(1)) if m else 0
    before = rss()
    req = urllib.request.Request(f"{base}/ext/api/v1/exports/{what}.csv")
    req.add_header("Authorization", AUTH)
    t0 = time.monotonic()
    size = lines = 0
    with urllib.request.urlopen(req, timeout=1800) as r:
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            lines += chunk.count(b"\n")
    res = {"what": what, "seconds": time.monotonic() - t0, "bytes": size, "rows": lines - 1,
           "rss_before": before, "rss_after": rss()}
    log(f"export of {what}: {res['rows']:,} rows, {size / 2**20:.0f} MiB in {res['seconds']:.1f} s; "
        f"server RSS {before / 2**20:.0f} -> {res['rss_after'] / 2**20:.0f} MiB")
    return res


def export_lines(ex):
    return [f"CSV export ({ex['what']}): {ex['rows']:,} rows, {ex['bytes'] / 2**20:.0f} MiB streamed "
            f"in {ex['seconds']:.1f} s ({ex['rows'] / max(ex['seconds'], 1e-9):,.0f} rows/s); "
            f"the server's resident memory {ex['rss_before'] / 2**20:.0f} MiB before, "
            f"{ex['rss_after'] / 2**20:.0f} MiB after"]


# ---- backup under load ----

class OrderStream:
    """Orders posted from `conns` threads over keep-alive connections, each request's start and
    end kept (monotonic seconds), so that latencies can be attributed to a time window."""

    def __init__(self, base, keys, conns=8):
        self.port = int(base.rsplit(":", 1)[1])
        self.phones = []
        with open(keys) as f:
            for ln in f:
                self.phones.append(ln.split()[1])
                if len(self.phones) >= 5000:
                    break
        self.samples, self.errors, self.on = [], 0, True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=(i,), daemon=True)
                        for i in range(conns)]
        for t in self.threads:
            t.start()

    def loop(self, tid):
        conn = HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": AUTH, "Content-Type": "application/json"}
        n, mine = 0, []
        tag = f"bk{int(time.time())}-{tid}"
        while self.on:
            n += 1
            body = json.dumps({"order": {
                "externalId": f"{tag}-{n}", "receiptType": "sale", "amountCard": 249,
                "customerPhone": self.phones[(tid * 7919 + n) % len(self.phones)],
                "items": [{"name": "Latte", "price": 250, "quantity": 1}]},
                "amount": 1, "currency": "points"})
            t0 = time.monotonic()
            try:
                conn.request("POST", "/ext/api/v1/fiscal/orders/", body, headers)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, HTTPException):
                ok = False
                conn.close()
                conn = HTTPConnection("127.0.0.1", self.port, timeout=30)
            t1 = time.monotonic()
            if ok:
                mine.append((t0, t1))
            else:
                with self.lock:
                    self.errors += 1
        conn.close()
        with self.lock:
            self.samples += mine

    def close(self):
        self.on = False
        for t in self.threads:
            t.join(timeout=60)
        return sorted(self.samples)


def pctl(xs, q):
    """The q-quantile of the sorted xs (nan when empty)."""
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def window_stats(samples, t0, t1):
    """Orders that started in [t0, t1): count, rate, p50/p99/max latency (us), and the longest
    time no order was acknowledged at all (us)."""
    lat = sorted((e - s) * 1e6 for s, e in samples if t0 <= s < t1)
    ends = sorted(e for s, e in samples if t0 <= e < t1)
    gaps = [b - a for a, b in zip([t0] + ends, ends + [t1])]
    return {"orders": len(lat), "rps": len(lat) / (t1 - t0) if t1 > t0 else 0,
            "p50_us": pctl(lat, 0.50), "p99_us": pctl(lat, 0.99), "max_us": lat[-1] if lat else float("nan"),
            "longest_gap_us": max(gaps) * 1e6 if gaps else float("nan")}


def run_backup(kopilkad, db, keys, workdir, before_s=5):
    """`kopilkad backup` of the database while orders stream in: orders alone for before_s
    seconds, then the backup (the orders go on), then 1 s more. Reports the backup's duration
    and size, and the orders' latency and longest pause without an acknowledged order before
    and during the backup: the writer stall the copy caused."""
    p, base = start_server(kopilkad, db, workdir)
    out = os.path.join(workdir, "backup-under-load.db")
    if os.path.exists(out):
        os.remove(out)
    stream = OrderStream(base, keys)
    time.sleep(1)  # connections warm
    t0 = time.monotonic()
    time.sleep(before_s)
    b0 = time.monotonic()
    r = subprocess.run([kopilkad, "backup", "--db", db, "--out", out], capture_output=True,
                       text=True, timeout=1800)
    b1 = time.monotonic()
    time.sleep(1)
    samples = stream.close()
    if not samples:
        raise SystemExit("backup under load: no order was acknowledged")
    wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
    stop(p)
    if r.returncode != 0:
        raise SystemExit(f"kopilkad backup failed: {r.stderr}")
    res = {"seconds": b1 - b0, "bytes": os.path.getsize(out), "db_bytes": os.path.getsize(db),
           "wal_after_bytes": wal, "errors": stream.errors,
           "before": window_stats(samples, t0, b0), "during": window_stats(samples, b0, b1)}
    res["check"] = check(kopilkad, out)
    os.remove(out)
    log(f"backup under load: {res['bytes'] / 2**20:.0f} MiB in {res['seconds']:.1f} s; orders "
        f"before / during: {res['before']['rps']:.0f} / {res['during']['rps']:.0f} per s, p99 "
        f"{fmt_ms(res['before']['p99_us'])} / {fmt_ms(res['during']['p99_us'])} ms, max "
        f"{fmt_ms(res['before']['max_us'])} / {fmt_ms(res['during']['max_us'])} ms, longest "
        f"pause {fmt_ms(res['before']['longest_gap_us'])} / "
        f"{fmt_ms(res['during']['longest_gap_us'])} ms; errors {res['errors']}")
    return res


def backup_lines(bk, clients):
    b, d = bk["before"], bk["during"]
    return [
        f"Backup under load ({clients:,} clients): `kopilkad backup` of a "
        f"{bk['db_bytes'] / 2**20:.0f} MiB database took {bk['seconds']:.1f} s "
        f"({bk['bytes'] / 2**20:.0f} MiB written, {bk['bytes'] / 2**20 / bk['seconds']:.0f} MiB/s) "
        f"while orders streamed from 8 connections; the copy passed `kopilkad check`. Orders "
        f"before / during the backup: {b['rps']:.0f} / {d['rps']:.0f} per s, p50 "
        f"{fmt_ms(b['p50_us'])} / {fmt_ms(d['p50_us'])} ms, p99 {fmt_ms(b['p99_us'])} / "
        f"{fmt_ms(d['p99_us'])} ms, longest order {fmt_ms(b['max_us'])} / {fmt_ms(d['max_us'])} "
        f"ms; longest time without an acknowledged order {fmt_ms(b['longest_gap_us'])} / "
        f"{fmt_ms(d['longest_gap_us'])} ms; errors {bk['errors']}."]


# ---- webhooks ----

class HookReceiver:
    """A webhook endpoint on 127.0.0.1: http.server on threads of this process, answering 200 to
    every POST and keeping each delivery as (arrival, epoch ms; event id; type; createdAt; the
    order's externalOrderNumber, i.e. its externalId, or None)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                t = time.time() * 1000
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    ev = json.loads(body)
                    data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
                    rec = (t, ev.get("id"), ev.get("type"), ev.get("createdAt"),
                           data.get("externalOrderNumber"))
                except ValueError:
                    rec = (t, None, "unparsable", None, None)
                with receiver.lock:
                    receiver.got.append(rec)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def take(self):
        with self.lock:
            got, self.got = self.got, []
        return got

    def wait(self, done, since_ms, quiet_s=2.0, idle_cap_s=30.0, cap_s=300.0):
        """Until done(deliveries) and nothing arrived for quiet_s (true), or nothing arrived for
        idle_cap_s since since_ms or the last arrival, or cap_s in all (false)."""
        deadline = time.monotonic() + cap_s
        while time.monotonic() < deadline:
            with self.lock:
                ok = done(self.got)
                last = max([since_ms] + [r[0] for r in self.got[-1:]])
            idle = time.time() * 1000 - last
            if ok and idle >= quiet_s * 1000:
                return True
            if idle >= idle_cap_s * 1000:
                return False
            time.sleep(0.1)
        return False

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def count_orders(db, tag):
    """The orders of a wrk run in the database: kopilka.lua's externalIds are b-<tag>-<thread>-<n>."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM orders WHERE merchant_id IN (SELECT id FROM "
                           "merchants) AND external_id >= ? AND external_id < ?",
                           (f"b-{tag}-", f"b-{tag}.")).fetchone()[0]
    finally:
        con.close()


def run_webhooks(kopilkad, db, keys, workdir, runs, seconds, conns=16):
    """The orders workload with webhooks off and on, in turns on one kopilkad: off = no endpoint;
    on = an active endpoint subscribed to every event type (the OpenAPI document's `webhooks`),
    POSTing to a HookReceiver, created before the run and deleted after the deliveries drained.
    Reports orders/s and latency both ways, and the deliveries: their rate, lag (arrival minus
    the event's createdAt), the drain after the load, and whether every order.created arrived."""
    with open(os.path.join(ROOT, "api", "openapi.json")) as f:
        types = list(json.load(f)["webhooks"])
    recv = HookReceiver()
    p, base = start_server(kopilkad, db, workdir, ["--webhook-allow-private", "1"])
    res = {"conns": conns, "runs": runs, "seconds": seconds, "types": types, "off": [], "on": [],
           "deliveries": []}
    lags = []
    try:
        for i in range(runs):
            off = wrk(base, "orders", conns, seconds, keys, f"{int(time.time())}whoff{i}")
            res["off"].append(off)
            ep = json.loads(http("POST", base + "/ext/api/v1/webhooks/",
                                 {"url": recv.url, "events": types}))
            recv.take()
            tag = f"{int(time.time())}whon{i}"
            t0 = time.time() * 1000
            on = wrk(base, "orders", conns, seconds, keys, tag)
            t1 = time.time() * 1000
            res["on"].append(on)
            time.sleep(0.5)  # the orders in flight when wrk stopped commit (counted again below)
            orders = count_orders(db, tag)
            prefix = f"b-{tag}-"

            def created(got):
                return {r[1] for r in got if r[2] == "order.created" and (r[4] or "").startswith(prefix)}

            drained = recv.wait(lambda got: len(created(got)) >= orders, t1)
            http("DELETE", base + f"/ext/api/v1/webhooks/{ep['id']}/")
            got = recv.take()
            orders = count_orders(db, tag)
            by_type = {}
            for r in got:
                by_type[r[2]] = by_type.get(r[2], 0) + 1
            lag = sorted(r[0] - r[3] for r in got if isinstance(r[3], (int, float)))
            lags += lag
            last = max((r[0] for r in got), default=t1)
            d = {"deliveries": len(got), "distinct": len({r[1] for r in got}), "by_type": by_type,
                 "during_load_per_s": sum(1 for r in got if r[0] <= t1) / ((t1 - t0) / 1000),
                 "to_last_per_s": len(got) / (max(last - t0, 1) / 1000),
                 "drain_s": (last - t1) / 1000, "drained": drained,
                 "orders_in_db": orders, "orders_acked": on["requests"] - on["non2xx"],
                 "order_created_events": len(created(got)),
                 "lag_p50_ms": pctl(lag, 0.50), "lag_p99_ms": pctl(lag, 0.99),
                 "lag_max_ms": lag[-1] if lag else float("nan")}
            res["deliveries"].append(d)
            log(f"webhooks run {i + 1}: orders off {off['rps']:.0f}/s p99 "
                f"{fmt_ms(off['p99_us'])} ms, on {on['rps']:.0f}/s p99 {fmt_ms(on['p99_us'])} ms; "
                f"{d['deliveries']} deliveries ({d['during_load_per_s']:.0f}/s during the load), "
                f"lag p50 {d['lag_p50_ms']:.0f} / p99 {d['lag_p99_ms']:.0f} / max "
                f"{d['lag_max_ms']:.0f} ms, drained {d['drain_s']:.1f} s after the load; "
                f"order.created {d['order_created_events']} for {orders} orders")
    finally:
        stop(p)
        recv.close()
    for way in ("off", "on"):
        rs = res[way]
        res[way + "_median"] = {k: med([r[k] for r in rs]) for k in ("rps", "p50_us", "p99_us")}
        res[way + "_median"]["errors"] = sum(r["errors"] for r in rs)
    lags.sort()
    res["lag_ms"] = {"p50": pctl(lags, 0.50), "p99": pctl(lags, 0.99),
                     "max": lags[-1] if lags else float("nan"), "n": len(lags)}
    return res


def webhook_lines(wh, clients):
    off, on, ds = wh["off_median"], wh["on_median"], wh["deliveries"]
    n = len(wh["types"])
    types = {}
    for d in ds:
        for t, k in d["by_type"].items():
            types[t] = types.get(t, 0) + k
    ev, orders = sum(d["order_created_events"] for d in ds), sum(d["orders_in_db"] for d in ds)
    acked = sum(d["orders_acked"] for d in ds)
    missing = [i + 1 for i, d in enumerate(ds) if d["order_created_events"] < d["orders_in_db"]]
    return [
        f"Webhooks ({clients:,} clients; orders at {wh['conns']} connections, medians of "
        f"{wh['runs']} runs of {wh['seconds']} s, off and on in turns on one kopilkad on SQLite "
        f"with --webhook-allow-private 1): without / with an active endpoint subscribed to all "
        f"{n} event types (a receiver on 127.0.0.1 answering 200): {off['rps']:,.0f} / "
        f"{on['rps']:,.0f} orders/s (on/off {on['rps'] / off['rps']:.2f}×), p50 "
        f"{fmt_ms(off['p50_us'])} / {fmt_ms(on['p50_us'])} ms, p99 {fmt_ms(off['p99_us'])} / "
        f"{fmt_ms(on['p99_us'])} ms; errors {off['errors']} / {on['errors']}.",
        "",
        f"Webhook deliveries under that load (the worker's defaults): "
        f"{med([d['during_load_per_s'] for d in ds]):,.0f} per s received during the load, "
        f"{med([d['to_last_per_s'] for d in ds]):,.0f} per s from the load's start to the last "
        f"arrival; lag from the event's createdAt to its arrival p50 {wh['lag_ms']['p50']:,.0f} / "
        f"p99 {wh['lag_ms']['p99']:,.0f} / max {wh['lag_ms']['max']:,.0f} ms "
        f"({wh['lag_ms']['n']:,} deliveries); the last one arrived "
        f"{med([d['drain_s'] for d in ds]):.1f} s after the load stopped (median; longest "
        f"{max(d['drain_s'] for d in ds):.1f} s). order.created: {ev:,} distinct events for "
        f"{orders:,} orders in the database (wrk acknowledged {acked:,}), "
        + ("every one arrived" if not missing else
           f"**missing in run(s) {', '.join(map(str, missing))}**")
        + "".join(f" (run {i + 1}: the wait gave up, 30 s without an arrival or 300 s in all)"
                  for i, d in enumerate(ds) if not d["drained"])
        + "; by type: " + ", ".join(f"{t} {k:,}" for t, k in sorted(types.items())) + "."]


# ---- runs ----

def wrk(base, mode, conns, seconds, keys, tag):
    env = dict(os.environ, KB_MODE=mode, KB_AUTH=AUTH, KB_KEYS=keys or "", KB_TAG=tag)
    threads = 1 if conns == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s",
           "-s", LUA, base + "/"]
    if rss_sampler:
        rss_sampler.max_kib = 0
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    rss_kib = rss_sampler.max_kib if rss_sampler else 0
    m = re.search(r"^KBRESULT (\{.*\})$", r.stdout, re.M)
    if not m:
        raise SystemExit(f"wrk gave no result for {mode}: {r.stdout}\n{r.stderr}")
    res = json.loads(m.group(1))
    if rss_kib:
        res["rss_kib"] = rss_kib
    res["errors"] = (res["non2xx"] + res["connect"] + res["read"] + res["write"] +
                     res["timeout"])
    return res


def med(xs):
    return statistics.median(xs) if xs else float("nan")


class Results:
    def __init__(self):
        self.rows = {}  # (system, workload, conns) -> list of runs

    def add(self, system, workload, conns, res):
        self.rows.setdefault((system, workload, conns), []).append(res)

    def get(self, system, workload, conns, field="rps"):
        runs = self.rows.get((system, workload, conns), [])
        return med([r[field] for r in runs if field in r]) if runs else None


def warm_up(label, base, keys, workloads, conns=16, seconds=1):
    """Before a server's first measured run: the files written just before (the generated
    database, its copies) flushed, so the first run does not measure the kernel's writeback of
    them, then each workload run once, not counted (the credential's one Argon2 verification,
    the page caches, the WAL file grown to its working size). Measured without it, the first
    3-s orders run at 16 connections had p99 33-100 ms and the next ones 11-15 ms."""
    os.sync()
    for wl in workloads:
        res = wrk(base, wl, conns, seconds, keys, f"{int(time.time())}warm{label}")
        log(f"{label:10s} {wl:9s} c={conns:<3d} warm-up, not counted: {res['rps']:9.1f} req/s"
            f"  p99 {res['p99_us'] / 1000:8.2f} ms")
    os.sync()


def run_matrix(results, label, base, keys, workloads, conns_list, runs, seconds, counter,
               first_run=0):
    """Round-robin over the runs so that a slow spell of the machine hits every figure."""
    for i in range(first_run, first_run + runs):
        for wl in workloads:
            for c in conns_list:
                counter[0] += 1
                res = wrk(base, wl, c, seconds, keys, f"{int(time.time())}x{counter[0]}")
                results.add(label, wl, c, res)
                log(f"{label:10s} {wl:9s} c={c:<3d} run {i + 1}: {res['rps']:9.1f} req/s"
                    f"  p50 {res['p50_us'] / 1000:7.2f} ms  p99 {res['p99_us'] / 1000:8.2f} ms"
                    f"  errors {res['errors']}")


def ref_sqlite(results, tools, db, keys, runs, seconds):
    for i in range(runs):
        for batch in (1, 16):
            r = subprocess.run([os.path.join(tools, "ref-sqlite"), "--db", db, "--keys", keys,
                                "--seconds", str(seconds), "--batch", str(batch),
                                "--tag", f"{int(time.time())}-{i}-{batch}"],
                               capture_output=True, text=True, timeout=seconds + 120)
            if r.returncode != 0:
                raise SystemExit("ref-sqlite failed: " + r.stderr)
            res = json.loads(r.stdout)
            results.add("raw-sqlite", f"batch{batch}", 1, {"rps": res["ops"]})
            log(f"raw-sqlite batch {batch:2d} run {i + 1}: {res['ops']:.1f} orders/s")


# ---- PostgreSQL ----

def wrk_nodes(bases, mode, conns, seconds, keys, tag):
    """wrk against several nodes at once, the connections split between them: the sum of
    their req/s, the worst of their latencies."""
    outs = [None] * len(bases)

    def one(i):
        outs[i] = wrk(bases[i], mode, conns // len(bases), seconds, keys, f"{tag}n{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = {"rps": sum(o["rps"] for o in outs), "errors": sum(o["errors"] for o in outs)}
    for k in ("p50_us", "p99_us"):
        res[k] = max(o[k] for o in outs)
    return res


def run_pg_nodes(results, label, kopilkad, uri, workdir, keys, nodes, runs, seconds, conns,
                 counter):
    """Orders at conns connections through each count of nodes on the one database."""
    for n in nodes:
        procs = [start_server(kopilkad, uri, workdir) for _ in range(n)]
        name = label if n == 1 else f"{label}-{n}nodes"
        try:
            for i in range(runs):
                counter[0] += 1
                res = wrk_nodes([b for _, b in procs], "orders", conns, seconds, keys,
                                f"{int(time.time())}x{counter[0]}")
                results.add(name, "orders", conns, res)
                log(f"{name:18s} orders c={conns} run {i + 1}: {res['rps']:9.1f} req/s"
                    f"  p50 {res['p50_us'] / 1000:7.2f} ms  p99 {res['p99_us'] / 1000:8.2f} ms"
                    f"  errors {res['errors']}")
        finally:
            for p, _ in procs:
                stop(p)


def run_pg(results, kopilkad, tools, workdir, clients, orders, runs, seconds, conns,
           nodes=(1,), old=None, orders_only=False):
    """The PostgreSQL part. nodes: the node counts the orders run through (beside 1); old: a
    kopilkad binary of an earlier schema measured first on the same data (it creates the
    database; the binary under test then migrates it)."""
    global pg_dir
    pg_dir = "/tmp/kopilka-bench-pg"
    if os.path.isdir(pg_dir):
        subprocess.run([os.path.join(ROOT, "scripts/pg-test-cluster.sh"), "stop", pg_dir])
    uri = subprocess.run([os.path.join(ROOT, "scripts/pg-test-cluster.sh"), "start", pg_dir],
                         check=True, capture_output=True, text=True,
                         timeout=120).stdout.strip()
    log(f"PostgreSQL cluster at {uri}")
    m = re.match(r"postgresql://(\w+)@([\d.]+):(\d+)/(\w+)", uri)
    user, host, port = m.group(1), m.group(2), m.group(3)
    sh([old or kopilkad, "init", "--db", uri, "--email", EMAIL, "--password", PASSWORD],
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    keys = os.path.join(workdir, "pg.keys")
    t = time.time()
    gen = subprocess.Popen([os.path.join(tools, "kopilka-gen"), "--pg", "--clients", str(clients),
                            "--orders", str(orders), "--keys", keys], stdout=subprocess.PIPE)
    sh(["psql", "-q", "-X", "-d", uri, "-f", "-"], stdin=gen.stdout, stdout=subprocess.DEVNULL,
       timeout=1800)
    gen.stdout.close()
    gen.wait()
    if gen.returncode != 0:
        raise SystemExit("kopilka-gen --pg failed")
    log(f"PostgreSQL load: {clients} clients, {orders} orders in {time.time() - t:.1f} s")
    counter = [0]
    if old:
        check(old, uri)
        run_pg_nodes(results, "kopilkad-pg-old", old, uri, workdir, keys, nodes, runs, seconds,
                     conns, counter)
        check(old, uri)
    check(kopilkad, uri)
    p, base = start_server(kopilkad, uri, workdir)
    try:
        run_matrix(results, "kopilkad-pg", base, keys,
                   ["orders"] if orders_only else ["prefix", "balance", "orders"], [conns],
                   runs, seconds, counter)
    finally:
        stop(p)
    run_pg_nodes(results, "kopilkad-pg", kopilkad, uri, workdir, keys,
                 [n for n in nodes if n != 1], runs, seconds, conns, counter)
    check(kopilkad, uri)
    sh(["createdb", "-h", host, "-p", port, "-U", user, "pgbench"])
    pgb_uri = f"postgresql://{user}@{host}:{port}/pgbench"
    sh(["pgbench", "-i", "-q", "-s", "10", pgb_uri], stdout=subprocess.DEVNULL,
       stderr=subprocess.DEVNULL, timeout=600)
    for i in range(runs):
        r = subprocess.run(["pgbench", "-n", "-c", str(conns), "-j", "2", "-T", str(seconds),
                            pgb_uri], capture_output=True, text=True, timeout=seconds + 120)
        tps = float(re.search(r"tps = ([\d.]+)", r.stdout).group(1))
        lat = float(re.search(r"latency average = ([\d.]+) ms", r.stdout).group(1))
        results.add("pgbench", "tpcb", conns, {"rps": tps, "p50_us": lat * 1000})
        log(f"pgbench TPC-B-like c={conns} run {i + 1}: {tps:.1f} tps, avg {lat:.2f} ms")
    cleanup_pg()


def cleanup_pg():
    global pg_dir
    if pg_dir:
        subprocess.run([os.path.join(ROOT, "scripts/pg-test-cluster.sh"), "stop", pg_dir])
        pg_dir = None


# ---- report ----

def pg_report(results, meta, pg_clients, out_md):
    """The table of --pg-only: orders/s at 16 connections beside pgbench's tps of the run."""
    pgb = results.get("pgbench", "tpcb", 16)
    L = [f"kopilka PostgreSQL orders — {meta['when']} — {meta['machine']}",
         f"{pg_clients:,} clients; medians of {meta['runs']} runs of {meta['seconds']} s; "
         f"kopilkad {' '.join(SERVE_FLAGS)}", "",
         "| system | workload | conns | req/s | p50 ms | p99 ms | errors | vs pgbench tps |",
         "|---|---|---:|---:|---:|---:|---:|---|"]
    for (system, wl, c), runs in sorted(results.rows.items()):
        rps = results.get(system, wl, c)
        ref = f"{100 * rps / pgb:.1f}%" if pgb and system != "pgbench" else ""
        L.append(f"| {system} | {wl} | {c} | {rps:,.0f} | "
                 f"{fmt_ms(results.get(system, wl, c, 'p50_us'))} | "
                 f"{fmt_ms(results.get(system, wl, c, 'p99_us'))} | "
                 f"{sum(r.get('errors', 0) for r in runs)} | {ref} |")
    print("\n".join(L))
    with open(out_md, "w") as f:
        f.write("\n".join(L) + "\n")
    with open(out_md.replace(".md", ".json"), "w") as f:
        json.dump({"meta": meta, "runs": {f"{k[0]}|{k[1]}|{k[2]}": v
                                          for k, v in results.rows.items()}}, f, indent=1)
    log(f"wrote {out_md}")


def fmt_ms(us):
    return "—" if us is None or us != us else f"{us / 1000:.2f}"


def report(results, meta, out_md):
    L = []
    when = meta.get("when") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    L.append(f"kopilka benchmark — {meta['mode']} — {when}")
    L.append(f"machine: {meta['machine']}")
    L.append(f"data: {meta['clients']:,} clients / {meta['orders']:,} orders (SQLite, generated in "
             f"{meta['gen_s']:.1f} s); medians of {meta['runs']} runs of {meta['seconds']} s; "
             f"kopilkad {' '.join(SERVE_FLAGS)}")
    L.append("")
    L.append("| system | workload | conns | req/s | p50 ms | p99 ms | errors | max RSS MiB | vs reference |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    http16 = {c: results.get("ref-http", "fixed", c) for c in (1, 16, 64)}
    raw16 = results.get("raw-sqlite", "batch16", 1)
    raw1 = results.get("raw-sqlite", "batch1", 1)
    pgb = None
    for (system, wl, c), runs in sorted(results.rows.items(),
                                        key=lambda kv: (kv[0][0] != "kopilkad", kv[0][0],
                                                        kv[0][1], kv[0][2])):
        rps = results.get(system, wl, c)
        p50 = results.get(system, wl, c, "p50_us")
        p99 = results.get(system, wl, c, "p99_us")
        errs = sum(r.get("errors", 0) for r in runs)
        rss = max((r.get("rss_kib", 0) for r in runs), default=0)
        rss = f"{rss / 1024:.0f}" if rss and system == "kopilkad" else ""
        ref = ""
        if system in ("kopilkad", "kopilkad-10k") and wl not in ("orders", "mix") and http16.get(c):
            ref = f"{100 * rps / http16[c]:.1f}% of bare HTTP"
        if system in ("kopilkad", "kopilkad-base") and wl == "orders" and raw16:
            ref = f"{100 * rps / raw16:.1f}% of raw SQLite ×16, {100 * rps / raw1:.0f}% of ×1"
        old = results.get("kopilkad-base", wl, c)
        if system == "kopilkad" and old:
            ref = (ref + "; " if ref else "") + f"{rps / old:.2f}× the baseline"
        if system == "kopilkad-pg" and wl == "orders" and results.get("pgbench", "tpcb", c):
            pgb = results.get("pgbench", "tpcb", c)
            ref = f"{100 * rps / pgb:.1f}% of pgbench tps"
        label = {"raw-sqlite": "raw SQLite (ref b)", "ref-http": "bare HTTP (ref a)",
                 "pgbench": "pgbench TPC-B-like"}.get(system, system)
        wl_label = {"batch1": "order, 1 per commit", "batch16": "order, 16 per commit",
                    "fixed": f"fixed {meta.get('body_bytes', '?')} B JSON",
                    "tpcb": "TPC-B-like (avg latency as p50)"}.get(wl, wl)
        L.append(f"| {label} | {wl_label} | {c} | {rps:,.0f} | {fmt_ms(p50)} | {fmt_ms(p99)} | "
                 f"{errs if system not in ('raw-sqlite', 'pgbench') else '—'} | {rss} | {ref} |")
    L.append("")
    L.append("Targets (16 connections):")
    L.append("")
    L.append("| target | measured | goal | |")
    L.append("|---|---|---|---|")

    def tgt(name, value, goal, ok):
        L.append(f"| {name} | {value} | {goal} | {'met' if ok else '**missed**'} |")

    pre = results.get("kopilkad", "prefix", 16)
    if pre and http16.get(16):
        r = pre / http16[16]
        tgt("prefix search req/s vs bare HTTP", f"{100 * r:.1f}%", ">= 25%", r >= 0.25)
        p99 = results.get("kopilkad", "prefix", 16, "p99_us")
        tgt("prefix search p99", f"{p99 / 1000:.2f} ms", "< 2 ms", p99 < 2000)
    inf = results.get("kopilkad", "infix", 16, "p99_us")
    if inf is not None:
        tgt(f"infix %NNNN% p99 at {meta['clients']:,}", f"{inf / 1000:.2f} ms", "< 20 ms",
            inf < 20000)
    dash = results.get("kopilkad", "dashboard", 1, "p99_us")
    if dash is not None:
        tgt(f"dashboard p99 at {meta['clients']:,} clients, 1 connection", f"{dash / 1000:.2f} ms",
            "< 200 ms", dash < 200000)
    od = results.get("kopilkad", "orders", 16)
    if od and raw16:
        r = od / raw16
        tgt("orders/s vs raw SQLite 16 per commit", f"{100 * r:.1f}% ({od:,.0f} vs {raw16:,.0f})",
            ">= 80%", r >= 0.8)
    old = results.get("kopilkad-base", "orders", 16)
    if od and old:
        r = od / old
        tgt("orders/s vs the baseline binary (same invocation)",
            f"{r:.2f}x ({od:,.0f} vs {old:,.0f}; p99 "
            f"{results.get('kopilkad', 'orders', 16, 'p99_us') / 1000:.2f} vs "
            f"{results.get('kopilkad-base', 'orders', 16, 'p99_us') / 1000:.2f} ms)",
            ">= 1.6x", r >= 1.6)
        p99 = results.get("kopilkad", "orders", 16, "p99_us")
        tgt("order p99 at 16 connections", f"{p99 / 1000:.2f} ms", "< 15 ms", p99 < 15000)
    small = results.get("kopilkad-10k", "prefix", 16, "p50_us")
    big = results.get("kopilkad", "prefix", 16, "p50_us")
    if small and big:
        r = big / small
        p99s = results.get("kopilkad-10k", "prefix", 16, "p99_us")
        p99b = results.get("kopilkad", "prefix", 16, "p99_us")
        tgt(f"prefix p50 at {meta['clients']:,} vs 10,000 clients",
            f"{r:.2f}x ({big / 1000:.2f} vs {small / 1000:.2f} ms; p99 {p99b / 1000:.2f} vs "
            f"{p99s / 1000:.2f} ms)", "<= 2x", r <= 2)
    small = results.get("kopilkad-10k", "orders", 16, "p50_us")
    big = results.get("kopilkad", "orders", 16, "p50_us")
    if small and big:
        r = big / small
        tgt(f"order p50 at {meta['clients']:,} clients / {meta['orders']:,} orders vs 10,000 / 20,000",
            f"{r:.2f}x ({big / 1000:.2f} vs {small / 1000:.2f} ms; "
            f"{results.get('kopilkad', 'orders', 16):,.0f} vs "
            f"{results.get('kopilkad-10k', 'orders', 16):,.0f} orders/s)", "<= 2x", r <= 2)
    if meta.get("rss_kib"):
        mib = meta["rss_kib"] / 1024
        tgt(f"resident memory under load, {meta['clients']:,} clients (max VmRSS)",
            f"{mib:.1f} MiB (worst workload: {max(meta['rss_by_workload_kib'], key=meta['rss_by_workload_kib'].get)}; "
            f"/metrics after the runs: {meta.get('rss_metric_mib', 0):.1f} MiB)",
            "< 150 MiB", mib < 150)
    if meta.get("soak"):
        sk = meta["soak"]
        mib = sk["max_kib"] / 1024
        grow = sk["growth_after_settle_kib"] / 1024
        tgt(f"memory soak: mix {sk['seconds']} s, max VmRSS / median growth after "
            f"{sk['settle_s']:.0f} s",
            f"{mib:.1f} MiB / {grow:+.1f} MiB", "< 150 MiB, no growth",
            mib < 150 and grow < 5)
    cached = results.get("kopilkad", "settings", 2)
    uncached = results.get("kopilkad-nocache", "settings", 2)
    if cached and uncached:
        L.append(f"| auth: GET /loyalty/settings/ at 2 conns, cached vs --auth-cache-seconds 0 | "
                 f"{cached:,.0f} vs {uncached:,.1f} req/s ({cached / uncached:,.0f}x) | "
                 f"(reported) | |")
    wh = meta.get("webhooks")
    if wh:
        off, on = wh["off_median"], wh["on_median"]
        L.append(f"| webhooks: orders/s at {wh['conns']} conns with an endpoint on all events vs "
                 f"none | {on['rps']:,.0f} vs {off['rps']:,.0f} ({on['rps'] / off['rps']:.2f}x); "
                 f"delivery lag p99 {wh['lag_ms']['p99']:,.0f} ms | (reported) | |")
    pgo = results.get("kopilkad-pg", "orders", meta.get("pg_conns", 16))
    if pgo and pgb:
        pgr = results.get("kopilkad-pg", "prefix", meta.get("pg_conns", 16))
        L.append(f"| PostgreSQL ({meta.get('pg_clients', 0):,} clients): orders/s vs pgbench tps"
                 f" | {pgo:,.0f} vs {pgb:,.0f} ({100 * pgo / pgb:.1f}%); prefix reads "
                 f"{pgr:,.0f} req/s | (reported) | |")
    L.append("")
    if meta.get("soak"):
        L.append("")
        L += soak_lines(meta["soak"], meta["clients"])
    if meta.get("backup"):
        L.append("")
        L += backup_lines(meta["backup"], meta["clients"])
    if meta.get("webhooks"):
        L.append("")
        L += webhook_lines(meta["webhooks"], meta["clients"])
    if meta.get("export"):
        L.append("")
        L += export_lines(meta["export"])
    L.append("")
    L.append(f"ledger check after the runs: {meta.get('check_after', '?')}")
    text = "\n".join(L)
    print(text)
    with open(out_md, "w") as f:
        f.write(text + "\n")
    with open(out_md.replace(".md", ".json"), "w") as f:
        json.dump({"meta": meta, "runs": {"|".join(map(str, k)): v
                                          for k, v in results.rows.items()}}, f, indent=1)
    log(f"wrote {out_md}")


def save_part(res, lines, path):
    """One part run alone (--soak-only, --backup-only, --webhooks-only): its lines printed, its
    figures saved as JSON."""
    print("\n".join(lines))
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    log(f"wrote {path}")


def main():
    global rss_sampler
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k clients, fewer workloads")
    ap.add_argument("--clients", type=int)
    ap.add_argument("--orders", type=int)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--workdir", default="/tmp/kopilka-bench",
                    help="where the databases go (a few GB for the full run)")
    ap.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL part")
    ap.add_argument("--pg-clients", type=int)
    ap.add_argument("--pg-only", action="store_true",
                    help="only the PostgreSQL orders (and pgbench), a short table; with --quick "
                         "sizes")
    ap.add_argument("--pg-nodes", default="1",
                    help="comma-separated node counts the PostgreSQL orders run through, the "
                         "connections split between the nodes (e.g. 1,2)")
    ap.add_argument("--pg-old", metavar="KOPILKAD",
                    help="an earlier kopilkad binary measured first on the same PostgreSQL "
                         "data (e.g. main's), for a before/after in one invocation")
    ap.add_argument("--workloads", help="comma-separated subset of the SQLite workloads to run "
                    "(e.g. orders,prefix); the references run as always")
    ap.add_argument("--serve-flag", action="append", default=[], metavar="FLAG",
                    help="an extra kopilkad serve flag, repeatable (e.g. --serve-flag=--threads=16)")
    ap.add_argument("--soak", type=int, metavar="SECONDS",
                    help="memory soak: the mix workload for SECONDS at 16 connections, VmRSS "
                         "sampled every second (default 300 in the full run, 0 in --quick; "
                         "0 skips it)")
    ap.add_argument("--soak-only", action="store_true",
                    help="build, generate the data and run only the soak (no table, no "
                         "references); result in bench/results/soak.json")
    ap.add_argument("--baseline-bin", metavar="PATH",
                    help="another kopilkad (e.g. main's) run beside the new one in this "
                         "invocation: on its own copy of the generated database, run for run "
                         "after the new one; the table gains its rows and new/old ratios")
    ap.add_argument("--no-extras", action="store_true",
                    help="only the --workloads matrix and ref-sqlite: no bare-HTTP reference, "
                         "settings/auth, 10k-client, soak or PostgreSQL parts")
    ap.add_argument("--backup-only", action="store_true",
                    help="build, generate the data and run only the backup under load; result "
                         "in bench/results/backup[-quick].json")
    ap.add_argument("--webhooks-only", action="store_true",
                    help="build, generate the data and run only the orders with webhooks off and "
                         "on and the deliveries' figures; result in "
                         "bench/results/webhooks[-quick].json")
    ap.add_argument("--no-webhooks", action="store_true",
                    help="skip the webhooks part (orders with webhooks off and on)")
    ap.add_argument("--report-only", metavar="JSON",
                    help="re-print the table of a saved bench/results/*.json, run nothing")
    a = ap.parse_args()
    if a.report_only:
        with open(a.report_only) as f:
            saved = json.load(f)
        results = Results()
        for k, v in saved["runs"].items():
            system, wl, c = k.split("|")
            results.rows[(system, wl, int(c))] = v
        report(results, saved["meta"], a.report_only.replace(".json", ".md"))
        return
    quick = a.quick
    clients = a.clients or (100_000 if quick else 1_000_000)
    orders = a.orders or 2 * clients
    seconds = a.seconds or (3 if quick else 5)
    runs = max(1, a.runs)
    conns_list = [16] if quick else [1, 16, 64]
    workloads = (["prefix", "infix", "balance", "orders", "mix"] if quick else
                 ["prefix", "email", "infix", "balance", "coupons", "orders", "mix"])
    if a.workloads:
        workloads = [w for w in a.workloads.split(",") if w]
    SERVE_FLAGS.extend(f for flag in a.serve_flag for f in flag.split("=", 1))
    pg_clients = a.pg_clients or (20_000 if quick else 100_000)
    soak_s = a.soak if a.soak is not None else (0 if quick else 300)
    if a.soak_only and soak_s <= 0:
        soak_s = 300
    os.makedirs(a.workdir, exist_ok=True)
    results_dir = os.path.join(BENCH, "results")
    os.makedirs(results_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except Exception:
        pass
    meta = {"mode": "bench-quick" if quick else "bench", "clients": clients, "orders": orders,
            "runs": runs, "seconds": seconds,
            "machine": f"{os.cpu_count()} CPUs ({cpu}), "
                       f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB RAM"}
    meta["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = Results()
    t_start = time.time()
    try:
        ensure_tools(not a.no_pg)
        kopilkad, tools = build()
        if a.pg_only:
            pg_nodes = [int(n) for n in a.pg_nodes.split(",") if n]
            run_pg(results, kopilkad, tools, a.workdir, pg_clients, 2 * pg_clients, runs,
                   seconds, 16, pg_nodes, a.pg_old, orders_only=True)
            pg_report(results, meta, pg_clients, os.path.join(results_dir, "bench-pg.md"))
            return
        db, keys, meta["gen_s"] = make_sqlite_db(kopilkad, tools, a.workdir, "main", clients,
                                                 orders)
        if a.soak_only:
            soak = run_soak(kopilkad, db, keys, a.workdir, soak_s)
            soak["check_after"] = check(kopilkad, db)
            soak.update(clients=clients, orders=orders, gen_s=meta["gen_s"],
                        machine=meta["machine"], when=meta["when"])
            save_part(soak, soak_lines(soak, clients), os.path.join(results_dir, "soak.json"))
            return
        if a.backup_only:
            bk = run_backup(kopilkad, db, keys, a.workdir)
            bk.update(clients=clients, orders=orders, machine=meta["machine"], when=meta["when"])
            save_part(bk, backup_lines(bk, clients),
                      os.path.join(results_dir, "backup-quick.json" if quick else "backup.json"))
            return
        if a.webhooks_only:
            wh = run_webhooks(kopilkad, db, keys, a.workdir, runs, seconds)
            wh.update(clients=clients, orders=orders, machine=meta["machine"], when=meta["when"],
                      check_after=check(kopilkad, db))
            save_part(wh, webhook_lines(wh, clients), os.path.join(
                results_dir, "webhooks-quick.json" if quick else "webhooks.json"))
            return
        base_db = None
        if a.baseline_bin:
            meta["baseline_bin"] = os.path.abspath(a.baseline_bin)
            base_db = os.path.join(a.workdir, "baseline.db")
            for suffix in ("-wal", "-shm"):
                if os.path.exists(base_db + suffix):
                    os.remove(base_db + suffix)
            shutil.copyfile(db, base_db)
            downgrade_for(a.baseline_bin, base_db, a.workdir, meta)
        if a.no_extras:
            soak_s = 0
            meta["no_extras"] = True
            counter = [0]
            p, base = start_server(kopilkad, db, a.workdir)
            bp, bbase = (start_server(a.baseline_bin, base_db, a.workdir) if base_db
                         else (None, None))
            warm_up("kopilkad", base, keys, workloads)
            if bp:
                warm_up("kopilkad-base", bbase, keys, workloads)
            for i in range(runs):
                run_matrix(results, "kopilkad", base, keys, workloads, conns_list, 1, seconds,
                           counter, first_run=i)
                if bp:
                    run_matrix(results, "kopilkad-base", bbase, keys, workloads, conns_list, 1,
                               seconds, counter, first_run=i)
            stop(p)
            if bp:
                stop(bp)
                meta["check_after_baseline"] = check(a.baseline_bin, base_db)
            ref_sqlite(results, tools, db, keys, runs, seconds)
            meta["check_after"] = check(kopilkad, db)
            return
        small_db, small_keys, _ = make_sqlite_db(kopilkad, tools, a.workdir, "small", 10_000,
                                                 20_000)
        counter = [0]

        # kopilkad on the big database, with the bare-HTTP reference beside it.
        p, base = start_server(kopilkad, db, a.workdir)
        body = http("GET", base + "/ext/api/v1/clients/?phone=7912%25&limit=10")
        meta["body_bytes"] = len(body)
        ref_port = free_port()
        ref = subprocess.Popen([os.path.join(tools, "ref-http"), str(ref_port), str(len(body)),
                                "8"], stdout=subprocess.DEVNULL)
        started.append(ref)
        time.sleep(0.3)
        warm_up("kopilkad", base, keys, workloads)
        rss = rss_sampler = RssSampler(p.pid)
        for i in range(runs):
            for c in conns_list:
                counter[0] += 1
                res = wrk(f"http://127.0.0.1:{ref_port}", "fixed", c, seconds, None, "ref")
                results.add("ref-http", "fixed", c, res)
                log(f"ref-http   fixed     c={c:<3d} run {i + 1}: {res['rps']:9.1f} req/s  "
                    f"p50 {res['p50_us'] / 1000:7.2f} ms  p99 {res['p99_us'] / 1000:8.2f} ms")
            run_matrix(results, "kopilkad", base, keys, workloads, conns_list, 1, seconds,
                       counter, first_run=i)
            if base_db:
                bp, bbase = start_server(a.baseline_bin, base_db, a.workdir)
                warm_up("kopilkad-base", bbase, keys, workloads)
                run_matrix(results, "kopilkad-base", bbase, keys, workloads, conns_list, 1,
                           seconds, counter, first_run=i)
                stop(bp)
        run_matrix(results, "kopilkad", base, keys, ["settings"], [2], runs, seconds, counter)
        # The merchant cabinet's dashboard as a manager opens it: one connection.
        run_matrix(results, "kopilkad", base, keys, ["dashboard"], [1], runs, seconds, counter)
        # The cabinet's customer export of the whole base, streamed.
        meta["export"] = run_export(base, "clients")
        rss.close()
        rss_sampler = None
        per = {}
        for (system, wl, c), rs in results.rows.items():
            if system == "kopilkad":
                per[f"{wl}@{c}"] = max(r.get("rss_kib", 0) for r in rs)
        meta["rss_by_workload_kib"] = per
        meta["rss_kib"] = max(per.values()) if per else 0
        m = re.search(rb"^process_resident_memory_bytes (\d+)",
                      http("GET", base + "/metrics", auth=False), re.M)
        meta["rss_metric_mib"] = int(m.group(1)) / 2**20 if m else 0
        stop(ref)
        # The durable-write ceiling, on the same database while the server idles.
        ref_sqlite(results, tools, db, keys, runs, seconds)
        stop(p)

        # A backup of the big database while orders stream in: its time and the writer
        # stall it causes.
        meta["backup"] = run_backup(kopilkad, db, keys, a.workdir)

        # Orders with webhooks off and on (the outbox's cost), and the deliveries' rate and lag.
        # One run in --quick: each 'on' run waits for its deliveries to drain (tens of seconds).
        if not a.no_webhooks:
            meta["webhooks"] = run_webhooks(kopilkad, db, keys, a.workdir,
                                            1 if quick else runs, seconds)

        # Credential cache off: every request pays an Argon2 verification.
        p, base = start_server(kopilkad, db, a.workdir, ["--auth-cache-seconds", "0"])
        run_matrix(results, "kopilkad-nocache", base, keys, ["settings"], [2], runs, seconds,
                   counter)
        stop(p)

        # Prefix search and orders at 10,000 clients: the scale targets (prefix latency flat,
        # order latency independent of the history's size).
        p, base = start_server(kopilkad, small_db, a.workdir)
        warm_up("kopilkad-10k", base, small_keys, ["prefix", "orders"])
        run_matrix(results, "kopilkad-10k", base, small_keys, ["prefix", "orders"], [16], runs,
                   seconds, counter)
        stop(p)
        if soak_s > 0:
            meta["soak"] = run_soak(kopilkad, db, keys, a.workdir, soak_s)
        meta["check_after"] = check(kopilkad, db)

        if not a.no_pg:
            meta["pg_clients"], meta["pg_conns"] = pg_clients, 16
            run_pg(results, kopilkad, tools, a.workdir, pg_clients, 2 * pg_clients, runs,
                   seconds, 16)
    finally:
        cleanup()
        if a.no_extras and results.rows:
            meta["wall_s"] = round(time.time() - t_start, 1)
            report(results, meta, os.path.join(results_dir, f"{meta['mode']}-no-extras.md"))
    if a.no_extras:
        return
    meta["wall_s"] = round(time.time() - t_start, 1)
    log(f"total wall time {meta['wall_s']} s")
    report(results, meta, os.path.join(results_dir, f"{meta['mode']}.md"))


if __name__ == "__main__":
    main()
