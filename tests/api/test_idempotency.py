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
