"""Bodies nobody may send are not read (issue 12 B5, API.md 1 and 7).

A request that announces a body is checked when its head is in, before any of the body is read:
no such route, no valid credentials, a role that may not, or a declared Content-Length over the
route's limit is answered at once (404/405, 401/429, 403, 413) with `Connection: close`, and the
connection is closed without reading the body. A chunked body is refused (413) as soon as it
passes the limit. Before, the server read every body (up to the route's limit, kept in memory)
before it looked at the credentials: 40 connections without credentials sending 2.1 MB each to
the logo route took its RSS from 34 to 154 MB, and a `Content-Length: 999999999999` POST waited
for the request deadline."""
import base64
import select
import socket
import time

from conftest import OWNER_A, body_of, new_phone
from rawhttp import exchange

API = "/ext/api/v1"
LOGO = API + "/loyalty/settings/contact_info/logo/"
AUTH = "Authorization: Basic " + base64.b64encode(f"{OWNER_A[0]}:{OWNER_A[1]}".encode()).decode()
WRONG = "Authorization: Basic " + base64.b64encode(f"{OWNER_A[0]}:not-the-password".encode()).decode()
# A liveness bound (the server's request deadline is 30 s here), not a timing measurement.
ANSWER_WITHIN = 5.0
MIB = 1024 * 1024


def head(method, path, *lines):
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(x + "\r\n" for x in lines)
            + "\r\n").encode()


def rss_bytes(env):
    with open(f"/proc/{env.server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/PID/status")


def read_answers(socks, within):
    """The first answer (bytes up to the end of its body, or all until close) on each socket."""
    got = {s: b"" for s in socks}
    done = set()
    deadline = time.monotonic() + within
    while len(done) < len(socks) and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in socks if s not in done], [], [], 0.2)
        for s in ready:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            got[s] += chunk
            text = got[s]
            end = text.find(b"\r\n\r\n")
            if not chunk:
                done.add(s)
            elif end >= 0:
                length = 0
                for line in text[:end].split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if len(text) >= end + 4 + length:
                    done.add(s)
    return got


def push_bodies(socks, size, within):
    """Sends up to `size` body bytes on every socket still open, without blocking, for at most
    `within` seconds; a socket the server closed just stops taking them."""
    left = {s: size for s in socks}
    chunk = b"x" * 65536
    deadline = time.monotonic() + within
    while left and time.monotonic() < deadline:
        _, ready, _ = select.select([], list(left), [], 0.2)
        for s in ready:
            try:
                n = s.send(chunk[:left[s]])
            except (BrokenPipeError, ConnectionResetError, BlockingIOError, OSError):
                del left[s]
                continue
            left[s] -= n
            if left[s] <= 0:
                del left[s]


def status_of(answer):
    first = answer.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else None


def test_bodies_without_credentials_are_not_read(env):
    n, size = 100, 2_100_000
    body_of(env.a.get("/fiscal/auth/"))  # warm up: the server has served a request
    before = rss_bytes(env)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", env.server.port), timeout=5)
            s.sendall(head("POST", LOGO, "Content-Type: multipart/form-data; boundary=b",
                           f"Content-Length: {size}"))
            socks.append(s)
        for s in socks:
            s.setblocking(False)
        answers = read_answers(socks, ANSWER_WITHIN)
        # then send the bodies (all but their last byte) on whatever the server left open:
        # a server that reads them holds ~2 MB per connection until the request completes
        push_bodies(socks, size - 1, within=20)
        grown = rss_bytes(env) - before
        assert grown < 20 * MIB, f"server RSS grew by {grown / MIB:.1f} MiB with {n} unauthenticated bodies"
        statuses = [status_of(answers[s]) for s in socks]
        assert statuses == [401] * n, statuses
        assert all(b"connection: close" in answers[s].lower() for s in socks)
    finally:
        for s in socks:
            s.close()
    body_of(env.a.get("/fiscal/auth/"))  # and the server goes on serving


