#!/usr/bin/env python3
"""Times a customer import (issue 14): a CSV of N customers with opening balances uploaded to
POST /imports/clients/ (the preview), then applied (POST /imports/clients/{id}/apply/), and the
streamed export of them all (GET /exports/clients.csv), against a fresh database on a server
this script starts. Prints the seconds of each step. Not a test: it asserts only that the
counts come back.

Usage: bench/import_timing.py [--rows 100000] [--db PATH or postgresql://URI] [--kopilkad PATH]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_csv(rows):
    lines = ["телефон;почта;имя;баллы;срок"]
    for i in range(rows):
        expires = "31.12.2099" if i % 3 == 0 else ""
        lines.append(f"+7 (900) {i // 10000:03d}-{i % 10000:04d};c{i}@example.com;"
                     f"Клиент {i};{i % 1000},{i % 100:02d};{expires}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--db")
    ap.add_argument("--kopilkad", default=os.path.join(ROOT, "build", "kopilkad"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kopilka-import-")
    db = args.db or os.path.join(tmp, "k.db")
    login = ("import@example.com", "import-pass-1")
    subprocess.run([args.kopilkad, "init", "--db", db, "--email", login[0], "--password",
                    login[1]], check=True, capture_output=True)
    port = free_port()
    log = open(os.path.join(tmp, "serve.log"), "wb")
    proc = subprocess.Popen([args.kopilkad, "serve", "--db", db, "--listen",
                             f"127.0.0.1:{port}"], stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}/ext/api/v1"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        s = requests.Session()
        s.auth = login
        s.trust_env = False
        body = make_csv(args.rows)
        t0 = time.monotonic()
        r = s.post(base + "/imports/clients/", data=body, headers={"Content-Type": "text/csv"},
                   timeout=600)
        t1 = time.monotonic()
        r.raise_for_status()
        preview = r.json()
        assert preview["valid"] == args.rows, (preview["valid"], preview["problems"][:3])
        r = s.post(f"{base}/imports/clients/{preview['importId']}/apply/", timeout=600)
        t2 = time.monotonic()
        r.raise_for_status()
        assert r.json()["created"] == args.rows, r.text
        r = s.get(base + "/exports/clients.csv", stream=True, timeout=600)
        n = sum(chunk.count(b"\n") for chunk in r.iter_content(65536))
        t3 = time.monotonic()
        assert n == args.rows + 1, n
        print(f"rows {args.rows}, file {len(body) / 1e6:.1f} MB, db {db}")
        print(f"preview {t1 - t0:.2f} s, apply {t2 - t1:.2f} s, export {t3 - t2:.2f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    check = subprocess.run([args.kopilkad, "check", "--db", db], capture_output=True, text=True)
    print("check:", check.stdout.strip() or check.stderr.strip())
    return check.returncode


if __name__ == "__main__":
    sys.exit(main())
