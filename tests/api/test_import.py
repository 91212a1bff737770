# Customer import and export, and manual balance adjustments (issue 14; API.md 2.5-2.7): a CSV
# of customers with opening balances previewed with every row's problem, applied once per file
# in one transaction; files in the encodings and shapes spreadsheets write, and garbage; the
# streamed CSV exports; tenancy and roles. Env.close runs `kopilkad check` after each module.
import csv
import io
import os
from decimal import Decimal

from conftest import (Session, assert_error, body_of, new_phone, raw, sale, uniq)

IMPORT = "/imports/clients/"


def upload(api, data, content_type="text/csv", **kw):
    return api.s.post(api.url(IMPORT), data=data, headers={"Content-Type": content_type}, **kw)


def preview(api, data, content_type="text/csv"):
    return body_of(upload(api, data, content_type))


def apply(api, import_id, body=None, **kw):
    return api.post(f"{IMPORT}{import_id}/apply/", body, **kw)


def export(api, kind="clients", **params):
    """The rows of an export (header first), parsed back as CSV, and the response."""
    r = api.s.get(api.url(f"/exports/{kind}.csv"), params=params, stream=True)
    data = b"".join(r.iter_content(65536))
    assert r.status_code == 200, data[:500]
    assert data.startswith(b"\xef\xbb\xbf")
    sep = {"comma": ",", "tab": "\t"}.get(params.get("sep"), ";")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=sep))
    return rows, r


def client_rows(api):
    """{phone: (id, email, name, balance)} of every client of the merchant, through the export."""
    rows, _ = export(api)
    assert rows[0] == ["id", "phone", "email", "name", "balance", "created"]
    return {r[1]: (int(r[0]), r[2], r[3], Decimal(r[4])) for r in rows[1:]}


# ---- the preview lists every problem; apply creates exactly what the file says ----

BAD_ROWS = {
    # data row index -> (the cells phone, email, name, points, expires; the fields at fault)
    10: (["12345", "", "short phone", "1", ""], {"phone"}),
    20: (["{p}", "not-an-email", "bad email", "1", ""], {"email"}),
    30: (["{p}", "", "bad points", "abc", ""], {"points"}),
    40: (["{p}", "", "too precise", "1.234", ""], {"points"}),
    50: (["{p}", "", "negative", "-5", ""], {"points"}),
    60: (["{p}", "", "bad date", "10", "2030-13-01"], {"expires"}),
    70: (["{p}", "", "past date", "10", "01.01.2020"], {"expires"}),
    80: (["", "", "nobody", "10", ""], {"phone"}),
    90: (["{dup_phone}", "", "duplicate phone", "1", ""], {"phone"}),
    95: (["{p}", "{dup_email}", "duplicate email", "1", ""], {"email"}),
}


def thousand_rows():
    """A 1,000-row file (semicolons, Russian header) and what each valid row should become."""
    lines = ["телефон;email;имя;баллы;срок"]
    want = {}
    first_phone = first_email = None
    for i in range(1000):
        phone = new_phone()
        email = f"{uniq('imp')}@example.com".lower()
        if i == 0:
            first_phone, first_email = phone, email
        if i in BAD_ROWS:
            cells = [c.format(p=phone, dup_phone=first_phone, dup_email=first_email)
                     for c in BAD_ROWS[i][0]]
        else:
            points = f"{i}.{i % 100:02d}" if i % 2 else str(i)
            expires = "31.12.2099" if i % 3 == 0 else ""
            cells = [phone, email, f"Клиент {i}", points, expires]
            want[phone] = (email, f"Клиент {i}", Decimal(points))
        lines.append(";".join(cells))
    return ("\n".join(lines) + "\n").encode(), want


