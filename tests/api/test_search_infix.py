# Infix search of GET /clients/ (API.md 1 "Wildcards", 2.1): a phone pattern with % inside is
# served by a trigram index (SQLite: client_phone_trigrams; PostgreSQL: pg_trgm), which must
# give exactly what LIKE gives, in (phone, id) order, with the same paging, on every shape of
# pattern, and follow every change of a client's phone at once.
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Env, body_of, database_for, new_phone
from schema_undo import undo_migration_10

DIGITS = "1234"  # a small alphabet, so that trigrams repeat and patterns match many phones


def search(api, **params):
    return body_of(api.get("/clients/", params=params))


def like(pattern, value):
    """API.md 1: % matches any run, every other character matches itself."""
    rx = ".*".join(re.escape(part) for part in pattern.split("%"))
    return value is not None and re.fullmatch(rx, value, re.S) is not None


def clean_phone_pattern(pattern):
    """API.md 1 Phones: in a pattern containing %, every character but digits and % goes."""
    return "".join(ch for ch in pattern if ch.isdigit() or ch == "%")


def expected(everyone, pattern, offset=0, limit=50):
    p = clean_phone_pattern(pattern)
    hits = sorted((c for c in everyone if like(p, c["phone"])), key=lambda c: (c["phone"], c["id"]))
    return [c["id"] for c in hits][offset:offset + limit]


def ids(clients):
    return [c["id"] for c in clients]


def everyone(api):
    out, offset = [], 0
    while True:
        page = search(api, offset=offset, limit=1000)
        out += page
        if len(page) < 1000:
            return out
        offset += 1000


def phone_of(n):
    """An 11-digit phone 7 + 10 digits of DIGITS, a bijection of n < 4**10."""
    digits = []
    for _ in range(10):
        digits.append(DIGITS[n % 4])
        n //= 4
    return "7" + "".join(digits)


@pytest.fixture(scope="module")
def crowd(env):
    """320 clients of A with phones over 1234 (scattered: a multiplicative bijection), every
    10th without a phone; B holds clients with the same phones, which A must never see."""
    A, B = env.a, env.b
    made = []
    for i in range(240):
        phone = phone_of((i * 40503 + 7) % 4 ** 10)
        if i % 10 == 9:
            made.append(A.create_client(email=f"crowd{i}@example.com"))
        else:
            made.append(A.create_client(phone=phone, email=f"crowd{i}@example.com"))
        if i % 4 == 0:
            B.create_client(phone=phone)
    # 80 more sharing the leading 7444: trigrams held by more phones than the SQLite engine
    # probes for (64), so that its choice among a pattern's trigrams is exercised too
    for i in range(80):
        made.append(A.create_client(phone="7444" + phone_of((i * 977 + 3) % 4 ** 10)[4:]))
    return made


