# Clients: POST /clients/ (API.md 6), GET /clients/ search and paging (2.1), and the per-client
# seed endpoints' 404s (2.2, 2.3).
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (API_PREFIX, HEX32, Session, assert_error, assert_money, body_of, describe,
                      new_phone, uniq)

CLIENT_KEYS = {"id", "email", "phone", "name", "avatarUrl", "paidPurchases", "totalPurchases",
               "averageBill", "totalPurchasesAmount", "paidPurchasesAmount", "positiveReviews",
               "neutralReviews", "negativeReviews", "token"}


def ids(clients):
    return [c["id"] for c in clients]


def search(api, **params):
    return body_of(api.get("/clients/", params=params))


# --- POST /clients/ ---------------------------------------------------------------------------

def test_create_client_normalizes_phone_and_returns_client(A):
    r = A.post("/clients/", {"phone": "+7 (913) 555-01-02", "email": "  Ivan.Petrov@Example.RU ",
                             "name": "Иван Петров", "avatarUrl": "https://img.example/1.png"})
    c = body_of(r, 201)
    assert CLIENT_KEYS <= set(c), describe(r)
    assert c["phone"] == "79135550102"
    assert c["email"].lower() == "ivan.petrov@example.ru" and c["email"] == c["email"].strip()
    assert c["name"] == "Иван Петров"
    assert c["avatarUrl"] == "https://img.example/1.png"
    assert HEX32.match(c["token"])
    for k in ("paidPurchases", "totalPurchases", "positiveReviews", "neutralReviews", "negativeReviews"):
        assert c[k] == 0
    for k in ("averageBill", "totalPurchasesAmount", "paidPurchasesAmount"):
        assert_money(c[k], "0")
    assert search(A, phone="79135550102") == [c]


def test_create_client_russian_trunk_prefix(A):
    c = A.create_client(phone="8 (913) 555-77-01")
    assert c["phone"] == "79135557701"
    # the same number written with 8, +7 or spaces is the same client
    assert ids(search(A, phone="89135557701")) == [c["id"]]
    assert ids(search(A, phone="+7 913 555 77 01")) == [c["id"]]
    assert_error(A.post("/clients/", {"phone": "+7 913 555-77-01"}), 409, code="client_conflict")


def test_create_client_email_only_has_null_other_fields(A):
    c = A.create_client(email=uniq("only") + "@example.com")
    assert c["phone"] is None and c["name"] is None and c["avatarUrl"] is None


def test_create_client_needs_phone_or_email(A):
    assert_error(A.post("/clients/", {"name": "Nobody"}), 400, code="validation_failed")
    assert_error(A.post("/clients/", {}), 400, code="validation_failed")
    assert_error(A.post("/clients/", {"phone": None, "email": None}), 400, code="validation_failed")


def test_create_client_rejects_malformed_email(A):
    assert_error(A.post("/clients/", {"email": "no-at-sign"}), 400, code="validation_failed", field="email")


def test_create_client_conflicts(A, B):
    phone = new_phone()
    email = uniq("dup") + "@example.com"
    first = A.create_client(phone=phone, email=email)
    assert_error(A.post("/clients/", {"phone": phone}), 409, code="client_conflict")
    assert_error(A.post("/clients/", {"email": email.upper()}), 409, code="client_conflict")
    assert_error(A.post("/clients/", {"phone": new_phone(), "email": email}), 409, code="client_conflict")
    # the failed attempts created nothing
    assert ids(search(A, email=email)) == [first["id"]]
    # another merchant may have the same phone and email
    other = B.create_client(phone=phone, email=email)
    assert other["id"] != first["id"]


# --- GET /clients/ search ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def people(env):
    """Clients of A with phones under 7955 and emails under srch-, created out of order."""
    A = env.a
    spec = [("79550000300", "srch-c@example.com"), ("79550000100", "srch-e@example.com"),
            ("79550004567", "srch-a@example.com"), ("79550000200", "srch-d@example.com"),
            ("79554567000", "srch-b@example.com")]
    return [A.create_client(phone=p, email=e) for p, e in spec]


def test_search_exact_phone_and_email(A, people):
    p = people[0]
    assert search(A, phone="79550000300") == [p]
    assert search(A, phone="+7 955 000-03-00") == [p]
    assert search(A, email="srch-c@example.com") == [p]
    assert search(A, email="SRCH-C@Example.com") == [p]
    assert search(A, phone="7955000030") == []  # exact means exact, not a prefix
    assert search(A, email="srch-c@example.co") == []


def test_search_prefix_sorted_by_phone(A, people):
    found = search(A, phone="7955%")
    assert [c["phone"] for c in found] == sorted(c["phone"] for c in people)
    assert ids(search(A, phone="+7 (955) %")) == ids(found)
    assert ids(search(A, phone="795500002%")) == [people[3]["id"]]


def test_search_infix(A, people):
    assert sorted(ids(search(A, phone="%4567%"))) == sorted([people[2]["id"], people[4]["id"]])
    assert ids(search(A, phone="%4567%")) == [people[2]["id"], people[4]["id"]]  # by phone
    assert ids(search(A, phone="%0100")) == [people[1]["id"]]
    assert ids(search(A, email="%-e@%")) == [people[1]["id"]]