def test_a_thousand_rows_preview_apply_and_apply_again(env, A):
    data, want = thousand_rows()
    before = client_rows(A)
    p = preview(A, data)
    assert p["status"] == "preview" and p["separator"] == ";" and p["encoding"] == "utf-8"
    assert p["rows"] == 1000 and p["valid"] == 990
    assert p["columns"]["phone"] == "телефон" and p["columns"]["points"] == "баллы"
    # every problem, with its line (the header is line 1: data row i is line i + 2) and field
    got = {(q["line"], q["field"]) for q in p["problems"]}
    expected = {(i + 2, f) for i, (_, fields) in BAD_ROWS.items() for f in fields}
    assert got == expected, p["problems"]
    assert p["problemCount"] == len(p["problems"]) == len(expected)
    assert sum(Decimal(raw(s["points"])) for s in p["sample"] if s["valid"]) >= 0
    assert Decimal(raw(p["points"])) == sum(v[2] for v in want.values())
    # nothing created by the preview
    assert client_rows(A) == before

    state = body_of(A.get(f"{IMPORT}{p['importId']}/"))
    assert state["status"] == "preview" and state["done"] == 0 and state["total"] == 990

    # problems remain: refused, nothing written
    assert_error(apply(A, p["importId"]), 409, code="import_has_problems")
    assert client_rows(A) == before

    res = body_of(apply(A, p["importId"], {"skipProblems": True}))
    assert res["status"] == "applied" and res["created"] == 990 and res["skipped"] == 10
    after = client_rows(A)
    assert len(after) == len(before) + 990
    for phone, (email, name, points) in want.items():
        _id, got_email, got_name, balance = after[phone]
        assert (got_email, got_name, balance) == (email, name, points), phone
    assert env.check().returncode == 0

    # the opening row is in the history with its reason
    some_phone = next(ph for ph, v in want.items() if v[2] > 0)
    hist = body_of(A.get(f"/clients/{after[some_phone][0]}/balance/history/"))
    assert [(h["type"], h.get("reason")) for h in hist] == [("opening", f"import {p['importId']}")]

    # again: the same answer, nothing new; the same bytes uploaded again: the applied import
    assert body_of(apply(A, p["importId"], {"skipProblems": True})) == res
    assert body_of(apply(A, p["importId"])) == res
    again = preview(A, data)
    assert again["importId"] == p["importId"] and again["status"] == "applied"
    assert again["result"] == res
    assert client_rows(A) == after
    state = body_of(A.get(f"{IMPORT}{p['importId']}/"))
    assert state["status"] == "applied" and state["done"] == state["total"] == 990
    assert state["result"] == res


def test_apply_without_problems_and_expiry(env, A):
    phones = [new_phone() for _ in range(3)]
    data = ("phone,points,expires\n"
            f"{phones[0]},10.5,2099-01-31\n{phones[1]},0,\n{phones[2]},7,\n").encode()
    p = preview(A, data)
    assert p["separator"] == "," and p["valid"] == 3 and p["problems"] == []
    assert [s["expires"] for s in p["sample"]] == ["2099-01-31", None, None]
    res = body_of(apply(A, p["importId"]))
    assert res["created"] == 3 and res["skipped"] == 0
    assert Decimal(raw(res["points"])) == Decimal("17.5")
    rows = client_rows(A)
    assert [rows[ph][3] for ph in phones] == [Decimal("10.5"), 0, 7]
    # a client without points has no ledger row
    assert body_of(A.get(f"/clients/{rows[phones[1]][0]}/balance/history/")) == []


def test_existing_clients_are_problems_not_changed(env, A):
    phone = new_phone()
    existing = A.create_client(phone=phone, name="Original")
    fresh = new_phone()
    data = f"phone;name;points\n{phone};Other;50\n{fresh};New;5\n".encode()
    p = preview(A, data)
    assert [(q["line"], q["field"]) for q in p["problems"]] == [(2, "phone")]
    assert str(existing["id"]) in p["problems"][0]["message"]
    res = body_of(apply(A, p["importId"], {"skipProblems": True}))
    assert res["created"] == 1 and res["skipped"] == 1
    assert A.client(phone)["name"] == "Original" and A.balance(existing["id"]) == 0
    assert A.client(fresh)["name"] == "New"


