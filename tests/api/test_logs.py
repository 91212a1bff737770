"""Issue 17, logs: SIGHUP reopens --access-log (a rotation loses and tears no line, the server
keeps serving); --log-format auto|json|text (auto: text on a terminal, JSON on a pipe or file);
stderr lines stay one per event, with a syslog priority when stderr is the journal.

Logging does not depend on the database engine, so these servers run on SQLite alone."""
import concurrent.futures
import json
import os
import pty
import re
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import (KOPILKAD, OWNER_A, Server, Session, free_port, init_merchant, run_cli, scale,
                      stop_process)

# 14:02:11.482 INFO  GET    /healthz                             200    0.1 ms
TEXT_ACCESS = re.compile(
    r"^\d\d:\d\d:\d\d\.\d{3} INFO  (?P<method>[A-Z]+) +(?P<route>/\S*) +(?P<status>\d{3}) +"
    r"\d+\.\d ms$")
TEXT_MSG = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARN |ERROR) \S")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WAIT_S = 20


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("logs") / "kopilka.db")
    init_merchant(path, *OWNER_A)
    return path


def wait_for(what, predicate):
    """Polls predicate until it holds (a bounded wait for the server, not a timing assert)."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"still waiting after {WAIT_S} s for {what}"
        time.sleep(0.02)


def read_lines(path):
    """The file's lines; every one must be complete (the file ends with a newline)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), f"{path} ends in a torn line: {text[-200:]!r}"
    return text.splitlines()


def json_lines(path):
    out = []
    for line in read_lines(path):
        try:
            out.append(json.loads(line))
        except ValueError:
            pytest.fail(f"{path}: a line that is not one JSON object: {line!r}")
    return out


def healthz(server, session=None):
    r = (session or Session()).get(f"http://127.0.0.1:{server.port}/healthz")
    assert r.status_code == 200, r.text
    return r.headers["X-Request-Id"]


def serve(db, tmp_path, *flags):
    return Server(db, str(tmp_path), ("--threads", "4") + flags).start()


def stop_cleanly(server):
    rc = server.stop()
    assert rc == 0, f"kopilkad serve exited {rc}:\n{server.log_tail()}"


def log_count(server, text):
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        return f.read().count(text)


REOPENED = "received SIGHUP: reopened the access log"


def test_sighup_after_rename_moves_new_lines_to_a_new_file(db, tmp_path):
    access = tmp_path / "access.log"
    server = serve(db, tmp_path, "--access-log", str(access))
    try:
        before = [healthz(server) for _ in range(5)]
        wait_for("5 access lines", lambda: len(read_lines(access)) == 5)
        os.rename(access, tmp_path / "access.log.1")
        server.proc.send_signal(signal.SIGHUP)
        wait_for("the reopen", lambda: log_count(server, REOPENED) == 1)
        assert server.proc.poll() is None, "SIGHUP stopped the server"
        after = [healthz(server) for _ in range(5)]
    finally:
        stop_cleanly(server)
    old = json_lines(tmp_path / "access.log.1")
    new = json_lines(access)
    assert [l["request_id"] for l in old] == before
    assert [l["request_id"] for l in new] == after
    assert all(l["msg"] == "request" and l["route"] == "/healthz" for l in old + new)
    # The reopen is logged on stderr, with the file's path.
    assert f"{REOPENED} {access}" in server.log_tail(100000)


