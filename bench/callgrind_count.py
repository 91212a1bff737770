#!/usr/bin/python3
"""Exact instructions per request of kopilkad, for before/after comparisons of a change.

Runs KOPILKAD under callgrind on a copy of the last bench database (restored from a snapshot
before every workload, so every run sees the same data), sends a warm-up, cuts the profile
there (callgrind_control -d), then sends exactly N requests on one keep-alive connection and
cuts again: the second part's total / N is the figure. --auth-cache-seconds 3600 keeps Argon2
out of the window. Used for the "Cheap wins" table of docs/PERFORMANCE.md.

  bench/callgrind_count.py [--workdir DIR] KOPILKAD [prefix|orders ...]

Needs main.db and main.keys in DIR (default /tmp/kopilka-bench, from make bench or
bench-quick) and valgrind. Only 127.0.0.1; the server it starts is stopped by its PID.
"""
import argparse
import glob
import http.client
import os
import shutil
import subprocess
import time

# The credentials, serve flags and port picking of the benchmark driver (bench/run.py).
from run import AUTH, free_port


def send(c, mode, i, tag, phones):
    if mode == "prefix":
        c.request("GET", "/ext/api/v1/clients/?phone=79%02d%%25&limit=10" % ((i * 37) % 100),
                  headers={"Authorization": AUTH})
    else:
        body = ('{"order":{"externalId":"cg-%s-%d","receiptType":"sale","amountCard":749,'
                '"customerPhone":"%s","items":[{"name":"Капучино","price":250,"quantity":1},'
                '{"name":"Круассан","price":180,"quantity":1},{"name":"Чизкейк","price":320,'
                '"quantity":1}]},"amount":1,"currency":"points"}'
                ) % (tag, i, phones[(i * 7919) % len(phones)])
        c.request("POST", "/ext/api/v1/fiscal/orders/", body=body.encode(),
                  headers={"Authorization": AUTH, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status not in (200, 201):
        raise SystemExit(f"{mode}: HTTP {r.status}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="/tmp/kopilka-bench")
    ap.add_argument("kopilkad")
    ap.add_argument("modes", nargs="*", default=["prefix", "orders"])
    a = ap.parse_args()
    db, keys = os.path.join(a.workdir, "main.db"), os.path.join(a.workdir, "main.keys")
    snap = os.path.join(a.workdir, "main.callgrind-snapshot.db")
    if not os.path.exists(snap):
        shutil.copy(db, snap)
    phones = [ln.split()[1] for ln in open(keys)]
    out = os.path.join(a.workdir, "callgrind-count")
    os.makedirs(out, exist_ok=True)
    for mode in a.modes:
        shutil.copy(snap, db)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        cg = os.path.join(out, mode + ".cg")
        for f in glob.glob(cg + "*"):
            os.remove(f)
        port = free_port()
        p = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg,
             "--separate-threads=no", "--compress-strings=no", "--compress-pos=no",
             a.kopilkad, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--threads", "8",
             "--lockout-addr-failures", "1000000", "--access-log", "/dev/null",
             "--auth-cache-seconds", "3600"], stderr=open(cg + ".log", "w"))
        try:
            for _ in range(600):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    c.request("GET", "/healthz")
                    c.getresponse().read()
                    break
                except OSError:
                    time.sleep(0.1)
            warm, n = (1000, 1000) if mode == "prefix" else (200, 500)
            for i in range(warm):
                send(c, mode, i, "w", phones)
            subprocess.run(["callgrind_control", "-d", str(p.pid)], stdout=subprocess.DEVNULL)
            time.sleep(1)
            for i in range(n):
                send(c, mode, warm + i, "m", phones)
            subprocess.run(["callgrind_control", "-d", str(p.pid)], stdout=subprocess.DEVNULL)
            time.sleep(1)
        finally:
            p.terminate()
            p.wait()
        part = cg + ".2"  # the first cut is the warm-up, the second the measured requests
        total = 0
        with open(part) as f:
            for line in f:
                if line.startswith("summary:"):
                    total = int(line.split()[1])
        print(f"{mode}: {total:,} Ir for {n} requests = {total // n:,} per request ({part})")


if __name__ == "__main__":
    main()