def test_search_email_prefix_sorted_by_email(A, people):
    found = search(A, email="srch-%")
    assert [c["email"] for c in found] == sorted(c["email"] for c in people)
    assert search(A, email="SRCH-%") == found  # emails compare case-insensitively


def test_phone_pattern_keeps_only_digits_and_percent(A, people):
    assert search(A, phone="7955_%") == search(A, phone="7955%")
    assert search(A, phone="7-955-%") == search(A, phone="7955%")


def test_search_both_params_must_match(A, people):
    assert ids(search(A, phone="7955%", email="srch-a%")) == [people[2]["id"]]
    assert search(A, phone="79550000300", email="srch-a@example.com") == []


def test_search_underscore_and_backslash_match_themselves(A):
    under = A.create_client(email=uniq("u") + "_lit@example.com")
    other = A.create_client(email=under["email"].replace("_lit", "Xlit"))
    pct = A.create_client(email=uniq("p") + "%lit@example.com")
    local = under["email"].split("_")[0]
    assert ids(search(A, email=local + "_lit%")) == [under["id"]]
    assert ids(search(A, email=local + "Xlit%")) == [other["id"]]
    assert ids(search(A, email=under["email"])) == [under["id"]]
    # "_" is no single-character wildcard
    assert search(A, email=local + "_" + "lit@example.co_") == []
    # "\" is no escape character: "\%" is a backslash followed by the wildcard
    pct_local = pct["email"].split("%")[0]
    assert search(A, email=pct_local + "\\%%") == []
    assert search(A, email=pct_local + "\\%lit@example.com") == []
    assert ids(search(A, email=pct_local + "%%")) == [pct["id"]]


def test_search_with_only_wildcard_lists_by_id(A, B, people):
    all_a = search(A, limit=1000)
    assert ids(all_a) == sorted(ids(all_a))
    assert set(ids(people)) <= set(ids(all_a))
    assert ids(search(A, phone="%", limit=1000)) != [] and all(
        c["phone"] is not None for c in search(A, phone="%", limit=1000))


def test_paging_is_stable_and_complete(A, people):
    whole = ids(search(A, phone="7955%"))
    pages = []
    for offset in range(0, 6, 2):
        pages += ids(search(A, phone="7955%", offset=offset, limit=2))
    assert pages == whole
    assert search(A, phone="7955%", offset=5) == []
    assert ids(search(A, email="srch-%", offset=1, limit=1)) == [people[4]["id"]]  # srch-b
    everyone = ids(search(A, limit=1000))
    assert ids(search(A, offset=1, limit=3)) == everyone[1:4]
    assert search(A, limit=0) == []


@pytest.mark.parametrize("param,value", [("offset", "-1"), ("limit", "-1"), ("offset", "abc"),
                                         ("limit", "abc"), ("limit", "1.5"), ("offset", ""),
                                         ("limit", "+-5"), ("offset", "1e3"), ("limit", "0x10")])
def test_bad_offset_or_limit_is_400(A, param, value):
    r = A.get("/clients/", params={param: value})
    assert_error(r, 400, code="validation_failed", field=param, path=API_PREFIX + "/clients/")


def test_default_limit_50_and_limit_over_1000_is_clamped(env, A):
    prefix = "7966"
    phones = [f"{prefix}{n:07d}" for n in range(1005)]

    def make(chunk):
        with Session(A.auth) as s:
            for p in chunk:
                r = s.post(env.url("/clients/"), json={"phone": p})
                assert r.status_code == 201, describe(r)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(make, [phones[i::4] for i in range(4)]))
    assert [c["phone"] for c in search(A, phone=prefix + "%")] == phones[:50]
    found = search(A, phone=prefix + "%", limit=5000)
    assert len(found) == 1000
    assert [c["phone"] for c in found] == phones[:1000]
    rest = search(A, phone=prefix + "%", offset=1000, limit=1001)
    assert [c["phone"] for c in rest] == phones[1000:]


# --- per-client endpoints ---------------------------------------------------------------------

@pytest.mark.parametrize("sub", ["coupons", "balance"])
@pytest.mark.parametrize("cid", ["999999999", "0", "abc", "-1", "99999999999999999999999", "1.5"])
def test_unknown_or_non_numeric_client_is_404(A, sub, cid):
    r = A.get(f"/clients/{cid}/{sub}/")
    assert_error(r, 404, path=f"{API_PREFIX}/clients/{cid}/{sub}/")


def test_new_client_has_zero_balance_and_no_coupons(A):
    c = A.create_client(phone=new_phone())
    b = body_of(A.get(f"/clients/{c['id']}/balance/"))
    assert b == [{"amount": 0, "currency": "points"}, {"amount": 0, "currency": "rubles"}]
    assert_money(b[0]["amount"], "0")
    assert body_of(A.get(f"/clients/{c['id']}/coupons/")) == []
