"""The merchant cabinet's sign-in (issue 14, API.md "The cabinet's session"): POST /session/ with
an account's login and password sets the kopilka_lk cookie and answers a CSRF token; every other
route takes the cookie only with that token in X-CSRF-Token; DELETE /session/ signs out;
sessions end when idle, when their account's password or role changes or it is removed; a
failed sign-in counts like a failed Basic auth (one lockout); Basic auth and API keys work as
before. Each test that needs its own settings runs its own server on the module's engine."""
import re
import time

import pytest

from conftest import (OWNER_A, OWNER_B, Server, Session, assert_error, body_of, describe, init_merchant,
                      run_cli, uniq)

COOKIE = "kopilka_lk"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def cookie_parts(r):
    """The Set-Cookie header of r as (value of kopilka_lk, {attribute lower-cased: value})."""
    raw = r.headers.get("Set-Cookie")
    assert raw, "no Set-Cookie" + describe(r)
    parts = [p.strip() for p in raw.split(";")]
    name, _, value = parts[0].partition("=")
    assert name == COOKIE, describe(r)
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v
    return value, attrs


def sign_in(env, login, password, headers=None, status=200):
    with Session() as s:
        r = s.post(env.url("/session/"), json={"login": login, "password": password},
                   headers=headers or {})
    if status != 200:
        return r
    body = body_of(r)
    token, attrs = cookie_parts(r)
    assert TOKEN.match(token), describe(r)
    assert TOKEN.match(body["csrf_token"]), describe(r)
    return {"cookie": token, "csrf": body["csrf_token"], "body": body, "attrs": attrs, "r": r}


def call(env, method, path, sess=None, csrf=True, auth=None, **kw):
    """One request with the session's cookie (and, unless csrf is False, its token; a string
    sends that token instead). A fresh client each time: nothing is carried over."""
    headers = dict(kw.pop("headers", {}))
    if sess is not None:
        headers["Cookie"] = f"{COOKIE}={sess['cookie']}"
        if csrf is True:
            headers["X-CSRF-Token"] = sess["csrf"]
        elif csrf:
            headers["X-CSRF-Token"] = csrf
    with Session(auth) as s:
        return s.request(method, env.url(path), headers=headers, **kw)


def employee(env, role):
    login = f"{uniq('lk')}@example.com"
    e = body_of(env.a.post("/employees/", {"email": login, "password": "staff-pass-1", "role": role}), 201)
    return e, (login, "staff-pass-1")


def test_owner_manager_and_cashier_sign_in(env):
    s = sign_in(env, OWNER_A[0].upper(), OWNER_A[1])
    assert s["body"] == {"login": OWNER_A[0], "role": "owner",
                         "merchant": {"id": env.merchant_a, "name": "Merchant A"},
                         "csrf_token": s["csrf"], "idle_timeout_s": 1800}
    for role in ("manager", "cashier"):
        e, (login, password) = employee(env, role)
        got = sign_in(env, login, password)["body"]
        assert got["role"] == role and got["login"] == login, got
        assert got["merchant"] == {"id": env.merchant_a, "name": "Merchant A"}
    # two sign-ins are two sessions with their own tokens
    s2 = sign_in(env, *OWNER_A)
    assert s2["cookie"] != s["cookie"] and s2["csrf"] != s["csrf"]
    # GET /session/ answers the same body (the token included) with the cookie and the token
    assert body_of(call(env, "GET", "/session/", s)) == s["body"]