PATTERNS = [
    "%123%", "%1234%", "%4321%", "%12341%", "%111%", "%1111%", "%12%", "%1%", "%4%3%",
    "%123%412%", "%12%341%", "%1%2%3%4%", "7123%341%", "71%43", "%234", "%2134213421%",
    "%71234%", "%999%", "%12349%", "%%123%%", "%7%", "%3%33%", "%444%111%",
    "%7444%", "%744%123%", "%4447444%", "%74441%", "%1234%7444%",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_infix_equals_a_brute_force_filter_page_by_page(A, crowd, pattern):
    all_a = everyone(A)
    want = expected(all_a, pattern, 0, 1000)
    assert ids(search(A, phone=pattern, limit=1000)) == want
    pages = []
    for offset in range(0, len(want) + 7, 7):
        page = ids(search(A, phone=pattern, offset=offset, limit=7))
        assert page == want[offset:offset + 7]
        pages += page
    assert pages == want
    assert search(A, phone=pattern, offset=len(want)) == []


def test_the_crowd_makes_the_patterns_meaningful(A, crowd):
    """The patterns above cover dense and sparse results and ones longer than a page."""
    all_a = everyone(A)
    sizes = {p: len(expected(all_a, p, 0, 1000)) for p in PATTERNS}
    assert sizes["%999%"] == 0 and sizes["%12349%"] == 0
    assert sizes["%12%"] > 50 and sizes["%123%"] > 20
    assert 0 < sizes["%12341%"] < 50


def test_non_digits_in_a_phone_pattern_are_dropped_first(A, crowd):
    all_a = everyone(A)
    for raw in ["%1_2_3%", "%1\\23%", "%(12) 3-4%", "%+1.2.3.4%", "%1 2%3 4%"]:
        assert ids(search(A, phone=raw, limit=1000)) == expected(all_a, raw, 0, 1000), raw


def test_phone_infix_with_an_email_condition(A, crowd):
    all_a = everyone(A)
    want = [c["id"] for c in sorted((c for c in all_a if like("%123%", c["phone"])
                                     and like("crowd1%", c["email"])),
                                    key=lambda c: (c["phone"], c["id"]))]
    assert want
    assert ids(search(A, phone="%123%", email="crowd1%", limit=1000)) == want
    assert ids(search(A, phone="%123%", email="crowd1%", offset=1, limit=2)) == want[1:3]
    assert search(A, phone="%123%", email="nobody%") == []


def test_email_infix_with_special_characters(A):
    a = A.create_client(email="inf_x\\y%z@example.com")
    b = A.create_client(email="infAxBy%z@example.com")
    assert ids(search(A, email="%inf_x\\y%")) == [a["id"]]
    assert ids(search(A, email="%f_x%")) == [a["id"]]  # "_" is no wildcard
    assert ids(search(A, email="%nfaxby%")) == [b["id"]]


def test_new_client_is_found_at_once(A, crowd):
    phone = "79871239876"
    assert search(A, phone="%8712398%") == []
    c = A.create_client(phone=phone)
    assert ids(search(A, phone="%8712398%")) == [c["id"]]
    assert ids(search(A, phone="%239%", limit=1000)).count(c["id"]) == 1


def test_changed_or_cleared_phone_is_followed_at_once(A, crowd):
    c = A.create_client(phone="79861112233", email="mover@example.com")
    assert ids(search(A, phone="%6111223%")) == [c["id"]]
    body_of(A.put(f"/clients/{c['id']}/", {"phone": "79864445566"}))
    assert search(A, phone="%6111223%") == []
    assert ids(search(A, phone="%6444556%")) == [c["id"]]
    # another field changes, the phone stays: still found, once
    body_of(A.put(f"/clients/{c['id']}/", {"name": "Moved"}))
    assert ids(search(A, phone="%6444556%")) == [c["id"]]
    # a change refused (the phone is taken) leaves the index as it was
    other = A.create_client(phone="79867778899")
    r = A.put(f"/clients/{c['id']}/", {"phone": "79867778899"})
    assert r.status_code == 409
    assert ids(search(A, phone="%6444556%")) == [c["id"]]
    assert ids(search(A, phone="%6777889%")) == [other["id"]]
    # cleared: no phone, no phone match
    body_of(A.put(f"/clients/{c['id']}/", {"phone": None}))
    assert search(A, phone="%6444556%") == []
    body_of(A.put(f"/clients/{c['id']}/", {"phone": "79861112233"}))
    assert ids(search(A, phone="%6111223%")) == [c["id"]]


def test_other_merchants_clients_are_never_candidates(A, B, crowd):
    all_b = everyone(B)
    assert len(all_b) >= 60
    for pattern in ["%123%", "%1234%", "%12%"]:
        got_b = ids(search(B, phone=pattern, limit=1000))
        assert got_b == expected(all_b, pattern, 0, 1000)
        assert not set(got_b) & set(ids(everyone(A)))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(pattern=st.lists(st.sampled_from("1234%"), min_size=1, max_size=9).map("".join)
       .filter(lambda p: "%" in p),
       offset=st.integers(0, 30), limit=st.integers(0, 25))
def test_property_any_pattern_any_page(A, crowd, pattern, offset, limit):
    all_a = _cached_everyone(A)
    assert ids(search(A, phone=pattern, offset=offset, limit=limit)) == \
        expected(all_a, pattern, offset, limit)


_everyone_cache = {}


def _cached_everyone(api):
    """The clients of A as the property test starts (it changes none), per database."""
    key = api.env.db
    if key not in _everyone_cache:
        _everyone_cache[key] = everyone(api)
    return _everyone_cache[key]


# --- the migration that builds the index for an existing database ----------------------------

def _psql(uri, sql):
    p = subprocess.run(["psql", uri, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_an_existing_database_gets_its_index_filled(engine, tmp_path, request):
    """A database of schema version 8 (before the trigram index) with clients in it: on start
    it is migrated, the index filled, and the infix search finds the clients made before."""
    env = Env(tmp_path, db=database_for(engine, tmp_path, request), engine=engine)
    try:
        made = [env.a.create_client(phone=p) for p in ("79851234567", "79854567123", "79859990000")]
        env.server.stop()
        undo_migration_10(engine, env.db)
        if engine == "sqlite":
            import sqlite3
            with sqlite3.connect(env.db) as conn:
                for sql in ["DROP TRIGGER clients_trigrams_insert", "DROP TRIGGER clients_trigrams_update",
                            "DROP TRIGGER clients_trigrams_delete", "DROP TABLE client_phone_trigrams",
                            "DROP TABLE trigram_positions", "DELETE FROM schema_version WHERE version > 8"]:
                    conn.execute(sql)
        else:
            _psql(env.db, "DROP EXTENSION pg_trgm CASCADE; DELETE FROM schema_version WHERE version > 8")
        env.restart()
        assert "migrated database schema to version 9" in env.server.log_tail()
        assert ids(search(env.a, phone="%4567%")) == [made[0]["id"], made[1]["id"]]
        assert ids(search(env.a, phone="%999%")) == [made[2]["id"]]
        if engine == "postgres":
            assert _psql(env.db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'clients_phone_trgm'") == "1"
    finally:
        env.close()  # kopilkad check: the filled index agrees with the phones


def test_check_reports_a_trigram_table_that_disagrees_with_the_phones(tmp_path, request):
    """kopilkad check holds client_phone_trigrams (SQLite's infix index) to the clients' phones:
    a missing row and a row whose trigram is not in its phone are each reported, and the check
    fails; undone, it passes again."""
    env = Env(tmp_path, db=database_for("sqlite", tmp_path, request), engine="sqlite")
    try:
        made = env.a.create_client(phone="79851234567")
        env.server.stop()
        import sqlite3
        with sqlite3.connect(env.db) as conn:
            conn.execute("DELETE FROM client_phone_trigrams WHERE client_id = ? AND tri = '234'",
                         (made["id"],))
            conn.execute("INSERT INTO client_phone_trigrams(merchant_id, tri, phone, client_id)"
                         " SELECT merchant_id, '000', phone, id FROM clients WHERE id = ?",
                         (made["id"],))
        p = env.check()
        out = p.stdout + p.stderr
        assert p.returncode != 0, out
        assert "phone search index: trigram 000 is not in phone 79851234567" in out, out
        assert re.search(r"phone search index: \d+ rows \(checksum -?\d+\) where the phones of"
                         r" clients give \d+", out), out
        with sqlite3.connect(env.db) as conn:
            conn.execute("DELETE FROM client_phone_trigrams WHERE tri = '000'")
            conn.execute("INSERT INTO client_phone_trigrams(merchant_id, tri, phone, client_id)"
                         " SELECT merchant_id, '234', phone, id FROM clients WHERE id = ?",
                         (made["id"],))
        env.restart()
    finally:
        env.close()  # kopilkad check passes again