def test_many_sighups_during_a_stream_lose_and_tear_no_line(db, tmp_path):
    access = tmp_path / "access.log"
    server = serve(db, tmp_path, "--access-log", str(access))
    rotations = scale(20, 200)  # make stress: more reopens
    stop = threading.Event()

    def stream():
        ids = []
        with Session() as s:
            while not stop.is_set():
                ids.append(healthz(server, s))
        return ids

    sent = []
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            streams = [pool.submit(stream) for _ in range(4)]
            try:
                for k in range(1, rotations + 1):
                    # Requests reach the file being rotated: the stream is flowing.
                    wait_for("an access line", lambda: access.exists() and access.stat().st_size > 0)
                    os.rename(access, tmp_path / f"access.log.{k}")
                    server.proc.send_signal(signal.SIGHUP)
                    wait_for(f"reopen {k}", lambda: log_count(server, REOPENED) == k)
                wait_for("an access line after the last reopen",
                         lambda: access.exists() and access.stat().st_size > 0)
            finally:
                stop.set()
            for f in streams:
                sent += f.result()
        assert server.proc.poll() is None, "SIGHUP stopped the server"
        files = [access] + [tmp_path / f"access.log.{k}" for k in range(1, rotations + 1)]
        # A line is written just after its answer is sent: wait for the last ones.
        wait_for(f"{len(sent)} access lines",
                 lambda: sum(len(read_lines(p)) for p in files) >= len(sent))
    finally:
        stop_cleanly(server)
    logged = []
    for path in files:
        lines = json_lines(path)
        assert lines, f"{path} holds no line: rotations did not happen during the stream"
        logged += [l["request_id"] for l in lines]
    assert len(logged) == len(sent), f"{len(sent)} requests, {len(logged)} access lines"
    assert sorted(logged) == sorted(sent), "a request's line is missing or written twice"
    assert len(set(sent)) == len(sent)


def test_sighup_without_access_log_keeps_serving(db, tmp_path):
    server = serve(db, tmp_path)
    try:
        server.proc.send_signal(signal.SIGHUP)
        wait_for("the SIGHUP note", lambda: log_count(server, "no --access-log to reopen") == 1)
        healthz(server)
    finally:
        stop_cleanly(server)


