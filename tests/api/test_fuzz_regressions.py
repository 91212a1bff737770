# Regression tests of defects the fuzz targets of fuzz/ found (docs/RELIABILITY.md section 9);
# each crashing input is also kept in fuzz/corpus/<target>/.
import json
import socket

from conftest import *


def raw_request(env, request_line, headers=b""):
    """Sends one request by hand (bytes no HTTP library would send) and returns the status
    and the body, read to the end (Connection: close)."""
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=30) as s:
        s.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def strict_json(body):
    """The body as JSON, refusing what is not UTF-8 (json.loads of bytes would guess)."""
    return json.loads(body.decode("utf-8", errors="strict"))


def test_a_method_that_is_not_utf8_is_echoed_as_valid_json(env):
    # fuzz_route: a request method of bytes that are not UTF-8 was copied raw into the 405 and
    # 404 messages and the access log, which then were not JSON (fuzz/corpus/fuzz_route/crash-*).
    for method, path, status in ((b"\xc7", b"/ext/api/v1/clients/", 405),
                                 (b"G\xffT", b"/ext/api/v1/no/such/", 404),
                                 (b"\xe2\x82", b"/healthz", 405)):
        got, body = raw_request(env, method + b" " + path + b" HTTP/1.1")
        assert got == status, body
        doc = strict_json(body)
        assert set(doc) == ERROR_KEYS
        assert "\ufffd" in doc["message"]
    # A method in valid UTF-8 is echoed as it is.
    got, body = raw_request(env, "ПОСТ".encode() + b" /ext/api/v1/clients/ HTTP/1.1")
    assert got == 405
    assert "ПОСТ" in strict_json(body)["message"]
    # Every access line of the server's log is still JSON.
    with open(env.server.log_path, "rb") as f:
        for line in f.read().splitlines():
            if line.startswith(b"{"):
                strict_json(line)
