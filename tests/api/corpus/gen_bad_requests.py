#!/usr/bin/python3
"""Writes the corpus of malformed requests in bad_requests/ (docs/RELIABILITY.md section 8).

Each file is one entry: a first line `# expect: <outcomes> | <what it is>`, then the raw bytes
that tests/api/test_rel_bad_requests.py sends over a socket, byte for byte. The outcomes an
entry accepts, any of:

  400, 401, 404, ...  kopilka's JSON error body with that status (API.md section 1)
  4xx                 kopilka's JSON error body with any 4xx status
  close               the connection closed without an answer
  mhd                 libmicrohttpd's own 4xx answer (its short HTML body, then close): the
                      request was refused before it reached kopilka's code, which has no hook
                      to put its error body there (431 headers too big, 400 bad request line)
  mhd505              libmicrohttpd's 505 to a request line naming HTTP/2 or later, the
                      status HTTP defines for it (RFC 9110 15.6.6) and the one 5xx allowed

Never accepted: a 2xx, any other 5xx, no answer and no close within 5 s. The files are
committed; run this script again after changing it (it rewrites the whole folder) and commit
both. Requests use merchant A of tests/api/conftest.py; the test creates client 1, catalog
coupon 1 and order 1 before sending them.
"""
import base64
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad_requests")
AUTH = "Basic " + base64.b64encode(b"a@example.com:secret-pass-A").decode()
API = "/ext/api/v1"
INT64_EDGES = ["9223372036854775807", "-9223372036854775808", "9223372036854775808",
               "-9223372036854775809", "18446744073709551616", "99999999999999999999999999"]

entries = []


def add(name, expect, why, data):
    assert "|" not in expect and "\n" not in why
    if isinstance(data, str):
        data = data.encode()
    entries.append((name, expect, why, data))


def req(method, path, body=None, ct="application/json", auth=True, headers=(), cl=True,
        version="HTTP/1.1", host=True):
    """A request with Content-Length computed from the body, Connection: close."""
    if isinstance(body, str):
        body = body.encode()
    h = [f"{method} {path} {version}".encode()]
    if host:
        h.append(b"Host: 127.0.0.1")
    if auth is True:
        h.append(f"Authorization: {AUTH}".encode())
    elif auth:
        h.append(b"Authorization: " + (auth if isinstance(auth, bytes) else auth.encode()))
    if ct:
        h.append(b"Content-Type: " + ct.encode())
    for x in headers:
        h.append(x if isinstance(x, bytes) else x.encode())
    h.append(b"Connection: close")
    if body is not None and cl:
        h.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(h) + b"\r\n\r\n" + (body or b"")


def head(method, path, lines, body=b""):
    """A request from its header lines as given (no Content-Length added)."""
    return (f"{method} {path} HTTP/1.1\r\n".encode() + b"".join(
        (x if isinstance(x, bytes) else x.encode()) + b"\r\n" for x in lines) + b"\r\n" + body)


def chunked(*chunks, end=True):
    out = b""
    for c in chunks:
        out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
    return out + (b"0\r\n\r\n" if end else b"")


STD = ["Host: 127.0.0.1", f"Authorization: {AUTH}", "Content-Type: application/json",
       "Connection: close"]
ORDERS = API + "/fiscal/orders/"


def sale_body(price="100", quantity="1", ext='"c-1"', extra=""):
    return ('{"order":{"externalId":%s,"receiptType":"sale","items":[{"name":"Item","price":%s,'
            '"quantity":%s}]}%s}' % (ext, price, quantity, extra))