def test_a_clash_made_after_the_preview_is_caught_at_apply(env, A):
    phone = new_phone()
    p = preview(A, f"phone;points\n{phone};5\n".encode())
    assert p["valid"] == 1
    A.create_client(phone=phone)
    assert_error(apply(A, p["importId"]), 409, code="import_has_problems")
    res = body_of(apply(A, p["importId"], {"skipProblems": True}))
    assert res["created"] == 0 and res["skipped"] == 1


# ---- files as spreadsheets write them ----

def test_utf8_bom_file(env, A):
    phone = new_phone()
    data = "\ufeffphone,name,points\n".encode() + f"{phone},Анна,3\n".encode()
    p = preview(A, data)
    assert p["encoding"] == "utf-8 with BOM" and p["columns"]["phone"] == "phone" and p["valid"] == 1
    body_of(apply(A, p["importId"]))
    assert A.client(phone)["name"] == "Анна"


def test_windows_1251_file_with_cyrillic_names(env, A):
    phone = new_phone()
    name = "Ёжиков Сергей Юрьевич"
    data = f"Телефон;ФИО;Баллы\r\n{phone};{name};1 234,50\r\n".encode("cp1251")
    p = preview(A, data)
    assert p["encoding"] == "windows-1251" and p["separator"] == ";" and p["valid"] == 1
    assert p["sample"][0]["name"] == name
    body_of(apply(A, p["importId"]))
    c = A.client(phone)
    assert c["name"] == name
    assert A.balance(c["id"]) == Decimal("1234.50")


def test_quoted_fields_with_newlines_separators_and_quotes(env, A):
    phones = [new_phone(), new_phone()]
    data = (f'phone;name\n{phones[0]};"Иван\nИванов; мл."\n'
            f'{phones[1]};"Say ""hi"""\n').encode()
    p = preview(A, data)
    assert p["valid"] == 2 and [s["line"] for s in p["sample"]] == [2, 4]
    body_of(apply(A, p["importId"]))
    assert A.client(phones[0])["name"] == "Иван\nИванов; мл."
    assert A.client(phones[1])["name"] == 'Say "hi"'


def test_tab_separated_and_multipart(env, A):
    email = uniq("tab") + "@example.com"
    data = f"email\tname\n{email}\tTab\n".encode()
    r = A.s.post(A.url(IMPORT), files={"file": ("clients.csv", data, "text/csv")})
    p = body_of(r)
    assert p["separator"] == "\t" and p["valid"] == 1
    assert body_of(apply(A, p["importId"]))["created"] == 1


def test_garbage_is_refused_with_a_clear_message_and_nothing_created(env, A):
    before = client_rows(A)
    r = upload(A, os.urandom(10 * 1024 * 1024))
    body = assert_error(r, 400, code="invalid_csv", field="file")
    assert "not a CSV text file" in body["message"] or "neither UTF-8" in body["message"]
    cases = [
        ("phone\n7912".encode("utf-16"), "UTF-16"),
        (b"", "empty"),
        (b'phone;name\n79120000000;"never closed\n', "never closed"),
        (b"foo;bar\n1;2\n", "no phone or email column"),
        (b"phone;phone\n1;2\n", "two columns"),
        (b"phone\n\n\n", "no customer rows"),
        (b"\xef\xbb\xbfphone\n\xff\xfe\n", "not valid UTF-8"),
    ]
    for data, words in cases:
        body = assert_error(upload(A, data), 400, code="invalid_csv", field="file")
        assert words in body["message"], (data, body)
    assert client_rows(A) == before


def test_too_many_rows_is_refused(env, A):
    data = b"phone\n" + b"".join(b"7%010d\n" % i for i in range(200001))
    body = assert_error(upload(A, data), 400, code="invalid_csv", field="file")
    assert "more than 200000 customer rows" in body["message"]