def test_failed_reopen_keeps_the_old_file(db, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    server = serve(db, tmp_path, "--access-log", str(logs / "access.log"))
    try:
        first = healthz(server)
        wait_for("the first line", lambda: len(read_lines(logs / "access.log")) == 1)
        os.rename(logs, tmp_path / "logs.old")  # the path cannot be created again
        server.proc.send_signal(signal.SIGHUP)
        wait_for("the error", lambda: log_count(server, "cannot reopen --access-log") == 1)
        second = healthz(server)
        wait_for("the second line", lambda: len(read_lines(tmp_path / "logs.old/access.log")) == 2)
    finally:
        stop_cleanly(server)
    lines = json_lines(tmp_path / "logs.old/access.log")
    assert [l["request_id"] for l in lines] == [first, second]
    err = [json.loads(l) for l in read_lines(server.log_path) if "cannot reopen" in l]
    assert err[0]["level"] == "error" and str(logs / "access.log") in err[0]["msg"]


def test_text_format_is_short_human_lines(db, tmp_path):
    server = serve(db, tmp_path, "--log-format", "text")
    try:
        healthz(server)
        Session(("nobody@example.com", "wrong-password")).get(server.base + "/clients/")
        wait_for("two access lines",
                 lambda: sum(bool(TEXT_ACCESS.match(l)) for l in read_lines(server.log_path)) == 2)
    finally:
        stop_cleanly(server)
    lines = read_lines(server.log_path)
    assert not any(ANSI.search(l) for l in lines), "colours in a file"
    access = [TEXT_ACCESS.match(l) for l in lines if TEXT_ACCESS.match(l)]
    assert [(m["method"], m["route"], m["status"]) for m in access] == [
        ("GET", "/healthz", "200"), ("GET", "/ext/api/v1/clients/", "401")]
    # The route column is padded, so the two statuses start in the same column.
    assert access[0].start("status") == access[1].start("status")
    others = [l for l in lines if not TEXT_ACCESS.match(l)]
    assert any("INFO  kopilkad serving on 127.0.0.1:" in l for l in others), others
    assert any(l.endswith("INFO  stopped cleanly") for l in others), others
    for l in others:
        assert TEXT_MSG.match(l), f"not a text log line: {l!r}"
        assert not l.lstrip().startswith("{")


def test_json_format_is_json_lines(db, tmp_path):
    server = serve(db, tmp_path, "--log-format", "json")
    try:
        rid = healthz(server)
    finally:
        stop_cleanly(server)
    lines = json_lines(server.log_path)
    assert any(l["msg"] == "request" and l["request_id"] == rid and l["status"] == 200 for l in lines)
    assert any(l["msg"].startswith("kopilkad serving on") and l["level"] == "info" for l in lines)


def start_with_stderr(db, stderr, extra_env=None, *flags):
    """kopilkad serve with stdout and stderr on `stderr` (a file, a descriptor or PIPE: two pipes);
    waits for the port."""
    port = free_port()
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.Popen([KOPILKAD, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                             "--threads", "2", *flags],
                            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, env=env)
    try:
        wait_for("the port", lambda: proc.poll() is not None or _listening(port))
    except AssertionError:
        stop_process(proc)
        raise
    assert proc.poll() is None, f"kopilkad serve exited {proc.returncode}"
    return proc, port


def _listening(port):
    try:
        Session().get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        return True
    except OSError:
        return False


def test_auto_on_a_pipe_is_json(db):
    proc, port = start_with_stderr(db, subprocess.PIPE, {"KOPILKA_LOG_FORMAT": "auto"})
    try:
        r = Session().get(f"http://127.0.0.1:{port}/healthz")
        rid = r.headers["X-Request-Id"]
    finally:
        assert stop_process(proc) == 0
    text = proc.stderr.read().decode()
    proc.stderr.close()
    proc.stdout.close()
    lines = [json.loads(l) for l in text.splitlines()]
    assert any(l["msg"] == "request" and l["request_id"] == rid for l in lines), text
    assert "\x1b" not in text


def read_pty(master, until, deadline_s=WAIT_S):
    """What the terminal shows, read until `until` matches it (or the child closed it)."""
    out = b""
    deadline = time.monotonic() + deadline_s
    while not until(out) and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has gone
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.parametrize("no_color", [False, True])
def test_auto_on_a_terminal_is_text(db, no_color):
    master, slave = pty.openpty()
    env = {"TERM": "xterm", "NO_COLOR": "1" if no_color else ""}
    try:
        proc, port = start_with_stderr(db, slave, env)
    finally:
        os.close(slave)
    try:
        Session().get(f"http://127.0.0.1:{port}/healthz")
        shown = read_pty(master, lambda out: b"/healthz" in out and out.count(b"\n") >= 3)
    finally:
        assert stop_process(proc) == 0
        shown += read_pty(master, lambda out: b"stopped cleanly" in out)
        os.close(master)
    text = shown.decode().replace("\r\n", "\n")
    assert ("\x1b[" in text) != no_color, f"colours must show on a terminal unless NO_COLOR: {text!r}"
    lines = [ANSI.sub("", l) for l in text.splitlines() if l]
    health = [l for l in lines if "/healthz" in l]
    assert health and all(TEXT_ACCESS.match(l) for l in health), lines
    assert any("kopilkad serving on" in l and TEXT_MSG.match(l) for l in lines), lines
    assert not any(l.startswith("{") for l in lines), lines


@pytest.mark.parametrize("where", ["flag", "env"])
def test_bad_log_format_names_the_flag_and_the_choices(db, where):
    if where == "flag":
        p = run_cli("serve", "--db", db, "--log-format", "xml")
    else:
        p = subprocess.run([KOPILKAD, "serve", "--db", db], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, KOPILKA_LOG_FORMAT="xml"))
    assert p.returncode == 2, p.stderr
    assert "--log-format" in p.stderr and "auto|json|text" in p.stderr and '"xml"' in p.stderr, p.stderr
    if where == "env":
        assert "KOPILKA_LOG_FORMAT" in p.stderr, p.stderr


def test_help_lists_log_format_and_sighup():
    p = run_cli("--help")
    assert "--log-format" in p.stdout and "KOPILKA_LOG_FORMAT" in p.stdout
    assert "SIGHUP" in p.stdout