# --- 1. Request lines --------------------------------------------------------------------------
line_cases = [
    ("empty-line", b"\r\n\r\n"),
    ("garbage-word", b"GARBAGE\r\n\r\n"),
    ("no-version", b"GET /healthz\r\nHost: 127.0.0.1\r\n\r\n"),
    ("no-uri", b"GET HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("only-method", b"GET\r\n\r\n"),
    ("version-lowercase", b"GET /healthz http/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("version-junk", b"GET /healthz HTTP/x.y\r\nHost: 127.0.0.1\r\n\r\n"),
    ("version-no-dot", b"GET /healthz HTTP/11\r\nHost: 127.0.0.1\r\n\r\n"),
    ("version-extra-token", b"GET /healthz HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n"),
    ("version-leading-zeros", b"GET /healthz HTTP/01.01\r\nHost: 127.0.0.1\r\n\r\n"),
    ("uri-with-spaces", b"GET /ext/api/v1/clients/ 1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("nul-in-method", b"G\x00ET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("nul-in-version", b"GET /healthz HTTP/1.\x001\r\nHost: 127.0.0.1\r\n\r\n"),
    ("binary-junk", bytes(range(256)) + b"\r\n\r\n"),
    ("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\xaa" * 64 + b"\r\n\r\n"),
    ("bare-cr-line", b"GET /healthz HTTP/1.1\rHost: 127.0.0.1\r\r\r"),
    ("only-crlfs", b"\r\n" * 2000),
    ("space-before-method", b" GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("header-before-request-line", b"Host: 127.0.0.1\r\nGET /healthz HTTP/1.1\r\n\r\n"),
    ("uri-100k", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("method-10k", b"G" * 10000 + b" /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("request-line-lf-junk", b"GET /healthz HTTP/1.1\n\x01\x02\x03\n\n"),
]
for name, data in line_cases:
    add(f"line-{name}", "4xx close mhd", "a request line HTTP does not parse", data)
add("line-http2", "mhd505 close mhd", "a request line naming HTTP/2.0",
    b"GET /healthz HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n")
add("line-http2-preface", "mhd505 close mhd", "the HTTP/2 connection preface sent to HTTP/1",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
add("line-http09", "mhd505 close mhd", "a request line naming HTTP/0.9 (MHD: too old)",
    b"GET /healthz HTTP/0.9\r\nHost: 127.0.0.1\r\n\r\n")
add("line-http3", "mhd505 close mhd", "a request line naming HTTP/3.0",
    b"GET /healthz HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n")
add("line-no-host-http11", "400", "an HTTP/1.1 request without Host",
    b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
add("line-two-hosts", "400", "two Host headers",
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
for m in ("BREW", "get", "TRACE", "CONNECT", "PATCH", "OPTIONS"):
    add(f"line-method-{m.lower()}-on-orders", "405 404 4xx close mhd",
        f"method {m} on the orders route", req(m, ORDERS, sale_body()))
add("line-asterisk-form", "404 4xx close mhd", "OPTIONS * (asterisk form)",
    b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
add("line-absolute-form-foreign", "404 4xx close mhd", "absolute-form URI naming another host",
    b"GET http://evil.example/ext/api/v1/clients/ HTTP/1.1\r\nHost: evil.example\r\n"
    b"Connection: close\r\n\r\n")

# --- 2. Framing: Content-Length and Transfer-Encoding ------------------------------------------
B = sale_body().encode()
TE_CL = [
    ("cl-and-te", ["Content-Length: %d" % len(B), "Transfer-Encoding: chunked"], chunked(B)),
    ("te-and-cl", ["Transfer-Encoding: chunked", "Content-Length: %d" % len(B)], chunked(B)),
    ("te-and-cl-zero", ["Transfer-Encoding: chunked", "Content-Length: 0"], chunked(B)),
    ("te-uppercase-and-cl", ["Transfer-Encoding: CHUNKED", "Content-Length: 5"], chunked(B)),
    ("te-and-cl-smuggle", ["Content-Length: 4", "Transfer-Encoding: chunked"],
     b"5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n"),
    ("two-cl-different", ["Content-Length: %d" % len(B), "Content-Length: 3"], B),
    ("two-cl-same", ["Content-Length: %d" % len(B), "Content-Length: %d" % len(B)], B),
    ("two-te", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], chunked(B)),
    ("cl-with-space-before-colon", ["Content-Length : %d" % len(B)], B),
    ("te-with-space-before-colon", ["Transfer-Encoding : chunked"], chunked(B)),
    ("te-tab-before-colon", ["Transfer-Encoding\t: chunked"], chunked(B)),
]
for name, extra, body in TE_CL:
    add(f"frame-{name}", "400 close mhd", "conflicting or ambiguous body framing (smuggling)",
        head("POST", ORDERS, STD + extra, body))
CL_BAD = [("negative", "-1"), ("junk", "abc"), ("hex", "0x10"), ("plus", "+5"),
          ("comma-list", "5, 5"), ("float", "5.0"), ("empty", ""), ("huge", "9" * 30),
          ("two-pow-63", "9223372036854775808"), ("two-pow-64", "18446744073709551616"),
          ("int64-max", "9223372036854775807"), ("space-inside", "1 0")]
for name, v in CL_BAD:
    add(f"frame-cl-{name}", "400 413 close mhd", f"Content-Length: {v!r}",
        head("POST", ORDERS, STD + [f"Content-Length: {v}"], B))
TE_BAD = ["gzip", "chunked, gzip", "identity", "gzip, chunked, identity", "chunkedx", "x",
          "chunked;q=1", ""]
for i, v in enumerate(TE_BAD):
    add(f"frame-te-{i}", "400 411 close mhd", f"Transfer-Encoding: {v!r}",
        head("POST", ORDERS, STD + [f"Transfer-Encoding: {v}"], chunked(B)))
CHUNK_BAD = [
    ("size-not-hex", b"zz\r\n{}\r\n0\r\n\r\n"),
    ("size-negative", b"-5\r\n{}\r\n0\r\n\r\n"),
    ("size-huge", b"ffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
    ("size-int64", b"7fffffffffffffff\r\n{}\r\n0\r\n\r\n"),
    ("size-empty", b"\r\n{}\r\n0\r\n\r\n"),
    ("data-longer-than-size", b"1\r\n{}\r\n0\r\n\r\n"),
    ("missing-crlf-after-data", b"2\r\n{}0\r\n\r\n"),
    ("extension-garbage", b"2;\x01\x02\r\n{}\r\n0\r\n\r\n"),
    ("bare-lf", b"2\n{}\n0\n\n"),
    ("size-with-spaces", b"2 2\r\n{}\r\n0\r\n\r\n"),
]
for name, body in CHUNK_BAD:
    add(f"chunk-{name}", "400 413 close mhd", "a malformed chunked body",
        head("POST", ORDERS, STD + ["Transfer-Encoding: chunked"], body))

# The request never completes: the whole-request deadline closes it (or a 4xx refuses it).
NEVER = [
    ("chunked-never-ends", STD + ["Transfer-Encoding: chunked"], chunked(B[:20], end=False)),
    ("chunked-stops-mid-chunk", STD + ["Transfer-Encoding: chunked"], b"100\r\n{\"order\":"),
    ("chunked-no-last-chunk", STD + ["Transfer-Encoding: chunked"], chunked(b"{}", end=False)),
    ("cl-longer-than-body", STD + ["Content-Length: 5000"], B),
    ("cl-10-gib-short-body", STD + ["Content-Length: 10737418240"], B),
]
for name, lines, body in NEVER:
    add(f"never-{name}", "close 408 413 mhd", "a body that never ends",
        head("POST", ORDERS, lines, body))
add("never-headers-unterminated", "close 408 mhd", "headers that never end",
    b"POST " + ORDERS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n")
add("never-request-line-unterminated", "close 408 mhd", "a request line that never ends",
    b"GET /ext/api/v1/clients/?phone=7912")
add("never-nothing-sent", "close 408 mhd", "a connection that sends nothing", b"")
add("never-upload-short", "close 408 413 mhd", "an upload whose body never arrives",
    head("POST", API + "/loyalty/settings/contact_info/logo/",
         STD[:2] + ["Content-Type: multipart/form-data; boundary=xyz", "Content-Length: 100000",
                    "Connection: close"], b"--xyz\r\n"))

# --- 3. Headers --------------------------------------------------------------------------------
HDR_BIG = [
    ("one-100k-header", ["X-Big: " + "a" * 100000]),
    ("5000-headers", ["X-H%d: v" % i for i in range(5000)]),
    ("20000-tiny-headers", ["X: y"] * 20000),
    ("100k-cookie", ["Cookie: " + "k=v; " * 20000]),
    ("huge-authorization", ["Authorization: Basic " + "A" * 80000]),
    ("huge-content-type", ["Content-Type: application/json; " + "x=y; " * 15000]),
    ("huge-header-name", ["X" * 70000 + ": v"]),
]
for name, lines in HDR_BIG:
    add(f"hdr-{name}", "431 413 400 close mhd", "headers beyond the connection's memory",
        head("POST", ORDERS, STD + lines + ["Content-Length: %d" % len(B)], B))
HDR_BAD = [
    ("name-with-space", "X Bad: v"), ("name-empty", ": v"), ("name-nul", "X-\x00A: v"),
    ("name-utf8", "X-\xd0\x96: v"), ("name-at", "X@Y: v"), ("name-slash", "X/Y: v"),
    ("name-bracket", "X[1]: v"), ("value-ctl-01", "X-A: a\x01b"), ("value-del", "X-A: a\x7fb"),
    ("value-vt", "X-A: a\x0bb"), ("value-esc", "X-A: \x1b[31m"), ("value-bare-cr", "X-A: a\rb"),
    ("no-colon", "JustAWord"), ("colon-only", ":"),
]
for name, line in HDR_BAD:
    data = head("POST", ORDERS, STD + [line.encode("latin-1"), "Content-Length: %d" % len(B)], B)
    add(f"hdr-{name}", "400 close mhd", "a header line HTTP does not allow", data)
add("hdr-first-line-folded", "400 close mhd", "obs-fold on the first header line",
    head("POST", ORDERS, ["  folded", *STD, "Content-Length: %d" % len(B)], B))
add("hdr-two-content-types", "400", "two Content-Type headers",
    head("POST", ORDERS, STD + ["Content-Type: text/plain", "Content-Length: %d" % len(B)], B))
IDEM_BAD = [("empty", ""), ("256-chars", "k" * 256), ("utf8", "ключ"), ("tab", "a\tb")]
for name, v in IDEM_BAD:
    add(f"hdr-idempotency-{name}", "400", f"Idempotency-Key {name}",
        req("POST", API + "/clients/", '{"phone":"79990000001"}',
            headers=[("Idempotency-Key: " + v).encode()]))
add("hdr-idempotency-twice", "400", "two Idempotency-Key headers",
    req("POST", API + "/clients/", '{"phone":"79990000002"}',
        headers=["Idempotency-Key: a", "Idempotency-Key: b"]))
add("hdr-expect-continue-bad-body", "400", "Expect: 100-continue, then a body that is not JSON",
    req("POST", API + "/clients/", '{"phone":', headers=["Expect: 100-continue"]))

# --- 4. Authorization --------------------------------------------------------------------------
def b64(s):
    return base64.b64encode(s).decode()


AUTH_BAD = [
    ("not-base64", "Basic !!!!"), ("bad-padding", "Basic YTpi="), ("only-padding", "Basic ===="),
    ("no-colon", "Basic " + b64(b"nocolon")), ("empty-user", "Basic " + b64(b":secret-pass-A")),
    ("empty-password", "Basic " + b64(b"a@example.com:")), ("empty", "Basic "),
    ("scheme-only", "Basic"), ("bearer", "Bearer abc.def.ghi"),
    ("digest", 'Digest username="a", realm="kopilka", nonce="x", uri="/", response="y"'),
    ("nul-in-user", "Basic " + b64(b"a@example.com\x00:secret-pass-A")),
    ("nul-in-password", "Basic " + b64(b"a@example.com:secret\x00-pass-A")),
    ("invalid-utf8", "Basic " + b64(b"\xff\xfe@\xc3:\xc3\x28")),
    ("overlong-utf8", "Basic " + b64(b"\xc0\xafa@example.com:secret-pass-A")),
    ("30k-user", "Basic " + b64(b"u" * 30000 + b":p")),
    ("30k-password", "Basic " + b64(b"nobody@example.com:" + b"p" * 30000)),
    ("wrong-password-other-login", "Basic " + b64(b"nobody@example.com:wrong-password")),
    ("api-key-garbage", "Basic " + b64(b"a@example.com:kpk_zz_zz")),
    ("api-key-huge-id", "Basic " + b64(b"a@example.com:kpk_99999999999999999999999_x")),
    ("api-key-negative-id", "Basic " + b64(b"a@example.com:kpk_-1_abcdef")),
    ("api-key-int64-id", "Basic " + b64(b"a@example.com:kpk_9223372036854775808_abcdef")),
    ("phone-login-junk", "Basic " + b64(b"+7 (((((:secret")),
    ("double-space", "Basic  " + b64(b"nobody@example.com:x")),
    ("base64-with-newline", "Basic " + b64(b"nobody@example.com:x")[:8] + "\t" +
     b64(b"nobody@example.com:x")[8:]),
]
for name, value in AUTH_BAD:
    # 30 KB of header is over the 16 KiB connection pool: libmicrohttpd answers 431 itself
    big = len(value) > 14000
    add(f"auth-{name}", "401 400 431 close mhd" if big else "401 400",
        "Authorization beyond the header limit" if big else "Authorization that names no account",
        req("GET", API + "/clients/1/", None, auth=value.encode("latin-1")))
add("auth-missing", "401", "no Authorization on an API route",
    req("POST", ORDERS, sale_body(), auth=False))
add("auth-two-headers", "400", "two Authorization headers, the last one valid",
    req("GET", API + "/clients/1/", None, auth="Basic " + b64(b"x:y"), headers=[f"Authorization: {AUTH}"]))
for name, q in [("empty", "login=&api_key="), ("nul", "login=a%40example.com&api_key=kpk_1_%00"),
                ("bad-key", "login=nobody%40example.com&api_key=kpk_1_zz"),
                ("invalid-utf8", "login=%ff%fe&api_key=%c3%28")]:
    add(f"auth-query-{name}", "401 400", "query-string auth with no account behind it",
        req("POST", API + "/fiscal_hub/cash_back/hold/?" + q, '{"clientId":1,"amount":1}', auth=False))

# --- 5. Content types --------------------------------------------------------------------------
for i, ct in enumerate([None, "text/plain", "application/jsonx", "application/json-patch+json",
                        "application/xml", "application/x-www-form-urlencoded",
                        "multipart/form-data; boundary=x", "application/json, text/plain",
                        "json", "*/*", "", "application/ json", "text/json",
                        "application/json\tx"]):
    body = sale_body()
    exp = "415 400"
    add(f"ctype-{i}", exp, f"Content-Type {ct!r} on a JSON route",
        req("POST", ORDERS, body, ct=ct))
add("ctype-xml-body", "415", "an XML body", req("POST", ORDERS, "<order/>", ct="application/xml"))
add("ctype-form-on-settings", "415", "a form body on settings",
    req("PUT", API + "/loyalty/settings/", "customerSettings=1",
        ct="application/x-www-form-urlencoded"))
LOGO = API + "/loyalty/settings/contact_info/logo/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
UPLOADS = [
    ("json-ct", "application/json", b'{"logo":"x"}', "415"),
    ("no-boundary", "multipart/form-data", b"--x\r\n\r\n--x--\r\n", "400"),
    ("empty-boundary", "multipart/form-data; boundary=", b"--\r\n--\r\n", "400"),
    ("truncated", "multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="logo"; filename="a.png"\r\n\r\n' + PNG, "400"),
    ("bare-lf", "multipart/form-data; boundary=xyz",
     b'--xyz\nContent-Disposition: form-data; name="logo"\n\n' + PNG + b"\n--xyz--\n", "400"),
    ("no-disposition", "multipart/form-data; boundary=xyz",
     b"--xyz\r\nContent-Type: image/png\r\n\r\n" + PNG + b"\r\n--xyz--\r\n", "400"),
    ("gif-as-png", "multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="logo"; filename="a.png"\r\n'
     b"Content-Type: image/png\r\n\r\nGIF89a" + b"\x00" * 32 + b"\r\n--xyz--\r\n", "400"),
    ("empty-file", "multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="logo"; filename="a.png"\r\n\r\n'
     b"\r\n--xyz--\r\n", "400"),
    ("logo-twice", "multipart/form-data; boundary=xyz",
     (b'--xyz\r\nContent-Disposition: form-data; name="logo"\r\n\r\n' + PNG + b"\r\n") * 2 +
     b"--xyz--\r\n", "400"),
    ("100-parts", "multipart/form-data; boundary=xyz",
     b"".join(b'--xyz\r\nContent-Disposition: form-data; name="p%d"\r\n\r\nv\r\n' % i
              for i in range(100)) + b"--xyz--\r\n", "400"),
    ("boundary-300-chars", "multipart/form-data; boundary=" + "b" * 300,
     b"--" + b"b" * 300 + b"\r\n\r\n--" + b"b" * 300 + b"--\r\n", "400"),
    ("over-limit", "multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="logo"; filename="a.png"\r\n\r\n' + PNG +
     b"\x00" * (2 * 1024 * 1024 + 70 * 1024) + b"\r\n--xyz--\r\n", "413"),
]
for name, ct, body, exp in UPLOADS:
    add(f"upload-{name}", exp, "a malformed image upload", req("POST", LOGO, body, ct=ct))

# --- 6. JSON bodies, aimed at every body-taking route ------------------------------------------
ROUTES = [
    ("POST", ORDERS), ("POST", ORDERS + "create_test/"), ("POST", API + "/clients/"),
    ("PUT", API + "/clients/1/"), ("PUT", API + "/loyalty/settings/"),
    ("PUT", API + "/loyalty/settings/write_off/rules/"),
    ("PUT", API + "/loyalty/settings/contact_info/"), ("PUT", API + "/loyalty/settings/sale_points/"),
    ("POST", API + "/loyalty/coupons/"), ("PUT", API + "/loyalty/coupons/1/"),
    ("POST", API + "/fiscal_hub/cash_back/hold/"), ("POST", API + "/fiscal_hub/cash_back/hold/write_off/"),
    ("POST", API + "/fiscal_hub/cash_back/hold/cancel/"), ("POST", API + "/fiscal_hub/cash_back/refund/"),
    ("POST", API + "/clients/1/balance/write_off/"), ("POST", API + "/clients/1/coupons/"),
    ("POST", ORDERS + "1/reaction/"), ("POST", API + "/employees/"),
]
GARBAGE = [
    ("empty", b""), ("truncated", b'{"order":{"externalId":"x"'), ("trailing", b'{} {}'),
    ("nested-100k-arrays", b"[" * 100000 + b"]" * 100000),
    ("nested-100k-objects", b'{"a":' * 100000 + b"1" + b"}" * 100000),
    ("invalid-utf8", b'{"name":"\xff\xfe\xc3\x28"}'), ("overlong-utf8", b'{"name":"\xc0\xaf"}'),
    ("utf16-bom", "\ufeff{}".encode("utf-16")), ("nul-byte", b'{"name":"a\x00b"}'),
    ("nan", b'{"amount":NaN}'), ("single-quotes", b"{'a':1}"), ("comment", b"{/*x*/}"),
    ("lone-surrogate", b'{"name":"\\ud800"}'), ("escaped-nul", b'{"name":"a\\u0000b"}'),
    ("duplicate-keys", b'{"name":"a","name":"b"}'), ("number-1e400", b"1e400"),
    ("array-100k", b"[" + b",".join([b"0"] * 100000) + b"]"), ("bare-string", b'"x"'),
]
HEAVY = ("nested-100k-arrays", "nested-100k-objects", "array-100k")
for mi, (method, path) in enumerate(ROUTES):
    for gname, body in GARBAGE:
        if gname in HEAVY and mi >= 6:
            continue  # the 200 KB bodies go to the first six routes only
        # A 1e400 or a 100k-item array is well-formed JSON: the field rules refuse it (400), a
        # route may first answer that the object does not exist or is not allowed (404, 409),
        # never a 2xx. Everything else is malformed JSON or the wrong shape: 400.
        exp = "400 404 409 422" if gname in ("number-1e400", "array-100k") else "400"
        add(f"json-{gname}-r{mi:02d}", exp, f"{gname} to {method} {path}",
            req(method, path, body))
BIG = b'{"name":"' + b"a" * (1024 * 1024) + b'"}'
for mi, (method, path) in enumerate(ROUTES[:3]):
    add(f"json-over-1mib-r{mi:02d}", "413", f"a body over 1 MiB to {method} {path}",
        req(method, path, BIG))
add("json-over-1mib-chunked", "413", "a chunked body over 1 MiB",
    head("POST", ORDERS, STD + ["Transfer-Encoding: chunked"],
         chunked(*[BIG[i:i + 65536] for i in range(0, len(BIG), 65536)])))
add("json-exactly-1mib-plus-1", "413", "a body of 1 MiB + 1 byte",
    req("POST", ORDERS, b" " * (1024 * 1024 - 1) + b"{}"))

# --- 7. Field values at the edges --------------------------------------------------------------
def field(name, method, path, body, exp="400"):
    add(f"field-{name}", exp, f"{method} {path}: {body[:80]!r}", req(method, path, body))


UNDERFLOW = ["1e-400", "-1e-400", "0." + "0" * 400 + "1", "1E-99999"]
for i, v in enumerate(INT64_EDGES + UNDERFLOW + ["1e400", "-1e400", "1e308", "-0.001", "0.001",
                                                 '"100"', "null", "true", "[]", "{}", "1E+400", "-1"]):
    field(f"order-price-{i}", "POST", ORDERS, sale_body(price=v))
for i, v in enumerate(INT64_EDGES + UNDERFLOW + ["1e400", "0", "-1", "0.0001", '"1"', "null"]):
    field(f"order-quantity-{i}", "POST", ORDERS, sale_body(quantity=v))
for i, v in enumerate(INT64_EDGES + UNDERFLOW + ["1e400", "-1", "0.001", '"x"']):
    field(f"order-amount-{i}", "POST", ORDERS, sale_body(extra=',"amount":%s,"currency":"points"' % v))
for i, v in enumerate(["1e400", "-1e400", "{}", "[]", "true", "null", '""', '"' + "x" * 5000 + '"',
                       "1.5", "9223372036854775808", "-9223372036854775809"]):
    field(f"order-externalid-{i}", "POST", ORDERS, sale_body(ext=v))
ORDER_SHAPES = [
    '{"order":{"externalId":"x","receiptType":"bogus","items":[{"name":"a","price":1,"quantity":1}]}}',
    '{"order":{"externalId":"x","receiptType":"sale","items":{}}}',
    '{"order":{"externalId":"x","receiptType":"sale","items":[1,2,3]}}',
    '{"order":{"externalId":"x","receiptType":"sale","items":[null]}}',
    '{"order":"x"}', '{"order":[]}', '{"order":null}', '{}',
    '{"order":{"externalId":"x","receiptType":"sale","customerPhone":79120000000,'
    '"items":[{"name":"a","price":1,"quantity":1}]}}',
    '{"order":{"externalId":"x","receiptType":"sale","customerPhone":"' + "7" * 10000 + '",'
    '"items":[{"name":"a","price":1,"quantity":1}]}}',
    sale_body(extra=',"currency":"bitcoin","amount":1'),
    sale_body(extra=',"coupons":"x"'), sale_body(extra=',"coupons":[-1]'),
    sale_body(extra=',"coupons":[9223372036854775808]'),
    sale_body(extra=',"coupons":[' + ",".join(["1"] * 100000) + "]"),
    '{"order":{"externalId":"x","receiptType":"sale","items":[' +
    ",".join(["{}"] * 100000) + "]}}",
    '{"order":{"externalId":"x","receiptType":"refund","items":[{"id":9223372036854775808,"quantity":1}]}}',
    '{"order":{"externalId":"x","receiptType":"refund","items":[{"id":-1,"quantity":1}]}}',
    '{"order":{"externalId":"x","receiptType":"sale","amountCard":1e400,'
    '"items":[{"name":"a","price":1,"quantity":1}]}}',
    '{"order":{"externalId":"x","receiptType":"sale","items":[{"name":"\xff","price":1,"quantity":1}]}}',
]
for i, body in enumerate(ORDER_SHAPES):
    field(f"order-shape-{i}", "POST", ORDERS, body.encode("latin-1") if "\xff" in body else body,
          exp="400 404 409 422")
CLIENT_1 = API + "/clients/1/"
for i, body in enumerate(['{"phone":123}', '{"phone":"' + "9" * 10000 + '"}', '{"email":"no-at"}',
                          '{"email":[]}', '{"name":{}}', '{"avatarUrl":5}', '{"phone":"abc"}',
                          '[]', '{"phone":null,"email":null,"name":[1]}']):
    field(f"client-put-{i}", "PUT", CLIENT_1, body, exp="400 409")
for i, body in enumerate(['{"phone":"+++"}', '{"email":"@"}', '{"phone":[]}', '{}',
                          '{"phone":"79120000000","email":"x"}']):
    field(f"client-post-{i}", "POST", API + "/clients/", body, exp="400 409")
SETTINGS = API + "/loyalty/settings/"
for i, body in enumerate([
        '{"customerSettings":{"type":"bogus","amount":1}}',
        '{"customerSettings":{"type":"percentage","amount":-1}}',
        '{"customerSettings":{"type":"percentage","amount":1e400}}',
        '{"customerSettings":{"type":"percentage","amount":101}}',
        '{"customerSettings":{"type":"percentage","amount":1.001}}',
        '{"customerSettings":{"type":"amount","amount":9223372036854775807}}',
        '{"customerSettings":{"type":"amount","amount":1,"validDays":-1}}',
        '{"customerSettings":{"type":"amount","amount":1,"validDays":9223372036854775808}}',
        '{"customerSettings":{"type":"amount","amount":1,"couponId":9223372036854775807}}',
        '{"customerSettings":{"type":"amount","amount":1,"couponId":-9223372036854775808}}',
        '{"customerSettings":"x"}', '{"customerSettings":[]}']):
    field(f"settings-{i}", "PUT", SETTINGS, body, exp="400 404")
RULES = API + "/loyalty/settings/write_off/rules/"
for i, body in enumerate(['{"patterns":"x"}', '{"patterns":[{"currency":"gold","amount":1}]}',
                          '{"patterns":[{"currency":"points","amount":1e400}]}',
                          '{"patterns":[{"currency":"points","amount":-9223372036854775808}]}',
                          '{"patterns":[' + ",".join(["{}"] * 100000) + "]}",
                          '{"patterns":[null]}']):
    field(f"rules-{i}", "PUT", RULES, body)
for i, body in enumerate(['{"company":5}', '{"url":[]}', '{"email":{}}', '{"phone":true}']):
    field(f"contact-{i}", "PUT", API + "/loyalty/settings/contact_info/", body)
SP = API + "/loyalty/settings/sale_points/"
for i, body in enumerate(['{"city":"x"}', '[{"id":-1,"city":"x","address":"y"}]',
                          '[{"id":9223372036854775808,"city":"x","address":"y"}]', '[1]',
                          '[' + ",".join(["{}"] * 100000) + "]",
                          '[{"city":5}]']):
    field(f"salepoints-{i}", "PUT", SP, body, exp="400 404 413")
for i, body in enumerate(['{"title":5}', '{"title":""}', '{"title":"x","validDays":-1}',
                          '{"title":"x","validDays":9223372036854775808}', '{"title":"' + "t" * 100000 + '"}',
                          '{"title":"x","validDays":1e400}']):
    field(f"catalog-{i}", "POST", API + "/loyalty/coupons/", body)
HOLD = API + "/fiscal_hub/cash_back/hold/"
for i, v in enumerate(INT64_EDGES + ["-1", "0", '"1"', "1e400"]):
    field(f"hold-clientid-{i}", "POST", HOLD, '{"clientId":%s,"currency":"points","amount":1}' % v,
          exp="400 404")
for i, v in enumerate(INT64_EDGES + UNDERFLOW + ["1e400", "-1", "0.001", '"1"']):
    field(f"hold-amount-{i}", "POST", HOLD, '{"clientId":1,"currency":"points","amount":%s}' % v,
          exp="400 404")
for i, body in enumerate(['{"transactionId":5}', '{"transactionId":"' + "f" * 100000 + '"}',
                          '{"transactionId":"\\u0000"}', '{"transactionId":null}', '{}',
                          '{"transactionId":"zz","fiscalOrderId":{}}']):
    field(f"hold-writeoff-{i}", "POST", API + "/fiscal_hub/cash_back/hold/write_off/", body,
          exp="400 404")
    field(f"hold-cancel-{i}", "POST", API + "/fiscal_hub/cash_back/hold/cancel/", body, exp="400 404")
for i, body in enumerate(['{"orderItems":"x"}', '{"orderItems":[9223372036854775808]}',
                          '{"orderItems":[-1]}', '{"orderItems":[]}',
                          '{"orderItems":[' + ",".join(["1"] * 100000) + "]}"]):
    field(f"hub-refund-{i}", "POST", API + "/fiscal_hub/cash_back/refund/", body, exp="400 404 409")
WO = API + "/clients/1/balance/write_off/"
for i, body in enumerate(['{"balance":"x"}', '{"balance":[{"amount":1e400,"currency":"points"}]}',
                          '{"balance":[{"amount":9223372036854775808,"currency":"points"}]}',
                          '{"balance":[{"amount":1,"currency":"yen"}]}', '{"coupons":[-1]}']):
    field(f"writeoff-{i}", "POST", WO, body, exp="400 404")
for i, v in enumerate(INT64_EDGES + ['"1"', "null", "1.5"]):
    field(f"issue-couponid-{i}", "POST", API + "/clients/1/coupons/", '{"couponId":%s}' % v,
          exp="400 404")
for i, body in enumerate(['{"reaction":"angry"}', '{"reaction":5}', '{"reaction":"positive","comment":5}',
                          '{"reaction":"positive","comment":"' + "c" * 200000 + '"}']):
    field(f"reaction-{i}", "POST", ORDERS + "1/reaction/", body)
for i, body in enumerate(['{"email":"x@y.z","password":"1","role":"cashier"}',
                          '{"email":"x@y.z","password":"long-enough","role":"god"}',
                          '{"email":"no-at","password":"long-enough","role":"cashier"}',
                          '{"password":"long-enough","role":"cashier"}']):
    field(f"employee-{i}", "POST", API + "/employees/", body)

# --- 8. Paths and query strings ----------------------------------------------------------------
PATHS = [
    ("clients-id-int64-max", "GET", API + "/clients/9223372036854775807/", "404"),
    ("clients-id-over-int64", "GET", API + "/clients/9223372036854775808/", "404"),
    ("clients-id-negative", "GET", API + "/clients/-1/", "404"),
    ("clients-id-zero", "GET", API + "/clients/0/", "404"),
    ("clients-id-exponent", "GET", API + "/clients/1e3/", "404"),
    ("clients-id-nul", "GET", API + "/clients/1%00/", "400"),
    ("clients-id-nul-suffix", "GET", API + "/clients/1%00abc/", "400"),
    ("clients-id-invalid-utf8", "GET", API + "/clients/%ff%fe/", "404"),
    ("clients-id-raw-invalid-utf8", "GET", API + "/clients/\xff\xfe/", "404"),
    ("dot-dot", "GET", API + "/../../../etc/passwd", "404"),
    ("encoded-dot-dot", "GET", API + "/media/%2e%2e%2fetc%2fpasswd", "404"),
    ("media-bad-name", "GET", API + "/media/../kopilka.db", "404"),
    ("double-slash", "GET", API + "//clients//", "404"),
    ("put-orders", "PUT", ORDERS, "405"),
    ("delete-clients", "DELETE", API + "/clients/1/", "405"),
    ("unknown", "GET", API + "/nope/", "404"),
]
for name, method, path, exp in PATHS:
    add(f"path-{name}", exp, f"{method} {path[:60]}",
        req(method, path.encode("latin-1").decode("latin-1"), None, ct=None).replace(
            path.encode("utf-8"), path.encode("latin-1")))
QUERIES = [
    ("limit-negative", "limit=-1"), ("limit-junk", "limit=abc"), ("limit-exponent", "limit=1e3"),
    ("limit-over-int64", "limit=9223372036854775808"), ("offset-over-uint64", "offset=18446744073709551616"),
    ("offset-negative", "offset=-9223372036854775808"), ("offset-float", "offset=1.5"),
    ("phone-invalid-utf8", "phone=%ff%fe"), ("phone-nul", "phone=7912%00"),
    ("email-invalid-utf8", "email=%c3%28"), ("key-invalid-utf8", "%ff=1"), ("key-nul", "a%00b=1"),
    ("phone-garbage-exact", "phone=not-a-phone"), ("email-garbage-exact", "email=@@@"),
]
for name, q in QUERIES:
    add(f"query-clients-{name}", "400", f"GET /clients/?{q}",
        req("GET", API + "/clients/?" + q, None, ct=None))
for name, q in [("from-junk", "from=yesterday"), ("to-over-int64", "to=9223372036854775808"),
                ("receipt-type-bogus", "receipt_type=bogus"), ("client-id-junk", "client_id=x"),
                ("limit-empty", "limit=")]:
    add(f"query-orders-{name}", "400", f"GET /fiscal/orders/?{q}",
        req("GET", ORDERS + "?" + q, None, ct=None))
for name, q in [("type-bogus", "type=bogus&token=1"), ("no-token", "type=linked"),
                ("token-invalid-utf8", "type=merchant&token=%ff")]:
    add(f"query-coupon-lookup-{name}", "400 404", f"GET /clients/coupons/?{q}",
        req("GET", API + "/clients/coupons/?" + q, None, ct=None))
for name, q in [("from-junk", "from=x"), ("to-negative", "to=-5"), ("limit-over-int64", "limit=9223372036854775808")]:
    add(f"query-history-{name}", "400", f"GET /clients/1/balance/history/?{q}",
        req("GET", API + "/clients/1/balance/history/?" + q, None, ct=None))
add("query-10000-params", "400 431 414 close mhd", "10000 query parameters",
    req("GET", API + "/clients/?" + "&".join(f"p{i}=1" for i in range(10000)), None, ct=None))
add("query-share-redeem-junk", "400 404", "share redeem with a garbage token",
    req("PUT", API + "/coupons/share/redeem/?token=%ff&phone=x", None, ct=None))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    names = set()
    for n, (name, expect, why, data) in enumerate(entries, 1):
        assert name not in names, name
        names.add(name)
        with open(os.path.join(OUT, f"{n:03d}-{name}.http"), "wb") as f:
            f.write(f"# expect: {expect} | {why}\n".encode("utf-8", "replace") + data)
    print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
    main()
