# Shared pieces of the reliability suite (tests/api/test_rel_*.py, issue 4): light load sessions,
# an API key so that many connections skip Argon2, seeded randomness, and ledger readers.
import os
import random
import sqlite3
import subprocess
import time
from decimal import Decimal

import requests

from conftest import body_of, describe, loads, raw

HOLD = "/fiscal_hub/cash_back/hold/"
WRITE_OFF = "/fiscal_hub/cash_back/hold/write_off/"
CANCEL = "/fiscal_hub/cash_back/hold/cancel/"
HUB_REFUND = "/fiscal_hub/cash_back/refund/"

# Ledger row types (docs/ARCHITECTURE.md, "The ledger") and the sign each must carry.
ROW_SIGNS = {"accrual": 1, "refund_spend": 1, "release": 1,
             "spend": -1, "refund_accrual": -1, "expire": -1, "hold": -1}


def seeded(name):
    """A Random seeded from KOPILKA_SEED or the clock; the seed goes into every failure message."""
    seed = int(os.environ.get("KOPILKA_SEED") or time.time_ns() % 10**9)
    print(f"{name}: seed {seed} (rerun with KOPILKA_SEED={seed})")
    return random.Random(seed), seed


class LoadSession(requests.Session):
    """A session for load threads: no proxy, a timeout, and no OpenAPI check on every answer
    (the other suites hold the shapes to the document; here it would only slow the load)."""

    def __init__(self, auth, timeout=30):
        super().__init__()
        self.auth = auth
        self.trust_env = False
        self._timeout = timeout

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def api_key_auth(A, login):
    """(login, API key) for the owner of A: checked by SHA-256, not Argon2, so dozens of fresh
    connections (and restarts, which empty the credential cache) cost nothing."""
    r = A.post_raw("/api_keys/", b"", content_type=None)
    key = body_of(r, 201)["key"]
    return (login, key)


def money(value):
    return Decimal(raw(value))


def history(s, base, cid, limit=1000):
    """Every ledger row of a client, newest first, page by page."""
    rows, offset = [], 0
    while True:
        r = s.get(f"{base}/clients/{cid}/balance/history/", params={"offset": offset, "limit": limit})
        assert r.status_code == 200, describe(r)
        page = loads(r.text)
        rows += page
        if len(page) < limit:
            return rows
        offset += limit


def balance(s, base, cid, currency="points"):
    r = s.get(f"{base}/clients/{cid}/balance/")
    assert r.status_code == 200, describe(r)
    return {e["currency"]: money(e["amount"]) for e in loads(r.text)}[currency]


def ledger_sums(rows, currency="points"):
    """{type: Σ amount} over a client's rows of one currency, asserting each row's sign."""
    sums = {}
    for row in rows:
        if row["currency"] != currency:
            continue
        amount = money(row["amount"])
        sign = ROW_SIGNS.get(row["type"])
        assert sign is not None or row["type"] == "adjust", f"unknown ledger row type {row}"
        if sign is not None:
            assert amount * sign >= 0, f"{row['type']} row with the wrong sign: {row}"
        sums[row["type"]] = sums.get(row["type"], Decimal(0)) + amount
    return sums


def consistent_snapshot(s, base, cid, attempts=20):
    """(rows, balance) of one moment: history, balance, history again until the two histories
    agree (every write adds a row, so equal histories bracket a balance with no write between).
    None when the client was too busy to catch still."""
    for _ in range(attempts):
        before = history(s, base, cid)
        bal = balance(s, base, cid)
        after = history(s, base, cid)
        if [r["transactionId"] for r in before] == [r["transactionId"] for r in after]:
            return after, bal
    return None


def sqlite_integrity(db):
    """PRAGMA integrity_check of a SQLite database file, read-only (the sqlite3 CLI when present,
    else Python's module with mode=ro). Returns the text it printed."""
    if os.path.exists("/usr/bin/sqlite3"):
        p = subprocess.run(["/usr/bin/sqlite3", "-readonly", db, "PRAGMA integrity_check;"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        return (p.stdout + p.stderr).strip()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        return "\n".join(row[0] for row in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()