def test_cookie_attributes_on_plain_http(env):
    s = sign_in(env, *OWNER_A)
    attrs = s["attrs"]
    assert attrs == {"path": "/", "httponly": "", "samesite": "Strict"}, s["r"].headers["Set-Cookie"]
    # a proxy's X-Forwarded-Proto from an address not in --trusted-proxy (none here) is not believed
    s = sign_in(env, *OWNER_A, headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in s["attrs"]


def test_secure_only_behind_a_trusted_proxy(make_env):
    trusted = make_env("--trusted-proxy", "10.1.2.3, 127.0.0.1")
    s = sign_in(trusted, *OWNER_A, headers={"X-Forwarded-Proto": "https"})
    assert s["attrs"] == {"path": "/", "httponly": "", "samesite": "Strict", "secure": ""}
    assert "secure" not in sign_in(trusted, *OWNER_A, headers={"X-Forwarded-Proto": "http"})["attrs"]
    assert "secure" not in sign_in(trusted, *OWNER_A)["attrs"]
    untrusted = make_env("--trusted-proxy", "10.1.2.3")
    assert "secure" not in sign_in(untrusted, *OWNER_A, headers={"X-Forwarded-Proto": "https"})["attrs"]


def test_a_bad_trusted_proxy_setting_stops_serve(tmp_path):
    db = str(tmp_path / "k.db")
    init_merchant(db, *OWNER_A)
    p = run_cli("serve", "--db", db, "--listen", "127.0.0.1:1", "--trusted-proxy", "127.0.0.1,proxy.local")
    assert p.returncode == 2 and "--trusted-proxy" in p.stderr and "proxy.local" in p.stderr, p.stderr


def test_cookie_with_token_reads_and_writes(env):
    s = sign_in(env, *OWNER_A)
    assert isinstance(body_of(call(env, "GET", "/clients/", s)), list)
    c = body_of(call(env, "POST", "/clients/", s, json={"phone": "79990001122"}), 201)
    assert body_of(call(env, "GET", f"/clients/{c['id']}/", s))["id"] == c["id"]
    # the same client through Basic auth: the cookie acted as the owner of merchant A
    assert body_of(env.a.get(f"/clients/{c['id']}/"))["id"] == c["id"]
    assert_error(env.b.get(f"/clients/{c['id']}/"), 404)


def test_cookie_without_or_with_a_wrong_token_is_403(env):
    s = sign_in(env, *OWNER_A)
    for method, path, kw in (("GET", "/clients/", {}), ("POST", "/clients/", {"json": {"phone": "79990002233"}}),
                             ("GET", "/session/", {}), ("DELETE", "/session/", {})):
        assert_error(call(env, method, path, s, csrf=False, **kw), 403, code="csrf_failed", field="X-CSRF-Token")
        assert_error(call(env, method, path, s, csrf="x" * 43, **kw), 403, code="csrf_failed",
                     field="X-CSRF-Token")
    # another session's token is a wrong token
    other = sign_in(env, *OWNER_A)
    assert_error(call(env, "GET", "/clients/", s, csrf=other["csrf"]), 403, code="csrf_failed")
    # nothing was written by the refused POSTs, and the session still works
    assert body_of(env.a.get("/clients/", params={"phone": "79990002233"})) == []
    assert body_of(call(env, "GET", "/session/", s))["role"] == "owner"


def test_no_session_is_401_without_a_basic_challenge(env):
    # the cabinet's calls (a cookie or X-CSRF-Token, no Authorization) never get the challenge
    # that would make a browser show its own login dialog
    for headers in ({"Cookie": f"{COOKIE}={'A' * 43}", "X-CSRF-Token": "x"},
                    {"X-CSRF-Token": "x"}, {"Cookie": f"{COOKIE}=garbage"},
                    {"Cookie": f"a=1; {COOKIE}={'x' * 3000}"}):
        for method, path in (("GET", "/clients/"), ("GET", "/session/"), ("DELETE", "/session/")):
            r = call(env, method, path, headers=headers)
            assert_error(r, 401, code="unauthorized")
            assert "WWW-Authenticate" not in r.headers, describe(r)
    r = call(env, "GET", "/session/")
    assert_error(r, 401, code="unauthorized")
    # an API call with no cookie keeps its Basic challenge
    r = call(env, "GET", "/clients/")
    assert_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Basic"), describe(r)


def test_cashier_by_cookie_has_the_cashiers_routes_only(env):
    _, cashier = employee(env, "cashier")
    _, manager = employee(env, "manager")
    s = sign_in(env, *cashier)
    assert body_of(call(env, "GET", "/loyalty/settings/", s))
    for method, path, kw in (("GET", "/employees/", {}), ("GET", "/api_keys/", {}),
                             ("PUT", "/loyalty/settings/", {"json": {"active": True}})):
        assert_error(call(env, method, path, s, **kw), 403, code="forbidden")
        # as Basic auth answers the same account
        assert_error(call(env, method, path, auth=cashier, **kw), 403, code="forbidden")
    m = sign_in(env, *manager)
    assert_error(call(env, "GET", "/employees/", m), 403, code="forbidden")
    body_of(call(env, "PUT", "/loyalty/settings/", m, json={"active": False}))
    o = sign_in(env, *OWNER_A)
    assert isinstance(body_of(call(env, "GET", "/employees/", o)), list)


def test_sign_out(env):
    s = sign_in(env, *OWNER_A)
    keep = sign_in(env, *OWNER_A)
    r = call(env, "DELETE", "/session/", s)
    assert r.status_code == 204 and r.content == b"", describe(r)
    value, attrs = cookie_parts(r)
    assert value == "" and attrs.get("max-age") == "0" and attrs.get("path") == "/", r.headers["Set-Cookie"]
    assert_error(call(env, "GET", "/clients/", s), 401, code="unauthorized")
    assert_error(call(env, "GET", "/session/", s), 401, code="unauthorized")
    assert_error(call(env, "DELETE", "/session/", s), 401, code="unauthorized")
    # another session of the same account lives on
    assert body_of(call(env, "GET", "/session/", keep))["role"] == "owner"


def test_bad_sign_ins(env):
    assert_error(call(env, "POST", "/session/", json={"password": "x"}), 400, code="validation_failed",
                 field="login")
    assert_error(call(env, "POST", "/session/", json={"login": OWNER_A[0]}), 400, code="validation_failed",
                 field="password")
    assert_error(call(env, "POST", "/session/", json={"login": 5, "password": "x"}), 400, field="login")
    assert_error(call(env, "POST", "/session/", data="login=a", headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 415)
    for login, password in ((OWNER_A[0], "wrong"), ("nobody@example.com", OWNER_A[1]), ("not a login", "x")):
        r = sign_in(env, login, password, status=401)
        assert_error(r, 401, code="unauthorized")
        assert "Set-Cookie" not in r.headers and "WWW-Authenticate" not in r.headers, describe(r)
    # an API key is for programs: it is not the cabinet's password
    key = body_of(env.a.post("/api_keys/", {}), 201)["key"]
    assert_error(sign_in(env, OWNER_A[0], key, status=401), 401, code="unauthorized")
    assert body_of(call(env, "GET", "/clients/", auth=(OWNER_A[0], key))) is not None


def test_basic_auth_and_api_keys_are_unaffected(env):
    s = sign_in(env, *OWNER_A)
    key = body_of(env.a.post("/api_keys/", {}), 201)["key"]
    # Authorization wins over the cookie: B's credentials with A's cookie act as B
    r = call(env, "GET", "/fiscal/auth/", s, auth=OWNER_B)
    assert body_of(r)["merchantId"] == env.merchant_b
    r = call(env, "GET", "/fiscal/auth/", s, auth=(OWNER_A[0], "wrong"))
    assert_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert body_of(call(env, "GET", "/fiscal/auth/", auth=(OWNER_A[0], key)))["merchantId"] == env.merchant_a
    # the session endpoints take no Basic auth: they are the cookie's
    assert_error(call(env, "GET", "/session/", auth=OWNER_A), 401, code="unauthorized")


def test_password_role_change_and_removal_end_sessions(env):
    e, (login, password) = employee(env, "manager")
    s = sign_in(env, login, password)
    owner = sign_in(env, *OWNER_A)
    body_of(call(env, "GET", "/clients/", s))
    # a change that keeps the password and role keeps the session
    body_of(env.a.put(f"/employees/{e['id']}/", {"firstName": "Anna"}))
    body_of(call(env, "GET", "/clients/", s))
    body_of(env.a.put(f"/employees/{e['id']}/", {"password": "staff-pass-2"}))
    assert_error(call(env, "GET", "/clients/", s), 401, code="unauthorized")
    assert_error(call(env, "GET", "/session/", s), 401)
    s = sign_in(env, login, "staff-pass-2")
    body_of(env.a.put(f"/employees/{e['id']}/", {"role": "cashier"}))
    assert_error(call(env, "GET", "/clients/", s), 401, code="unauthorized")
    s = sign_in(env, login, "staff-pass-2")
    assert s["body"]["role"] == "cashier"
    assert env.a.delete(f"/employees/{e['id']}/").status_code == 204
    assert_error(call(env, "GET", "/clients/", s), 401, code="unauthorized")
    assert_error(sign_in(env, login, "staff-pass-2", status=401), 401)
    # the owner's own session was never touched
    assert body_of(call(env, "GET", "/session/", owner))["role"] == "owner"


def test_idle_sessions_end_and_are_removed(make_env):
    env = make_env("--lk-idle-timeout", "2s")
    s = sign_in(env, *OWNER_A)
    assert s["body"]["idle_timeout_s"] == 2
    body_of(call(env, "GET", "/session/", s))
    time.sleep(3.5)
    assert_error(call(env, "GET", "/clients/", s), 401, code="unauthorized")
    assert "session of account" in env.server.log_tail(20000) and "ended: idle" in env.server.log_tail(20000)
    # removed, not only refused: it stays refused (and a new sign-in works)
    assert_error(call(env, "GET", "/session/", s), 401)
    assert body_of(call(env, "GET", "/session/", sign_in(env, *OWNER_A)))["role"] == "owner"


def test_sessions_end_after_their_lifetime_however_busy(make_env):
    env = make_env("--lk-lifetime", "3s", "--lk-idle-timeout", "1h")
    s = sign_in(env, *OWNER_A)
    body_of(call(env, "GET", "/session/", s))
    time.sleep(4)
    assert_error(call(env, "GET", "/session/", s), 401, code="unauthorized")


def test_sessions_survive_a_restart(make_env):
    env = make_env()
    s = sign_in(env, *OWNER_A)
    env.restart(keep_defaults=False)
    assert body_of(call(env, "GET", "/session/", s))["csrf_token"] == s["csrf"]


def test_failed_sign_ins_lock_like_basic_auth(make_env):
    env = make_env("--lockout-login-failures", "3", "--lockout-seconds", "120")
    for _ in range(3):
        assert_error(sign_in(env, OWNER_A[0], "wrong", status=401), 401)
    for r in (sign_in(env, *OWNER_A, status=429), call(env, "GET", "/clients/", auth=OWNER_A)):
        assert_error(r, 429, code="too_many_requests")
        assert 0 < int(r.headers["Retry-After"]) <= 120, describe(r)
    # and the other way: failed Basic auths lock the cabinet's sign-in of that login
    for _ in range(3):
        assert_error(call(env, "GET", "/clients/", auth=(OWNER_B[0], "wrong")), 401)
    assert_error(sign_in(env, *OWNER_B, status=429), 429, code="too_many_requests")


def test_logs_carry_no_session_secrets(make_env):
    env = make_env()
    s = sign_in(env, *OWNER_A)
    body_of(call(env, "GET", "/clients/", s))
    assert call(env, "DELETE", "/session/", s).status_code == 204
    env.server.stop()
    text = open(env.server.log_path, encoding="utf-8", errors="replace").read()
    assert "signed in" in text and "signed out" in text
    for secret in (s["cookie"], s["csrf"], OWNER_A[1]):
        assert secret not in text
    env.server = Server(env.db, env.tmp, env.server.flags).start()


def test_sessions_are_shared_by_nodes_on_one_database(env, tmp_path):
    if env.engine != "postgres":
        pytest.skip("several nodes on one database: PostgreSQL")
    other = Server(env.db, str(tmp_path)).start()
    try:
        s = sign_in(env, *OWNER_A)
        with Session() as c:
            headers = {"Cookie": f"{COOKIE}={s['cookie']}", "X-CSRF-Token": s["csrf"]}
            assert body_of(c.get(other.base + "/session/", headers=headers))["role"] == "owner"
            assert call(env, "DELETE", "/session/", s).status_code == 204
            assert_error(c.get(other.base + "/clients/", headers=headers), 401)
    finally:
        assert other.stop() == 0
