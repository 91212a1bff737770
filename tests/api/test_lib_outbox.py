# libkopilka's offline outbox (issue 16), black-box: tests/lib/outbox_driver.c, a POS terminal
# built on the library, posts a stream of sales through its outbox file while kopilkad is
# stopped, started, SIGSTOPped and SIGKILLed, and while the driver itself is SIGKILLed, once in
# the middle of a request the server had received. Afterwards every sale is on the server exactly
# once, the refused ones (a business rule: more points spent than the client has) are failed
# entries of the outbox and nowhere on the server, and the points are exact.
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import KOPILKAD, OWNER_A, Server, body_of, free_port, new_phone, rule, uniq
from rel_common import api_key_auth

DRIVER = os.path.join(os.path.dirname(os.path.abspath(KOPILKAD)), "kopilka_outbox_driver")
ORDERS = 60
BAD_EVERY = 10  # sales 9, 19, ... spend 1,000,000 points: refused for good
ACCRUAL = 10
STEP_TIMEOUT_S = 60


class PortServer(Server):
    """kopilkad on one port across restarts, since the terminal keeps its URL."""

    def __init__(self, db, workdir, flags, port):
        super().__init__(db, workdir, flags)
        self.fixed_port = port

    def start(self):
        self.log_path = os.path.join(self.workdir, f"serve-lib-{time.monotonic_ns()}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [KOPILKAD, "serve", "--db", self.db, "--listen", f"127.0.0.1:{self.fixed_port}",
                 *self.flags], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.port = self.fixed_port
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"kopilkad exited:\n{self.log_tail()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"kopilkad did not listen on {self.port}:\n{self.log_tail()}")


class Driver:
    """One run of the driver; its output lines are read by a thread into a queue."""

    def __init__(self, args):
        self.proc = subprocess.Popen([DRIVER, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def allow(self, n):
        """Lets a driver in step mode post n more orders."""
        self.proc.stdin.write("go\n" * n)
        self.proc.stdin.flush()

    def go_free(self):
        self.proc.stdin.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # our own driver, by its PID
        self.proc.wait(timeout=30)
        self.thread.join(timeout=30)

    def wait(self, timeout):
        rc = self.proc.wait(timeout=timeout)
        self.thread.join(timeout=30)
        return rc


@pytest.fixture
def terminal(env, tmp_path):
    """(start(extra args) -> Driver, base URL, phone); every driver killed at the end."""
    assert os.path.exists(DRIVER), f"{DRIVER} not built (make build)"
    login, key = api_key_auth(env.a, OWNER_A[0])
    port = free_port()
    env.server.stop()
    env.server = PortServer(env.db, env.tmp, env.server.flags, port).start()
    url = f"http://127.0.0.1:{port}"
    outbox = str(tmp_path / "outbox.db")
    drivers = []

    def start(*args):
        d = Driver([url, login, key, outbox, *args])
        drivers.append(d)
        return d

    yield start
    for d in drivers:
        d.kill()
    if env.server.proc.poll() is not None:  # leave a running server for the module's close
        env.server = PortServer(env.db, env.tmp, env.server.flags, env.server.fixed_port).start()
    else:
        env.server.proc.send_signal(signal.SIGCONT)


def read_orders(driver, n, seen):
    """Lets the driver post n orders and waits for their lines; returns their statuses."""
    driver.allow(n)
    got = 0
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while got < n:
        try:
            line = driver.lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"the driver printed {got} of {n} lines in {STEP_TIMEOUT_S} s")
        if line is None:
            break
        if line.startswith("order "):
            seen.append(line.split())
            got += 1
    assert got == n, f"the driver ended after {got} of {n} orders"
    return [line[2] for line in seen[-n:]]


def test_outbox_survives_server_and_terminal_failures(env, A, terminal):
    A.settings(active=True, newCustomerSettings=rule("amount", ACCRUAL),
               customerSettings=rule("amount", ACCRUAL))
    phone = new_phone()
    prefix = uniq("pos")
    args = (phone, prefix, str(ORDERS), str(BAD_EVERY))
    seen = []

    # 1. Server up: orders acknowledged; the terminal SIGKILLed between two of them.
    d = terminal(*args, "step")
    assert read_orders(d, 6, seen) == ["ok"] * 6
    d.kill()
    # 2. The server stopped: orders are queued, not lost. (Order 9 is refused: "http".)
    d = terminal(*args, "step")
    assert read_orders(d, 4, seen) == ["ok", "ok", "ok", "http"]
    assert env.server.stop() == 0
    assert read_orders(d, 8, seen) == ["queued"] * 8
    # 3. Started again: the next order sends the queue first, in order, then itself.
    env.server.start()
    assert read_orders(d, 4, seen) == ["ok", "http", "ok", "ok"]  # orders 18..21
    # 4. The server SIGKILLed between orders, then restarted.
    env.server.proc.send_signal(signal.SIGKILL)
    env.server.proc.wait(timeout=30)
    assert read_orders(d, 5, seen) == ["queued"] * 5
    env.server.start()
    assert read_orders(d, 5, seen) == ["ok", "ok", "http", "ok", "ok"]  # orders 27..31
    # 5. The terminal SIGKILLed mid-send: the server frozen (SIGSTOP) holds its request
    #    unanswered, then goes on after the terminal is dead (committing the order or not): the
    #    outbox entry is still pending either way.
    env.server.proc.send_signal(signal.SIGSTOP)
    d.allow(1)
    time.sleep(1.0)
    assert d.lines.empty(), "the order was answered by a stopped server"
    d.kill()
    env.server.proc.send_signal(signal.SIGCONT)
    # 6. A restarted terminal posts the rest (order 32 again, as a POS that lost its answer
    #    would: the server replays it); a flush sends whatever is left.
    d = terminal(*args)
    d.go_free()
    assert d.wait(timeout=STEP_TIMEOUT_S * 2) == 0, d.proc.stderr.read()
    f = terminal("--flush", "30")
    assert f.wait(timeout=STEP_TIMEOUT_S) == 0, f.proc.stderr.read()
    status_lines = []
    while not f.lines.empty():
        line = f.lines.get()
        if line and line.startswith("status "):
            status_lines.append(line)
    status = json.loads(status_lines[-1][len("status "):])

    bad = {f"{prefix}-{i}" for i in range(ORDERS) if i % BAD_EVERY == BAD_EVERY - 1}
    good = {f"{prefix}-{i}" for i in range(ORDERS)} - bad
    assert status["pending"] == 0, status
    failed = status["entries"]
    assert {e["externalId"] for e in failed} == bad, failed
    for e in failed:
        assert e["state"] == "failed" and e["httpStatus"] == 400, e
        assert e["code"] == "insufficient_funds", e
    # An order posted again after a kill is a second entry with the same keys: still one order.
    assert status["sent"] >= len(good), status

    client = A.client(phone)
    orders = body_of(A.get("/fiscal/orders/", params={"client_id": client["id"], "limit": 1000}))
    ext_ids = [o["externalOrderNumber"] for o in orders]
    assert sorted(ext_ids) == sorted(good), "every sale exactly once, no refused one"
    assert client["totalPurchases"] == len(good)
    assert A.balance(client["id"]) == ACCRUAL * len(good)
