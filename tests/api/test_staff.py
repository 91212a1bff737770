"""Staff and API keys (API.md 5, 6) and the role matrix: the table of docs/API.md is walked
cell by cell against the server, and must list exactly the server's authenticated routes."""
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import (KOPILKAD, OWNER_A, OWNER_B, REPO, Session, assert_error, body_of, new_phone,
                      uniq)


def employee(A, role="cashier", **fields):
    body = {"email": f"{uniq('emp')}@example.com", "password": "staff-pass-1", "role": role}
    body.update(fields)
    return body_of(A.post("/employees/", body), 201), body


def can(env, login, password):
    return Session((login, password)).get(env.url("/clients/")).status_code


def test_create_list_login_update_delete(env, A):
    e, body = employee(A, firstName="Ivan", inn="7707083893", phone="+7 (999) 111-22-33")
    assert e["role"] == "cashier" and re.fullmatch(r"\d{6}", e["login"])
    assert e["phone"] == "79991112233" and e["inn"] == "7707083893" and e["lastName"] is None
    assert "password" not in e
    assert e in body_of(A.get("/employees/"))
    # the employee logs in by email (any case) and by phone
    assert can(env, body["email"].upper(), "staff-pass-1") == 200
    assert can(env, "8 999 111 22 33", "staff-pass-1") == 200
    # a new password works at once and the old one no longer does (same node: cache forgotten)
    upd = body_of(A.put(f"/employees/{e['id']}/", {"password": "staff-pass-2", "lastName": "Petrov"}))
    assert upd["lastName"] == "Petrov" and upd["firstName"] == "Ivan" and upd["login"] == e["login"]
    assert can(env, body["email"], "staff-pass-1") == 401
    assert can(env, body["email"], "staff-pass-2") == 200
    r = A.delete(f"/employees/{e['id']}/")
    assert r.status_code == 204
    assert can(env, body["email"], "staff-pass-2") == 401
    assert_error(A.delete(f"/employees/{e['id']}/"), 404, code="not_found")
    assert e["id"] not in [x["id"] for x in body_of(A.get("/employees/"))]
    # the freed login can be given to a new employee
    employee(A, email=body["email"])


@pytest.mark.parametrize("fields,field", [
    ({"role": "boss"}, "role"),
    ({"password": "short"}, "password"),
    ({"password": None}, "password"),
    ({"email": None}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"inn": "12345"}, "inn"),
    ({"role": None}, "role"),
])
def test_employee_validation(A, fields, field):
    body = {"email": f"{uniq('v')}@example.com", "password": "staff-pass-1", "role": "cashier"}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(A.post("/employees/", body), 400, code="validation_failed", field=field)


def test_a_login_is_one_account(A, B):
    _, body = employee(A)
    for api, email in ((A, body["email"]), (B, body["email"].upper()), (A, OWNER_B[0])):
        assert_error(api.post("/employees/", {"email": email, "password": "x-password", "role": "cashier"}),
                     409, code="login_conflict")


def test_another_merchants_employee_is_not_found(A, B):
    e, _ = employee(A)
    assert_error(B.put(f"/employees/{e['id']}/", {"firstName": "X"}), 404, code="not_found")
    assert_error(B.delete(f"/employees/{e['id']}/"), 404, code="not_found")
    assert e["id"] not in [x["id"] for x in body_of(B.get("/employees/"))]


