#!/usr/bin/python3
"""A short but broad session against kopilkad running under valgrind memcheck (issue 4 item 10,
docs/RELIABILITY.md section 10): clients, settings, catalog coupons, sales that accrue and
spend points and redeem coupons, partial and whole refunds, holds written off and cancelled, a
direct write-off, an image upload, the read routes, and bad requests of every kind; then SIGTERM.
It fails unless the server exits 0, valgrind reports 0 errors and 0 bytes are definitely lost.

Usage: scripts/valgrind-session.py PATH/TO/kopilkad
Only 127.0.0.1 is spoken to; the one process started is stopped by its PID. Argon2id (64 MiB)
is slow under valgrind, so the session verifies three passwords and hashes one."""
import base64
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

import requests

OWNER = ("owner@valgrind.local", "valgrind-pass")
START_TIMEOUT = 180
REQUEST_TIMEOUT = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00")) + chunk(b"IEND", b""))


class Driver:
    def __init__(self, base):
        self.base = base
        self.s = requests.Session()
        self.s.auth = OWNER
        self.n = 0

    def call(self, method, path, want, **kw):
        kw.setdefault("timeout", REQUEST_TIMEOUT)
        url = path if path.startswith("http") else self.base + path
        r = self.s.request(method, url, **kw)
        self.n += 1
        if r.status_code != want:
            raise AssertionError(f"{method} {path}: {r.status_code}, want {want}: {r.text[:500]}")
        return r.json() if r.headers.get("Content-Type", "").startswith("application/json") and r.content else r

    def session(self):
        api = "/ext/api/v1"
        c = self.call
        c("GET", "/healthz", 200)
        c("PUT", api + "/loyalty/settings/", 200, json={
            "active": True, "maxSpendPercent": 100,
            "newCustomerSettings": {"type": "amount", "amount": 100, "validDays": 30},
            "customerSettings": {"type": "percentage", "amount": 10, "validDays": None}})
        coupon = c("POST", api + "/loyalty/coupons/", 201, json={"title": "Free coffee", "validDays": 30})
        c("PUT", api + f"/loyalty/coupons/{coupon['id']}/", 200, json={"subHeader": "any size"})
        c("PUT", api + "/loyalty/settings/write_off/rules/", 200,
          json={"patterns": [{"currency": "points", "amount": 50}]})
        c("PUT", api + "/loyalty/settings/contact_info/", 200, json={"company": "Кофейня", "url": "https://x.example"})
        c("PUT", api + "/loyalty/settings/sale_points/", 200, json=[{"city": "Perm", "address": "Lenina 1"}])
        c("POST", api + "/loyalty/settings/contact_info/logo/", 200,
          files={"logo": ("logo.png", png(), "image/png")})
        contact = c("GET", api + "/loyalty/settings/contact_info/", 200)
        if contact.get("logoPath"):
            c("GET", contact["logoPath"] if contact["logoPath"].startswith("http") else api + "/media/"
              + contact["logoPath"].rsplit("/", 1)[-1], 200)
        clients = []
        for i in range(3):
            clients.append(c("POST", api + "/clients/", 201,
                             json={"phone": f"+7 912 000-00-0{i}", "name": f"Client {i}",
                                   "email": f"client{i}@example.com"}))
        cid = clients[0]["id"]
        c("PUT", api + f"/clients/{cid}/", 200, json={"name": "Client Zero"})
        issued = c("POST", api + f"/clients/{cid}/coupons/", 201, json={"couponId": coupon["id"]})
        first = c("POST", api + "/fiscal/orders/", 200, json={"order": {
            "externalId": "vg-1", "receiptType": "sale", "amountCard": 500, "customerPhone": "79120000000",
            "items": [{"name": "Cake", "price": 250, "quantity": 2, "unit": "piece", "vat": 20}]}})
        # Replays: the same externalId, and an Idempotency-Key.
        c("POST", api + "/fiscal/orders/", 200, json={"order": {
            "externalId": "vg-1", "receiptType": "sale", "amountCard": 500, "customerPhone": "79120000000",
            "items": [{"name": "Cake", "price": 250, "quantity": 2, "unit": "piece", "vat": 20}]}})
        spend = c("POST", api + "/fiscal/orders/", 200, headers={"Idempotency-Key": "vg-key-1"}, json={
            "order": {"externalId": "vg-2", "receiptType": "sale", "amountCash": 290, "customerPhone": "79120000000",
                      "items": [{"name": "Tea", "price": 100, "quantity": 3}]},
            "amount": 10, "currency": "points", "coupons": [issued["id"]]})
        c("POST", api + "/fiscal/orders/create_test/", 200, json={"order": {
            "externalId": "vg-3", "receiptType": "sale", "customerEmail": "client1@example.com",
            "items": [{"name": "Tea", "price": 100, "quantity": 1}]}})
        c("POST", api + "/fiscal/orders/", 200, json={"order": {
            "externalId": "vg-2-r1", "receiptType": "refund", "items": [{"id": spend["items"][0]["id"], "quantity": 1}]}})
        c("POST", api + "/fiscal/orders/", 200, json={"order": {
            "externalId": "vg-1-r", "receiptType": "refund", "items": [{"id": first["items"][0]["id"]}]}})
        c("POST", api + "/fiscal_hub/cash_back/refund/", 200, json={"orderItems": [spend["items"][0]["id"]]})
        c("POST", api + f"/fiscal/orders/{first['id']}/reaction/", 200, json={"reaction": "positive"})
        # Holds: one written off, one cancelled; a direct write-off.
        cid1 = clients[1]["id"]
        c("POST", api + "/fiscal/orders/", 200, json={"order": {
            "externalId": "vg-4", "receiptType": "sale", "customerPhone": "79120000001",
            "items": [{"name": "Pie", "price": 1000, "quantity": 1}]}})
        h1 = c("POST", api + "/fiscal_hub/cash_back/hold/", 200, json={"clientId": cid1, "currency": "points", "amount": 20})
        c("POST", api + "/fiscal_hub/cash_back/hold/write_off/", 200,
          json={"transactionId": h1["transactionId"], "fiscalOrderId": "vg-4"})
        h2 = c("POST", api + "/fiscal_hub/cash_back/hold/", 200, json={"clientId": cid1, "currency": "points", "amount": 30})
        c("POST", api + "/fiscal_hub/cash_back/hold/cancel/", 200, json={"transactionId": h2["transactionId"]})
        c("POST", api + "/fiscal_hub/cash_back/hold/cancel/", 200, json={"transactionId": h2["transactionId"]})
        c("POST", api + f"/clients/{cid1}/balance/write_off/", 200, headers={"Idempotency-Key": "vg-wo"},
          json={"balance": [{"currency": "points", "amount": 5}]})
        # Reads.
        c("GET", api + "/clients/", 200, params={"phone": "7912%", "limit": 10})
        c("GET", api + "/clients/", 200, params={"email": "%@example.com"})
        c("GET", api + f"/clients/{cid}/", 200)
        c("GET", api + f"/clients/{clients[0]['token']}/", 200) if clients[0].get("token") else None
        c("GET", api + f"/clients/{cid}/balance/", 200)
        c("GET", api + f"/clients/{cid}/balance/history/", 200, params={"limit": 20})
        c("GET", api + f"/clients/{cid}/coupons/", 200)
        c("GET", api + "/fiscal/orders/", 200, params={"limit": 5, "receipt_type": "sale"})
        c("GET", api + f"/fiscal/orders/{first['id']}/items/", 200)
        c("GET", api + "/fiscal/auth/", 200)
        c("GET", api + "/loyalty/settings/", 200)
        c("GET", api + "/loyalty/coupons/", 200)
        emp = c("POST", api + "/employees/", 201, json={"email": "cashier@valgrind.local", "password": "cashier-pass",
                                                         "role": "cashier", "firstName": "Ivan"})
        r = requests.get(self.base + api + "/fiscal/auth/", auth=("cashier@valgrind.local", "cashier-pass"),
                         timeout=REQUEST_TIMEOUT)
        if r.status_code != 200:
            raise AssertionError(f"cashier login: {r.status_code}")
        r = requests.get(self.base + api + "/employees/", auth=("cashier@valgrind.local", "cashier-pass"),
                         timeout=REQUEST_TIMEOUT)
        if r.status_code != 403:
            raise AssertionError(f"cashier on /employees/: {r.status_code}")
        self.n += 2
        c("GET", api + "/employees/", 200)
        c("PUT", api + f"/employees/{emp['id']}/", 200, json={"lastName": "Petrov"})
        c("DELETE", api + f"/employees/{emp['id']}/", 204)
        key = c("POST", api + "/api_keys/", 201)
        c("GET", api + "/api_keys/", 200)
        c("DELETE", api + f"/api_keys/{key['id']}/", 204)
        c("DELETE", api + "/loyalty/settings/contact_info/logo/", 200)
        c("GET", "/metrics", 200)
        c("GET", api + "/openapi.json", 200)
        if first.get("publicURL"):
            c("GET", first["publicURL"], 200)
        # Bad requests.
        c("POST", api + "/clients/", 400, data=b'{"phone":', headers={"Content-Type": "application/json"})
        c("POST", api + "/clients/", 415, data=b"phone=1", headers={"Content-Type": "text/plain"})
        c("POST", api + "/clients/", 400, json={"phone": "abc"})
        c("POST", api + "/clients/", 409, json={"phone": "+7 912 000-00-00"})
        c("POST", api + "/fiscal/orders/", 400, headers={"Content-Type": "application/json"},
          data=b'{"order":{"externalId":"x","receiptType":"sale","items":[{"name":"a","price":1e400,"quantity":1}]}}')
        c("POST", api + "/fiscal/orders/", 400, data=b'{"order":{"items":[1e99999999999]}}',
          headers={"Content-Type": "application/json"})
        c("POST", api + "/fiscal_hub/cash_back/hold/", 400, json={"clientId": cid1, "amount": 1000000})
        c("POST", api + "/fiscal/orders/", 413, data=b" " * (1024 * 1024 + 10), headers={"Content-Type": "application/json"})
        c("GET", api + "/no/such/", 404)
        c("DELETE", api + "/clients/", 405)
        c("GET", api + "/clients/999999/", 404)
        c("POST", api + "/loyalty/settings/contact_info/logo/", 400,
          files={"logo": ("x.gif", b"GIF89a....", "image/gif")})
        c("POST", api + "/fiscal/orders/", 422, headers={"Idempotency-Key": "vg-key-1"}, json={"order": {
            "externalId": "vg-other", "receiptType": "sale", "items": [{"name": "Tea", "price": 100, "quantity": 1}]}})
        requests.get(self.base + api + "/clients/", timeout=REQUEST_TIMEOUT)  # no credentials: 401
        r = requests.get(self.base + api + "/clients/", auth=(OWNER[0], "wrong-password"), timeout=REQUEST_TIMEOUT)
        if r.status_code != 401:
            raise AssertionError(f"wrong password: {r.status_code}")
        self.n += 2


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    kopilkad = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="kopilka-valgrind-")
    db = os.path.join(tmp, "kopilka.db")
    vlog = os.path.join(tmp, "valgrind.log")
    slog = os.path.join(tmp, "serve.log")
    init = subprocess.run([kopilkad, "init", "--db", db, "--email", OWNER[0], "--password", OWNER[1]],
                          capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        sys.exit(f"valgrind: kopilkad init failed: {init.stderr}")
    port = free_port()
    cmd = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=99",
           "--show-leak-kinds=definite", "--num-callers=30", f"--log-file={vlog}",
           kopilkad, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--threads", "2",
           "--argon2-concurrency", "1", "--auth-cache-seconds", "3600",
           "--lockout-addr-failures", "100000", "--public-url", f"http://127.0.0.1:{port}"]
    started = time.monotonic()
    with open(slog, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    ok = False
    driver = Driver(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise AssertionError("kopilkad exited under valgrind before listening")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("kopilkad did not listen within the start timeout")
                time.sleep(0.2)
        driver.session()
        ok = True
    except Exception as e:  # reported below, after the server is stopped
        print(f"valgrind: session failed: {e}", file=sys.stderr)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    duration = time.monotonic() - started
    text = open(vlog, encoding="utf-8", errors="replace").read()
    errors = re.search(r"ERROR SUMMARY: ([0-9,]+) errors", text)
    lost = re.search(r"definitely lost: ([0-9,]+) bytes", text)
    errors = int(errors.group(1).replace(",", "")) if errors else None
    # No "definitely lost" line: every block was freed or only reachable ones remain.
    lost = int(lost.group(1).replace(",", "")) if lost else (0 if "LEAK SUMMARY" in text or "All heap blocks were freed" in text else None)
    print(f"valgrind: {driver.n} requests in {duration:.0f} s; server exit {rc}; "
          f"{errors} errors; {lost} bytes definitely lost")
    if ok and rc == 0 and errors == 0 and lost == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    print(f"valgrind: FAILED (valgrind log {vlog}, server log {slog}):", file=sys.stderr)
    print(text[-8000:], file=sys.stderr)
    with open(slog, encoding="utf-8", errors="replace") as f:
        print(f.read()[-3000:], file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
