# Raw-socket HTTP for the reliability tests of bad requests (docs/RELIABILITY.md section 8): send
# bytes exactly as given and classify what comes back, without an HTTP library in between that
# would fix the request up or hide how the connection ended.
import json
import socket
import time


class Answer:
    """What the server did with one request.

    kind: "close" (the connection ended with no answer), "json" (an answer with a JSON body),
    "other" (an answer with another body, e.g. libmicrohttpd's own HTML refusals) or "hang"
    (neither an answer nor a close in time)."""

    def __init__(self, kind, status=None, headers=None, body=b"", elapsed=0.0, closed=False):
        self.kind = kind
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.elapsed = elapsed
        self.closed = closed  # the server closed the connection after the answer

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return (f"<{self.kind} {self.status} in {self.elapsed:.2f}s closed={self.closed} "
                f"{dict(self.headers)} {self.body[:300]!r}>")


def _parse_head(buf):
    """(status, headers) of the first answer in buf, or None while its head is incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return (0, {}, end + 4)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return (int(parts[1]), headers, end + 4)


def exchange(port, data, timeout=5.0, source="127.0.0.1", wait_close=0.0):
    """Sends data on a new connection from `source` and reads the first answer.

    Returns an Answer within `timeout` seconds of the connect. With wait_close > 0, after a
    complete answer waits that long more to see whether the server closes the connection."""
    start = time.monotonic()
    deadline = start + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused early and closed: read what it said
        except socket.timeout:
            pass  # it stopped reading (a deadline or a refusal): see what follows
        buf = b""
        head = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Answer("hang", body=buf, elapsed=time.monotonic() - start)
            s.settimeout(left)
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                return Answer("hang", body=buf, elapsed=time.monotonic() - start)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            head = head or _parse_head(buf)
            while head and 100 <= head[0] <= 199:  # an interim answer (100 Continue): skip it
                buf = buf[head[2]:]
                head = _parse_head(buf)
            if head and len(buf) - head[2] >= int(head[1].get("content-length", "0") or 0):
                if wait_close <= 0:
                    break
                # the answer is complete: does the connection stay open?
                s.settimeout(wait_close)
                try:
                    more = s.recv(1 << 16)
                    closed = not more
                except socket.timeout:
                    closed = False
                except ConnectionResetError:
                    closed = True
                return _answer(buf, head, start, closed)
        head = head or _parse_head(buf)
        if not buf:
            return Answer("close", elapsed=time.monotonic() - start, closed=True)
        if not head:
            return Answer("other", status=0, body=buf, elapsed=time.monotonic() - start, closed=True)
        return _answer(buf, head, start, True)
    finally:
        s.close()


def _answer(buf, head, start, closed):
    status, headers, body_at = head
    n = int(headers.get("content-length", "0") or 0)
    body = buf[body_at:body_at + n]
    kind = "json" if headers.get("content-type", "").startswith("application/json") else "other"
    return Answer(kind, status, headers, body, time.monotonic() - start, closed)
