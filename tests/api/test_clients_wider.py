"""API.md 4.1 and 4.2 (the part built so far): one client by id or token, the balance history,
and GET /fiscal/auth/."""
import datetime

from conftest import (OWNER_A, Session, assert_error, body_of, new_phone, refund, rule, sale, uniq)


def test_client_by_id_and_by_token(A, B):
    cl = A.create_client(phone=new_phone(), name="Vera")
    by_id = body_of(A.get(f"/clients/{cl['id']}/"))
    by_token = body_of(A.get(f"/clients/{cl['token']}"))
    assert by_id == by_token == cl
    for ref in (cl["id"], cl["token"]):
        assert_error(B.get(f"/clients/{ref}/"), 404, code="not_found")
    for ref in ("abc", cl["token"].upper(), cl["token"][:-1], "0", "-1"):
        assert_error(A.get(f"/clients/{ref}/"), 404)


def test_balance_history(A, B):
    A.settings(active=True, newCustomerSettings=rule("amount", 100), customerSettings=rule("amount", 0))
    phone = new_phone()
    first = A.order(sale(phone=phone))
    cid = first["clientId"]
    second = A.order(sale(phone=phone, amount=30))
    A.order(refund([{"id": second["items"][0]["id"]}]))
    A.settings(active=False)
    rows = body_of(A.get(f"/clients/{cid}/balance/history/"))
    assert [(r["type"], r["amount"]) for r in rows] == [("refund_spend", 30), ("spend", -30), ("accrual", 100)]
    assert rows[-1]["orderId"] == first["id"] and rows[1]["orderId"] == second["id"]
    assert all(r["currency"] == "points" and r["transactionId"].isdigit() for r in rows)
    dates = [r["transactionDate"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert sum(r["amount"] for r in rows) == A.balance(cid)
    # paging and the time window
    assert body_of(A.get(f"/clients/{cid}/balance/history/?offset=1&limit=1")) == [rows[1]]
    t = rows[-1]["transactionDate"]
    assert body_of(A.get(f"/clients/{cid}/balance/history/?from={t}&to={t}"))[-1] == rows[-1]
    assert body_of(A.get(f"/clients/{cid}/balance/history/?to={t - 1}")) == []
    assert_error(A.get(f"/clients/{cid}/balance/history/?from=yesterday"), 400, field="from")
    assert_error(B.get(f"/clients/{cid}/balance/history/"), 404, code="not_found")
    assert_error(A.get("/clients/999999999/balance/history/"), 404, code="not_found")


def test_fiscal_auth(env, A):
    me = body_of(A.get("/fiscal/auth/"))
    assert me["accountType"] == "merchant" and me["email"] == OWNER_A[0] and "role" not in me
    assert me["fiscalLogin"] is None and me["fiscalApiKey"] is None
    email = f"{uniq('who')}@example.com"
    body_of(A.post("/employees/", {"email": email, "password": "who-pass-1", "role": "manager",
                                   "firstName": "Olga"}), 201)
    emp = body_of(Session((email, "who-pass-1")).get(env.url("/fiscal/auth/")))
    assert emp["accountType"] == "employee" and emp["role"] == "manager"
    assert emp["firstName"] == "Olga" and emp["merchantId"] == me["merchantId"]


def test_update_client(A, B):
    phone = new_phone()
    cl = A.create_client(phone=phone, email=f"{uniq('u')}@example.com", name="Old")
    upd = body_of(A.put(f"/clients/{cl['id']}/", {"name": "New", "phone": "+7 (912) 000-00-99"}))
    assert upd["name"] == "New" and upd["phone"] == "79120000099" and upd["email"] == cl["email"]
    assert upd["token"] == cl["token"] and upd == body_of(A.get(f"/clients/{cl['id']}/"))
    upd = body_of(A.put(f"/clients/{cl['id']}/", {"email": None, "avatarUrl": "https://x.example/a.png"}))
    assert upd["email"] is None and upd["avatarUrl"] == "https://x.example/a.png"
    assert_error(A.put(f"/clients/{cl['id']}/", {"phone": ""}), 400, code="validation_failed", field="phone")
    other = A.create_client(phone=new_phone())
    assert_error(A.put(f"/clients/{cl['id']}/", {"phone": other["phone"]}), 409, code="client_conflict")
    assert_error(A.put(f"/clients/{cl['id']}/", {"email": "bad"}), 400, field="email")
    assert_error(B.put(f"/clients/{cl['id']}/", {"name": "Mine"}), 404, code="not_found")
    assert body_of(A.get(f"/clients/{cl['id']}/"))["name"] == "New"


BIRTHDAY_RULE = "birthday: must be a real date as YYYY-MM-DD from 1900-01-01 to today (UTC), or null to clear it"


def test_update_client_birthday(A, B):
    """PUT /clients/{ref}/ sets `birthday` by the join page's rule (a real date, YYYY-MM-DD, not
    in the future; null clears it); a PUT without it keeps it."""
    cl = A.create_client(phone=new_phone(), name="Vera")
    assert cl["birthday"] is None
    upd = body_of(A.put(f"/clients/{cl['id']}/", {"birthday": "1990-02-28"}))
    assert upd["birthday"] == "1990-02-28" and upd["name"] == "Vera" and upd["phone"] == cl["phone"]
    assert body_of(A.get(f"/clients/{cl['token']}/"))["birthday"] == "1990-02-28"
    # by token, a leap day, and the oldest date taken
    assert body_of(A.put(f"/clients/{cl['token']}/", {"birthday": "2000-02-29"}))["birthday"] == "2000-02-29"
    assert body_of(A.put(f"/clients/{cl['id']}/", {"birthday": "1900-01-01"}))["birthday"] == "1900-01-01"
    # today (the UTC day; the server's is never earlier) is taken; the day after tomorrow is not
    now = datetime.datetime.now(datetime.timezone.utc).date()
    assert body_of(A.put(f"/clients/{cl['id']}/", {"birthday": now.isoformat()}))["birthday"] == now.isoformat()
    later = (now + datetime.timedelta(days=2)).isoformat()
    bad = ["1991-02-29", "1900-02-29", "1990-04-31", "1990-13-01", "1990-00-10", "1990-01-00", "1899-12-31",
           "2990-01-01", later, "28.02.1990", "1990-2-28", "1990-02-28T00:00:00Z", " 1990-02-28",
           "19900228", "", "вчера", 19900228, True, ["1990-02-28"], {"date": "1990-02-28"}]
    A.put(f"/clients/{cl['id']}/", {"birthday": "1985-04-03"})
    for value in bad:
        body = assert_error(A.put(f"/clients/{cl['id']}/", {"birthday": value, "name": "Changed"}), 400,
                            code="validation_failed", field="birthday")
        assert body["message"] == BIRTHDAY_RULE, value
    # nothing of a refused PUT is kept
    got = body_of(A.get(f"/clients/{cl['id']}/"))
    assert got["birthday"] == "1985-04-03" and got["name"] == "Vera"
    # other fields leave it alone; null clears it
    assert body_of(A.put(f"/clients/{cl['id']}/", {"name": "Vera K."}))["birthday"] == "1985-04-03"
    upd = body_of(A.put(f"/clients/{cl['id']}/", {"birthday": None}))
    assert upd["birthday"] is None and upd["name"] == "Vera K."
    assert body_of(A.get(f"/clients/{cl['id']}/"))["birthday"] is None
    # another merchant's client is unknown, whatever the birthday
    assert_error(B.put(f"/clients/{cl['id']}/", {"birthday": "1990-02-28"}), 404, code="not_found")
    assert body_of(A.get(f"/clients/{cl['id']}/"))["birthday"] is None


def test_find_a_scanned_coupon(A, B):
    cl = A.create_client(phone=new_phone())
    cat = A.catalog_coupon(title="Scan me")
    ci = A.issue(cl["id"], cat["id"])
    for kind, token in (("linked", ci["token"]), ("shared", ci["shareToken"]),
                        ("merchant", ci["merchantToken"]), ("merchant", ci["merchantShareToken"])):
        found = body_of(A.get(f"/clients/coupons/?type={kind}&token={token}"))
        assert found["client"]["id"] == cl["id"] and found["coupons"]["id"] == ci["id"]
        assert_error(B.get(f"/clients/coupons/?type={kind}&token={token}"), 404, code="not_found")
    assert_error(A.get(f"/clients/coupons/?type=shared&token={ci['token']}"), 404)
    assert_error(A.get(f"/clients/coupons/?type=linked&token={ci['merchantToken']}"), 400, field="token")
    assert_error(A.get(f"/clients/coupons/?type=qr&token={ci['token']}"), 400, field="type")
    assert_error(A.get("/clients/coupons/?type=merchant"), 400, field="token")
    # once redeemed it is no longer found
    A.order(sale(phone=cl["phone"], coupons=[ci["id"]]))
    assert_error(A.get(f"/clients/coupons/?type=linked&token={ci['token']}"), 404)