def test_size_limit_and_media_type(env, A):
    r = upload(A, b"phone\n" + b"7" * (21 * 1024 * 1024))
    assert_error(r, 413, code="payload_too_large", field="file")
    assert_error(upload(A, b'{"phone": 1}', "application/json"), 415)


# ---- roles and tenancy ----

def cashier(env, A):
    email = uniq("cashier") + "@example.com"
    body_of(A.post("/employees/", {"email": email, "password": "cashier-pass", "role": "cashier"}), 201)
    return Session((email, "cashier-pass"))


def test_cashier_is_refused(env, A):
    p = preview(A, f"phone\n{new_phone()}\n".encode())
    c = cashier(env, A)
    client = A.create_client(phone=new_phone())
    assert_error(c.post(env.url(IMPORT), data=b"phone\n79120000000\n",
                        headers={"Content-Type": "text/csv"}), 403)
    assert_error(c.get(env.url(f"{IMPORT}{p['importId']}/")), 403)
    assert_error(c.post(env.url(f"{IMPORT}{p['importId']}/apply/")), 403)
    assert_error(c.post(env.url(f"/clients/{client['id']}/balance/adjust/"),
                        json={"amount": 1, "reason": "x"}), 403)
    assert_error(c.get(env.url("/exports/clients.csv")), 403)
    assert_error(c.get(env.url("/exports/orders.csv")), 403)
    assert body_of(A.get(f"{IMPORT}{p['importId']}/"))["status"] == "preview"


def test_tenancy(env, A, B):
    phone = new_phone()
    data = f"phone;name;points\n{phone};Tenant;4\n".encode()
    pa = preview(A, data)
    assert_error(B.get(f"{IMPORT}{pa['importId']}/"), 404)
    assert_error(apply(B, pa["importId"]), 404)
    body_of(apply(A, pa["importId"]))
    # the same file is B's own import; A's client is no clash for B
    pb = preview(B, data)
    assert pb["importId"] != pa["importId"] and pb["status"] == "preview" and pb["valid"] == 1
    body_of(apply(B, pb["importId"]))
    a_client, b_client = A.client(phone), B.client(phone)
    assert a_client["id"] != b_client["id"]
    assert_error(B.post(f"/clients/{a_client['id']}/balance/adjust/", {"amount": 1, "reason": "x"}), 404)
    assert phone in client_rows(B) and all(r[0] != a_client["id"] for r in client_rows(B).values())


# ---- manual adjustments ----

def test_adjust_balance(env, A):
    c = A.create_client(phone=new_phone())
    url = f"/clients/{c['id']}/balance/adjust/"
    assert_error(A.post(url, {"amount": 10}), 400, code="validation_failed", field="reason")
    assert_error(A.post(url, {"amount": 10, "reason": "  "}), 400, field="reason")
    assert_error(A.post(url, {"amount": 0, "reason": "x"}), 400, field="amount")
    assert_error(A.post(url, {"amount": 1.001, "reason": "x"}), 400, field="amount")
    assert_error(A.post(url, {"amount": -1, "reason": "nothing there"}), 400,
                 code="insufficient_funds", field="amount")
    r = body_of(A.post(url, {"amount": 25.5, "reason": "late delivery"}))
    assert r["clientId"] == c["id"] and r["reason"] == "late delivery"
    assert A.balance(c["id"]) == Decimal("25.5")
    assert_error(A.post(url, {"amount": -30, "reason": "too much"}), 400,
                 code="insufficient_funds", field="amount")
    body_of(A.post(url, {"amount": -5.5, "reason": "duplicate accrual"}))
    assert A.balance(c["id"]) == 20
    hist = body_of(A.get(f"/clients/{c['id']}/balance/history/"))
    assert [(h["type"], raw(h["amount"]), h["reason"]) for h in hist] == [
        ("adjust", "-5.5", "duplicate accrual"), ("adjust", "25.5", "late delivery")]
    # Idempotency-Key: one row for two posts
    key = uniq("adj")
    first = A.post(url, {"amount": 1, "reason": "retry"}, headers={"Idempotency-Key": key})
    second = A.post(url, {"amount": 1, "reason": "retry"}, headers={"Idempotency-Key": key})
    assert body_of(first) == body_of(second)
    assert A.balance(c["id"]) == 21
    assert_error(A.post("/clients/999999999/balance/adjust/", {"amount": 1, "reason": "x"}), 404)
    p = env.check()
    assert p.returncode == 0, p.stdout + p.stderr