def test_api_keys(env, A, B):
    r = A.post_raw("/api_keys/", b"", content_type=None)  # a POST without a body
    key = body_of(r, 201)
    assert re.fullmatch(r"kpk_\d+_[0-9a-f]{32}", key["key"])
    assert can(env, OWNER_A[0], key["key"]) == 200
    assert can(env, OWNER_B[0], key["key"]) == 401  # a key is its account's, not anyone's
    listed = body_of(A.get("/api_keys/"))
    assert {"id": key["id"], "accountId": key["accountId"], "createdAt": key["createdAt"]} in listed
    assert key["key"] not in A.get("/api_keys/").text
    assert_error(B.delete(f"/api_keys/{key['id']}/"), 404, code="not_found")
    assert A.delete(f"/api_keys/{key['id']}/").status_code == 204
    assert can(env, OWNER_A[0], key["key"]) == 401  # revoked at once, cache included
    assert_error(A.delete(f"/api_keys/{key['id']}/"), 404, code="not_found")
    # a key for an employee; removing the employee revokes it
    e, body = employee(A)
    ek = body_of(A.post("/api_keys/", {"accountId": e["id"]}), 201)
    assert can(env, body["email"], ek["key"]) == 200
    assert A.delete(f"/employees/{e['id']}/").status_code == 204
    assert can(env, body["email"], ek["key"]) == 401
    assert_error(A.post("/api_keys/", {"accountId": 999999999}), 400, code="validation_failed",
                 field="accountId")


def docs_matrix():
    text = open(os.path.join(REPO, "docs", "API.md"), encoding="utf-8").read()
    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \| (yes|403) \| (yes|403) \| (yes|403) \|",
                      text, re.M)
    return {(m, "/ext/api/v1" + p): dict(zip(("cashier", "manager", "owner"), cells))
            for m, p, *cells in rows}


def test_docs_matrix_lists_every_authenticated_route():
    out = subprocess.run([KOPILKAD, "routes"], capture_output=True, text=True, timeout=10).stdout
    routes = {tuple(l.split(" ", 1)) for l in out.splitlines() if l.startswith(("GET", "POST", "PUT", "DELETE"))}
    public = {("GET", "/ext/api/v1/openapi.json"), ("GET", "/ext/api/v1/postman.json"),
              ("GET", "/healthz"), ("GET", "/metrics"),
              ("GET", "/docs/"), ("GET", "/docs/{file}"), ("GET", "/r/{file}"), ("POST", "/r/{file}"),
              ("GET", "/c/{file}"), ("GET", "/c/{token}/pass.pkpass"), ("GET", "/c/{token}/gwallet"),
              # Apple's PassKit web service: by the pass's own token (test_wallet_passkit.py)
              ("POST", "/wallet/v1/devices/{rest}"), ("DELETE", "/wallet/v1/devices/{rest}"),
              ("GET", "/wallet/v1/devices/{rest}"), ("GET", "/wallet/v1/passes/{rest}"),
              ("POST", "/wallet/v1/log"),
              # the join page (docs/CARD.md, "Joining"; test_enrol.py)
              ("GET", "/j/{file}"), ("POST", "/j/{file}"), ("GET", "/j/{code}/confirm"),
              ("POST", "/j/{code}/confirm"),
              ("GET", "/ext/api/v1/media/{file}"), ("GET", "/lk/"), ("GET", "/lk/assets/{file}"),
              # the cabinet's session: by the cookie itself, whatever the role (test_lk_session.py)
              ("POST", "/ext/api/v1/session/"), ("GET", "/ext/api/v1/session/"),
              ("DELETE", "/ext/api/v1/session/")}
    assert set(docs_matrix()) == routes - public


def test_role_matrix_every_cell(env, A):
    logins = {"owner": OWNER_A}
    for role in ("cashier", "manager"):
        _, body = employee(A, role=role)
        logins[role] = (body["email"], body["password"])
    matrix = docs_matrix()
    assert matrix
    for (method, path), cells in sorted(matrix.items()):
        url = env.base.replace("/ext/api/v1", "") + path.replace("{id}", "999999999").replace("{ref}", "999999999").replace(
            "{eventId}", "evt_" + "0" * 32)
        for role, expected in cells.items():
            kw = {"json": {}} if method in ("POST", "PUT") else {}
            r = Session(logins[role]).request(method, url, **kw)
            if expected == "403":
                assert_error(r, 403, code="forbidden")
            else:
                assert r.status_code != 403, f"{role} refused on {method} {path}: {r.text}"
                assert r.status_code not in (401, 500), f"{method} {path} as {role}: {r.text}"


