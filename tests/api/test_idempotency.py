"""Idempotency-Key on POST and PUT (API.md 6): replay of the first completed answer, 422 for
another body, scoping, business refusals replayed, validation and auth failures not kept,
concurrent retries, expiry after 7 days."""
import threading

import requests

from conftest import (OWNER_A, Session, assert_error, body_of, new_phone, rule, sale, uniq)

DAY_S = 86400


def post(api, path, body, key):
    return api.post(path, body, headers={"Idempotency-Key": key})


def test_replay_and_other_body(A):
    key = uniq("k")
    phone = new_phone()
    first = post(A, "/clients/", {"phone": phone}, key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(A, "/clients/", {"phone": phone}, key)
    assert again.status_code == 201 and again.text == first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    # the same JSON in another layout is the same request
    again = A.post_raw("/clients/", ('{ "phone" : "%s" }' % phone).encode())
    assert again.status_code == 409  # without the key it is a new request: the phone is taken
    r = A.s.post(A.url("/clients/"), data=('{"phone":  "%s"}' % phone).encode(),
                 headers={"Content-Type": "application/json", "Idempotency-Key": key})
    assert r.status_code == 201 and r.text == first.text
    assert_error(post(A, "/clients/", {"phone": new_phone()}, key), 422, code="idempotency_key_reused")


def test_scoped_by_route_and_merchant(A, B):
    key = uniq("scope")
    c = body_of(post(A, "/clients/", {"phone": new_phone()}, key), 201)
    cat = body_of(post(A, "/loyalty/coupons/", {"title": "Scoped"}, key), 201)  # another route
    assert cat["id"] and c["id"]
    other = body_of(post(B, "/clients/", {"phone": c["phone"]}, key), 201)  # another merchant
    assert other["id"] != c["id"]


def test_business_refusal_is_replayed(A):
    phone = new_phone()
    A.create_client(phone=phone)
    key = uniq("biz")
    body = sale(phone=phone, amount=50)
    assert_error(post(A, "/fiscal/orders/", body, key), 400, code="insufficient_funds")
    A.settings(active=True, newCustomerSettings=rule("amount", 0), customerSettings=rule("amount", 500))
    A.order(sale(phone=phone))  # now the client could pay
    A.settings(active=False)
    r = post(A, "/fiscal/orders/", body, key)
    assert_error(r, 400, code="insufficient_funds")
    assert r.headers["Idempotent-Replayed"] == "true"


def test_validation_and_auth_failures_are_not_kept(env, A):
    key = uniq("val")
    assert_error(post(A, "/clients/", {}, key), 400, code="validation_failed")
    r = Session((OWNER_A[0], "wrong-password")).post(env.url("/clients/"), json={"phone": new_phone()},
                                                     headers={"Idempotency-Key": key})
    assert r.status_code == 401
    r = post(A, "/clients/", {"phone": new_phone()}, key)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers


def test_malformed_keys(env, A):
    for bad in ("", "x" * 256, "ключ"):
        r = A.s.post(A.url("/clients/"), json={"phone": new_phone()},
                     headers={"Idempotency-Key": bad.encode("utf-8")})
        assert_error(r, 400, field="Idempotency-Key")
    # two headers: sent raw, requests would merge them
    import socket
    body = b'{"phone":"%s"}' % new_phone().encode()
    import base64
    auth = base64.b64encode(f"{OWNER_A[0]}:{OWNER_A[1]}".encode())
    port = int(env.base.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /ext/api/v1/clients/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth +
                  b"\r\nContent-Type: application/json\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n"
                  b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"Idempotency-Key" in answer


def test_concurrent_retries_wait_and_replay(env, A):
    key = uniq("race")
    title = uniq("race-coupon")
    answers = []
    barrier = threading.Barrier(10)

    def go():
        with Session(OWNER_A) as s:
            barrier.wait()
            r = s.post(env.url("/loyalty/coupons/"), json={"title": title}, headers={"Idempotency-Key": key})
            answers.append((r.status_code, r.text))

    threads = [threading.Thread(target=go) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [a[0] for a in answers] == [201] * 10 and len({a[1] for a in answers}) == 1
    listed = [c for c in body_of(A.get("/loyalty/coupons/?limit=1000")) if c["title"] == title]
    assert len(listed) == 1


def test_keys_expire_after_seven_days(env, A):
    key = uniq("old")
    first = body_of(post(A, "/loyalty/coupons/", {"title": "Old key"}, key), 201)
    env.restart("--clock-offset-seconds", str(8 * DAY_S))
    try:
        r = post(A, "/loyalty/coupons/", {"title": "Old key"}, key)
        assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
        assert r.json()["id"] != first["id"]
    finally:
        env.restart()


# ---- issue 12 B1: the key names one concrete target (API.md 6, amended) ----

def funded(A, points=100):
    """A client with `points` points in a lot that never expires."""
    A.settings(active=True, newCustomerSettings=rule("amount", points), customerSettings=rule("amount", 0))
    cid = A.order(sale(phone=new_phone()))["clientId"]
    A.settings(newCustomerSettings=rule("amount", 0), active=False)
    assert A.balance(cid) == points
    return cid


def test_same_key_on_another_client_is_refused_not_replayed(A):
    one = A.create_client(phone=new_phone(), name="One")
    four = A.create_client(phone=new_phone(), name="Four")
    key = uniq("target")
    first = body_of(A.put(f"/clients/{one['id']}/", {"name": "Renamed"}, headers={"Idempotency-Key": key}))
    assert first["id"] == one["id"] and first["name"] == "Renamed"
    r = A.put(f"/clients/{four['id']}/", {"name": "Renamed"}, headers={"Idempotency-Key": key})
    assert_error(r, 422, code="idempotency_key_reused")
    assert "Idempotent-Replayed" not in r.headers
    assert body_of(A.get(f"/clients/{four['id']}/"))["name"] == "Four"  # untouched
    # the same target, with or without its trailing slash, is the same request: replayed
    for path in (f"/clients/{one['id']}/", f"/clients/{one['id']}"):
        again = A.put(path, {"name": "Renamed"}, headers={"Idempotency-Key": key})
        assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
        assert body_of(again) == first


def test_same_key_on_another_clients_write_off_is_refused(A):
    c1, c2 = funded(A), funded(A)
    key = uniq("wo")
    body = {"balance": [{"amount": 10, "currency": "points"}]}
    body_of(A.post(f"/clients/{c1}/balance/write_off/", body, headers={"Idempotency-Key": key}))
    assert A.balance(c1) == 90
    r = A.post(f"/clients/{c2}/balance/write_off/", body, headers={"Idempotency-Key": key})
    assert_error(r, 422, code="idempotency_key_reused")
    assert A.balance(c2) == 100 and A.balance(c1) == 90
    r = A.post(f"/clients/{c1}/balance/write_off", body, headers={"Idempotency-Key": key})
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"
    assert A.balance(c1) == 90


def test_same_key_on_another_share_token_is_refused(A):
    cid = A.create_client(phone=new_phone())["id"]
    cat = A.catalog_coupon(title="Shared under one key")
    first_coupon, second_coupon = A.issue(cid, cat["id"]), A.issue(cid, cat["id"])
    friend = new_phone()
    key = uniq("share")
    share = "/coupons/share/redeem/"
    got = body_of(A.put(share, params={"token": first_coupon["shareToken"], "phone": friend},
                        headers={"Idempotency-Key": key}))
    r = A.put(share, params={"token": second_coupon["shareToken"], "phone": friend},
              headers={"Idempotency-Key": key})
    assert_error(r, 422, code="idempotency_key_reused")
    # the second share is still unredeemed: a request without the key redeems it
    other = body_of(A.put(share, params={"token": second_coupon["shareToken"], "phone": friend}))
    assert other["coupons"]["id"] != got["coupons"]["id"]
    # the first target again, its parameters in another order: replayed
    r = A.s.put(A.url(share) + f"?phone={friend}&token={first_coupon['shareToken']}",
                headers={"Idempotency-Key": key})
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"
    assert body_of(r) == got


# ---- issue 12 B6: no secret in a stored answer ----

def test_replayed_api_key_answer_holds_no_secret(env, A):
    key = uniq("apikey")
    first = A.post("/api_keys/", headers={"Idempotency-Key": key})
    made = body_of(first, 201)
    assert made["key"].startswith(f"kpk_{made['id']}_")
    again = A.post("/api_keys/", headers={"Idempotency-Key": key})
    kept = body_of(again, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "key" not in kept and made["key"] not in again.text
    assert kept == {"id": made["id"], "accountId": made["accountId"], "createdAt": made["createdAt"]}
    # revoked: the replay still shows no secret, and the key no longer works
    assert A.delete(f"/api_keys/{made['id']}/").status_code == 204
    after = A.post("/api_keys/", headers={"Idempotency-Key": key})
    assert made["key"] not in after.text and "key" not in body_of(after, 201)
    assert_error(Session((OWNER_A[0], made["key"])).get(env.url("/fiscal/auth/")), 401)


# ---- issue 12 B9: a replay never shows a cashier another account's order ----

def cashier(env, A):
    email = uniq("cashier") + "@example.com"
    body_of(A.post("/employees/", {"email": email, "password": "cashier-pass", "role": "cashier"}), 201)
    return Session((email, "cashier-pass"))


def test_cashier_cannot_read_anothers_order_by_reposting_it(env, A):
    owners = sale(phone=new_phone())
    first = A.order(owners)
    c = cashier(env, A)
    r = c.post(env.url("/fiscal/orders/"), json=owners)
    body = assert_error(r, 409, code="order_conflict", field="order.externalId")
    assert "Idempotent-Replayed" not in r.headers
    assert first["publicURL"] not in r.text and first["publicURL"].rsplit("/", 1)[1] not in body["message"]
    # through an Idempotency-Key the owner used, too
    key = uniq("owner-key")
    second = sale(phone=new_phone())
    made = body_of(A.post("/fiscal/orders/", second, headers={"Idempotency-Key": key}))
    r = c.post(env.url("/fiscal/orders/"), json=second, headers={"Idempotency-Key": key})
    assert r.status_code in (409, 422) and made["publicURL"] not in r.text
    # a cashier's own retry is still replayed, and the owner may replay a cashier's order
    own = sale(phone=new_phone())
    mine = body_of(c.post(env.url("/fiscal/orders/"), json=own))
    again = c.post(env.url("/fiscal/orders/"), json=own)
    assert body_of(again) == mine and again.headers.get("Idempotent-Replayed") == "true"
    assert A.order(own) == mine