def test_adjust_spends_after_and_sales_still_work(env, A):
    phone = new_phone()
    c = A.create_client(phone=phone)
    body_of(A.post(f"/clients/{c['id']}/balance/adjust/", {"amount": 50, "reason": "gift"}))
    A.order(sale(phone=phone, amount=20))
    assert A.balance(c["id"]) <= 30 + 100  # the sale may accrue, never spend past the gift
    assert env.check().returncode == 0


# ---- exports ----

def test_orders_export_rows(env, A):
    phone = new_phone()
    A.create_client(phone=phone)
    made = [A.order(sale(phone=phone)) for _ in range(3)]
    rows, r = export(A, "orders", sep="comma")
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "orders.csv" in r.headers["Content-Disposition"]
    assert rows[0][:5] == ["id", "number", "external_id", "date", "type"]
    ids = [int(x[0]) for x in rows[1:]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    mine = [x for x in rows[1:] if x[5] == str(A.client(phone)["id"])]
    assert len(mine) == len(made) and {x[4] for x in mine} == {"sale"}
    assert {x[14] for x in mine} == {"paid"}
    assert_error(A.get("/exports/orders.csv", params={"sep": "pipe"}), 400, field="sep")


def test_streamed_export_of_many_clients(env, A):
    n = 5000
    phones = [new_phone() for _ in range(n)]
    data = ("phone;name;points\n" + "".join(f"{p};Many {i};{i % 7}\n" for i, p in enumerate(phones))).encode()
    p = preview(A, data)
    body_of(apply(A, p["importId"]))
    rows, r = export(A, "clients")
    assert r.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.headers
    got = {row[1]: row for row in rows[1:]}
    assert all(ph in got for ph in phones)
    assert [Decimal(got[ph][4]) for ph in phones] == [Decimal(i % 7) for i in range(n)]
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    tab_rows, r = export(A, "clients", sep="tab")
    assert r.headers["Content-Type"].startswith("text/tab-separated-values")
    assert len(tab_rows) == len(rows)
    # with more clients than a small file's rows, clashes are looked up one by one
    fresh = new_phone()
    p = preview(A, f"phone\n{fresh}\n{phones[-1]}\n".encode())
    assert [(q["line"], q["field"]) for q in p["problems"]] == [(3, "phone")]
    assert got[phones[-1]][0] in p["problems"][0]["message"] and p["valid"] == 1


def test_check_finds_an_adjust_row_without_a_reason(env, A):
    """kopilkad check knows the new row types: a manual row without a reason is reported."""
    if env.engine != "sqlite":
        return
    import sqlite3
    c = A.create_client(phone=new_phone())
    body_of(A.post(f"/clients/{c['id']}/balance/adjust/", {"amount": 3, "reason": "x"}))
    db = sqlite3.connect(env.db, timeout=30)
    try:
        with db:
            db.execute("UPDATE ledger SET reason = NULL WHERE client_id = ? AND type = 7", (c["id"],))
        p = env.check()
        assert p.returncode != 0 and "no reason" in p.stdout + p.stderr, p.stdout + p.stderr
    finally:
        with db:
            db.execute("UPDATE ledger SET reason = 'x' WHERE client_id = ? AND type = 7", (c["id"],))
        db.close()
    assert env.check().returncode == 0


def test_export_quotes_and_defuses_formulas(env, A):
    phone = new_phone()
    A.create_client(phone=phone, name='=HYPERLINK("x");2')
    rows = client_rows(A)
    assert rows[phone][2] == "'=HYPERLINK(\"x\");2"