# --- Revocation while a check is in flight (issue 12 B2) --------------------------------------
# A check that read the account before a revocation and finished after it must not authenticate
# (nor put its result into the credential cache). The test hook --test-auth-pause-file holds a
# verification while the file exists and logs that it does, so the test waits for that state,
# revokes, waits for the revoking answer, and only then lets the check finish.

PAUSED = "auth: test hook: a verification is paused"


@pytest.fixture
def pausable(env, A, tmp_path):
    pause = tmp_path / "pause-auth"
    env.restart("--test-auth-pause-file", str(pause))
    try:
        yield pause
    finally:
        if pause.exists():
            pause.unlink()
        env.restart()


def paused_count(env):
    with open(env.server.log_path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if PAUSED in line)


class InFlight:
    """A request whose credential check is paused by the test hook, in a thread of its own."""

    def __init__(self, env, pause, auth, method, path, **kw):
        self.pause, self.answer = pause, None
        body_of(env.a.get("/loyalty/settings/"))  # the owner's credential is cached: no pause for it
        before = paused_count(env)
        pause.write_text("")

        def run():
            self.answer = Session(auth).request(method, env.url(path), **kw)

        self.thread = threading.Thread(target=run)
        self.thread.start()
        deadline = time.monotonic() + 30
        while paused_count(env) == before:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the check never paused"
            time.sleep(0.02)

    def finish(self):
        self.pause.unlink()
        self.thread.join(timeout=60)
        assert self.answer is not None, "the paused request never finished"
        return self.answer


def owner(env):
    """The owner on a new connection: the paused check blocks its HTTP thread, and with it every
    connection that thread serves (a kept-alive one may be among them)."""
    return Session(OWNER_A)


def staff(A, role="manager"):
    e, body = employee(A, role=role, phone=new_phone())
    return e, (body["email"], body["password"])


@pytest.mark.parametrize("path", ["/clients/", "/fiscal/auth/"])
def test_a_deleted_employee_in_flight_is_refused(env, A, pausable, path):
    e, cred = staff(A)
    flight = InFlight(env, pausable, (cred[0], cred[1]), "GET", path)
    assert owner(env).delete(env.url(f"/employees/{e['id']}/")).status_code == 204
    assert_error(flight.finish(), 401, code="unauthorized")  # was 200 (and 500 on /fiscal/auth/)
    for login in (cred[0], e["phone"]):
        assert can(env, login, cred[1]) == 401


def test_a_password_changed_in_flight_is_refused(env, A, pausable):
    e, cred = staff(A)
    flight = InFlight(env, pausable, cred, "GET", "/clients/")
    body_of(owner(env).put(env.url(f"/employees/{e['id']}/"), json={"password": "staff-pass-new"}))
    assert_error(flight.finish(), 401, code="unauthorized")
    assert can(env, *cred) == 401
    assert can(env, cred[0], "staff-pass-new") == 200


def test_a_role_changed_in_flight_takes_effect(env, A, pausable):
    e, cred = staff(A, role="manager")
    flight = InFlight(env, pausable, cred, "PUT", "/loyalty/settings/", json={})
    body_of(owner(env).put(env.url(f"/employees/{e['id']}/"), json={"role": "cashier"}))
    assert_error(flight.finish(), 403, code="forbidden")  # judged with the new role
    assert_error(Session(cred).put(env.url("/loyalty/settings/"), json={}), 403, code="forbidden")
    assert can(env, *cred) == 200  # still a cashier


def test_an_api_key_revoked_in_flight_is_refused(env, A, pausable):
    e, cred = staff(A)
    key = body_of(A.post("/api_keys/", {"accountId": e["id"]}), 201)["key"]
    flight = InFlight(env, pausable, (cred[0], key), "GET", "/clients/")
    assert owner(env).delete(env.url(f"/api_keys/{key.split('_')[1]}/")).status_code == 204
    assert_error(flight.finish(), 401, code="unauthorized")
    assert can(env, cred[0], key) == 401
    assert can(env, *cred) == 200  # the password is untouched