def assert_answered_at_once(env, data, status, code):
    a = exchange(env.server.port, data, timeout=ANSWER_WITHIN, wait_close=2.0)
    assert a.kind == "json" and a.status == status, a
    assert a.json()["code"] == code, a
    assert a.headers.get("connection") == "close" and a.closed, a
    return a


def test_a_declared_length_over_the_limit_is_answered_before_the_body(env):
    # with valid credentials: 413 naming the route's limit, the body never sent
    a = assert_answered_at_once(env, head("POST", LOGO, AUTH, "Content-Type: multipart/form-data; boundary=b",
                                          f"Content-Length: {3 * MIB}"), 413, "payload_too_large")
    assert str(2 * MIB + 64 * 1024) in a.json()["message"]
    a = assert_answered_at_once(env, head("POST", API + "/clients/", AUTH, "Content-Type: application/json",
                                          f"Content-Length: {MIB + 1}"), 413, "payload_too_large")
    assert str(MIB) in a.json()["message"]
    # 999999999999 bytes announced: answered now, not at the request deadline
    assert_answered_at_once(env, head("POST", API + "/clients/", AUTH, "Content-Type: application/json",
                                      "Content-Length: 999999999999"), 413, "payload_too_large")
    # without credentials, or with wrong ones, it is the 401 (credentials come first)
    a = assert_answered_at_once(env, head("POST", API + "/clients/", "Content-Type: application/json",
                                          "Content-Length: 999999999999"), 401, "unauthorized")
    assert "basic" in a.headers.get("www-authenticate", "").lower()
    assert_answered_at_once(env, head("PUT", API + "/clients/1/", WRONG, "Content-Type: application/json",
                                      "Content-Length: 500000"), 401, "unauthorized")
    # the public reaction form takes no credentials, so anyone may send it: 64 KiB at most
    a = assert_answered_at_once(env, head("POST", "/r/" + "0" * 32, "Content-Type: application/x-www-form-urlencoded",
                                          "Content-Length: 200000"), 413, "payload_too_large")
    assert str(64 * 1024) in a.json()["message"]
    # a path no route has: 404 before the body too
    assert_answered_at_once(env, head("POST", API + "/no/such/", "Content-Length: 500000"), 404, "not_found")


def test_a_chunked_body_is_refused_as_it_passes_the_limit(env):
    # a chunk announced bigger than the limit, sent up to one byte past it and then held: the
    # answer comes without the rest (a server reading on would wait for the deadline)
    past = MIB + 1
    data = (head("POST", API + "/clients/", AUTH, "Content-Type: application/json", "Transfer-Encoding: chunked")
            + b"%x\r\n" % (2 * MIB) + b" " * past)
    a = exchange(env.server.port, data, timeout=ANSWER_WITHIN)
    assert a.kind == "json" and a.status == 413, a
    assert a.json()["code"] == "payload_too_large" and a.headers.get("connection") == "close", a
    # without credentials it never gets that far: 401 on the head
    data = head("POST", API + "/clients/", "Content-Type: application/json", "Transfer-Encoding: chunked")
    assert_answered_at_once(env, data + b"10\r\n", 401, "unauthorized")


def test_bodies_that_may_be_sent_are_served(env):
    # a small chunked body with credentials, a kept-alive JSON POST, and the public reaction
    # form (no credentials) still get their answers after the body
    phone = new_phone()
    body = b'{"phone":"%s"}' % phone.encode()
    data = (head("POST", API + "/clients/", AUTH, "Content-Type: application/json", "Transfer-Encoding: chunked")
            + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    a = exchange(env.server.port, data, timeout=ANSWER_WITHIN)
    assert a.kind == "json" and a.status == 201 and a.json()["phone"] == phone, a
    r = env.a.put(f"/clients/{a.json()['id']}/", {"name": "Kept"})
    assert body_of(r)["name"] == "Kept"
    form = b"reaction=positive"
    a = exchange(env.server.port, head("POST", "/r/" + "0" * 32, "Content-Type: application/x-www-form-urlencoded",
                                       f"Content-Length: {len(form)}") + form, timeout=ANSWER_WITHIN)
    assert a.status == 404 and a.kind != "hang", a  # no such receipt: looked up, not refused as 401
