"""A local HTTP/2 stand-in for Apple's push service (APNs), for tests/api/test_wallet_passkit.py:
plain-text HTTP/2 (h2c, prior knowledge, as kopilkad speaks to an http:// --apns-url) on
127.0.0.1 with Debian's python3-h2. It records each request (method, path, headers, body) and
answers 200, or the status set for a device token (410 for one APNs calls unregistered)."""
import socket
import threading
import time

import h2.config
import h2.connection
import h2.events


class ApnsStandIn:
    def __init__(self, port):
        self.port = port
        self.requests = []
        self.status_for = {}  # push token -> status
        self._lock = threading.Lock()
        self._sock = None
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        s.settimeout(0.2)
        self._sock = s
        self._stop.clear()
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []
        if self._sock:
            self._sock.close()
            self._sock = None

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()

    def _serve(self, sock):
        sock.settimeout(0.2)
        h2c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False,
                                                                          header_encoding="utf-8"))
        h2c.initiate_connection()
        sock.sendall(h2c.data_to_send())
        streams = {}
        try:
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                for ev in h2c.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        streams[ev.stream_id] = {"headers": dict(ev.headers), "body": b""}
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id]["body"] += ev.data
                        h2c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        req = streams.pop(ev.stream_id)
                        path = req["headers"].get(":path", "")
                        token = path.rsplit("/", 1)[-1]
                        status = self.status_for.get(token, 200)
                        with self._lock:
                            self.requests.append({"method": req["headers"].get(":method"), "path": path,
                                                  "headers": req["headers"], "body": req["body"]})
                        body = b'{"reason":"Unregistered"}' if status == 410 else b""
                        h2c.send_headers(ev.stream_id, [(":status", str(status)),
                                                        ("content-length", str(len(body)))],
                                         end_stream=not body)
                        if body:
                            h2c.send_data(ev.stream_id, body, end_stream=True)
                sock.sendall(h2c.data_to_send())
        except OSError:
            pass
        finally:
            sock.close()

    def pushes_to(self, token):
        with self._lock:
            return [r for r in self.requests if r["path"] == f"/3/device/{token}"]

    def wait_push(self, token, n=1, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.pushes_to(token)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"APNs stand-in: {len(self.pushes_to(token))} pushes to {token}, want {n}")