@pytest.mark.parametrize("matches", [True, False])
def test_journal_lines_carry_a_syslog_priority(db, tmp_path, matches):
    """systemd names the journal stream in JOURNAL_STREAM; a value inherited by a process whose
    stderr goes elsewhere must not add the prefix."""
    log_path = tmp_path / f"journal-{matches}.log"
    with open(log_path, "wb") as log:
        st = os.fstat(log.fileno())
        stream = f"{st.st_dev}:{st.st_ino}" if matches else f"{st.st_dev}:{st.st_ino + 1}"
        # One failed login locks it: a warning line beside the info lines.
        proc, port = start_with_stderr(db, log, {"JOURNAL_STREAM": stream},
                                       "--lockout-login-failures", "1")
    try:
        Session().get(f"http://127.0.0.1:{port}/healthz")
        Session((f"nobody-{matches}@example.com", "wrong-password")).get(
            f"http://127.0.0.1:{port}/ext/api/v1/clients/")
    finally:
        assert stop_process(proc) == 0
    lines = read_lines(log_path)
    assert any('"level":"warn"' in l for l in lines), lines
    for line in lines:
        m = re.match(r"^<(\d)>", line)
        assert bool(m) == matches, line
        obj = json.loads(line[m.end():] if m else line)
        if m:
            want = {"debug": "7", "info": "6", "warn": "4", "error": "3"}[obj["level"]]
            assert m.group(1) == want, line


def test_terminal_hangup_still_stops_the_server(db):
    """A SIGHUP from a process reopens the logs; the one the kernel sends when the controlling
    terminal hangs up (its window closed) stops a server started in it, as before."""
    port = free_port()
    pid, master = pty.fork()  # the child leads a session whose controlling terminal is the pty
    if pid == 0:
        try:
            os.execv(KOPILKAD, [KOPILKAD, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                                "--threads", "2"])
        finally:
            os._exit(127)
    try:
        shown = read_pty(master, lambda out: b"serving on" in out)
        assert b"serving on" in shown, shown
        wait_for("the port", lambda: _listening(port))
        os.kill(pid, signal.SIGHUP)  # from a process: reopens, keeps serving
        shown = read_pty(master, lambda out: b"no --access-log to reopen" in out)
        assert b"no --access-log to reopen" in shown, shown
        assert _listening(port)
    finally:
        os.close(master)  # the terminal hangs up
    deadline = time.monotonic() + WAIT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the server kept running after its terminal hung up")
        time.sleep(0.05)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_make_run_on_a_terminal_shows_short_lines_and_the_welcome(tmp_path):
    """`make run` as a person sees it: scripts/run.sh on a terminal prints the server's text
    lines (no JSON), the welcome with working credentials, then a line per request; closing
    the terminal stops the server."""
    from conftest import REPO
    port = free_port()
    env = dict(os.environ, KOPILKA_DB=str(tmp_path / "var" / "kopilka.db"),
               KOPILKA_LISTEN=f"127.0.0.1:{port}", TERM="xterm", NO_COLOR="")
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.chdir(REPO)
            os.execve("/bin/bash", ["bash", "scripts/run.sh"], env)
        finally:
            os._exit(127)
    try:
        shown = read_pty(master, lambda out: b"Each request is logged below" in out, 60)
        assert b"Each request is logged below" in shown, shown
        s = Session(("demo@kopilka.local", "demo-password"))
        assert s.get(f"http://127.0.0.1:{port}/ext/api/v1/clients/1/balance/").status_code == 200
        shown += read_pty(master, lambda out: b"/balance/" in out)
    finally:
        os.close(master)
        deadline = time.monotonic() + WAIT_S
        while not os.waitpid(pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
    wait_for("the server to stop", lambda: not _listening(port))
    text = ANSI.sub("", shown.decode().replace("\r\n", "\n"))
    lines = [l for l in text.splitlines() if l.strip()]
    assert not any(l.lstrip().startswith("{") for l in lines), text
    access = [l for l in lines if " /ext/api/v1/" in l or " /healthz" in l]
    # The readiness probe and the request above: the demo's history is made by servers whose
    # clock is set back, and they log to var/demo-history.log instead.
    assert len(access) >= 2, text
    assert len((tmp_path / "var" / "demo-history.log").read_text().splitlines()) >= 12
    for l in access:
        assert TEXT_ACCESS.match(l), f"not a short access line: {l!r}"
    welcome = text.index("kopilka is serving on")
    assert f"kopilka is serving on http://127.0.0.1:{port}" in text
    assert "demo@kopilka.local" in text[welcome:] and "curl -u" in text[welcome:]
    assert "/clients/{id}/balance/" in text[welcome:]  # the request made after the welcome
    assert "\x1b[1m" in shown.decode(), "the welcome is not set apart on a terminal"
