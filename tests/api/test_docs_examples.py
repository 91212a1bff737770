# The documentation's shell examples, run as a reader types them (issue 17): every ```sh,
# ```bash and ```console block of README.md and docs/*.md (not PERFORMANCE.md and
# RELIABILITY.md, whose commands are measurements that take minutes), in order, one bash per
# file, against a fresh server holding `make run`'s demo database, built by scripts/run.sh
# itself so that the examples meet exactly what `make run` gives a reader.
#
# The convention (docs/DEVELOPING.md, "The examples in the documentation"):
# - blocks reach the server through $KOPILKA, which a file's first block sets as
#   KOPILKA=${KOPILKA:-http://127.0.0.1:8080}; the test sets KOPILKA to its own server, so a run
#   block must name 127.0.0.1:8080 nowhere else (it would reach whatever serves that port);
# - `<!-- example: skip REASON -->` on the line before a block marks a command that cannot run
#   here (it installs a package, needs root, systemd or PostgreSQL, or stops the server): it is
#   reported as a skipped test with its file, line and reason, so the list is visible in the
#   summary (pytest -rs prints it);
# - a ```text block after `<!-- screen: make run -->` is what make run prints: each of its
#   lines must appear in the real output.
# Each block runs under `set -euo pipefail`, with curl wrapped to add `-fsS` (a 4xx or 5xx
# answer fails the command) and to report every transfer's status, which must be 2xx.
import os
import re
import subprocess
import time
from dataclasses import dataclass

import pytest

from conftest import KOPILKAD, REPO, free_port, run_cli, stop_process
from test_uploads import PNG, WEBP

NOT_RUN = {"PERFORMANCE.md", "RELIABILITY.md"}
DOC_FILES = ["README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir(os.path.join(REPO, "docs"))
    if name.endswith(".md") and name not in NOT_RUN)
SHELL_LANGS = {"sh", "bash", "console"}
FENCE = re.compile(r"^\s*```(\S*)\s*$")
SKIP = re.compile(r"^<!-- example: skip (.+?) -->$")
SCREEN = re.compile(r"^<!-- screen: (.+?) -->$")
DEFAULT_BASE = "${KOPILKA:-http://127.0.0.1:8080}"
# A curl command at the start of a line or of a command substitution, as the examples write them.
CURL_CALL = re.compile(r"(?:^|\$\()\s*curl\s")
# Every transfer of the wrapped curl writes one such line to stderr.
CURL_STATUS = re.compile(r"^@@curl (\d{3}) (\S+) (\S+)$", re.M)
FILE_TIMEOUT_S = 180


@dataclass
class Block:
    file: str
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    skip: str = None
    screen: str = None

    @property
    def where(self):
        return f"{self.file}:{self.line}"

    def commands(self):
        """The shell text to run: the block, or a console block's `$ ` lines."""
        if self.lang != "console":
            return self.text
        out, going_on = [], False
        for line in self.text.splitlines():
            if line.startswith("$ ") or going_on:
                out.append(line[2:] if line.startswith("$ ") and not going_on else line)
                going_on = line.endswith("\\")
        return "\n".join(out) + "\n"


def blocks_of(name):
    lines = open(os.path.join(REPO, name), encoding="utf-8").read().splitlines()
    out, i, before = [], 0, ""
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                before = lines[i].strip()
            i += 1
            continue
        start, lang = i, m.group(1)
        i += 1
        body = []
        while i < len(lines) and not FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        skip, screen = SKIP.match(before), SCREEN.match(before)
        out.append(Block(name, start + 1, lang, "\n".join(body) + "\n",
                         skip.group(1) if skip else None, screen.group(1) if screen else None))
        before = ""
    return out


ALL = {name: blocks_of(name) for name in DOC_FILES}


def runnable(name):
    return [b for b in ALL[name] if b.lang in SHELL_LANGS and not b.skip]


class DemoServer:
    """scripts/run.sh (what `make run` runs) on a free port with a fresh database in workdir."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.db = os.path.join(workdir, "kopilka.db")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, "run.log")  # holds the demo password: not serve-*.log
        env = dict(os.environ, KOPILKAD=KOPILKAD, KOPILKA_DB=self.db,
                   KOPILKA_LISTEN=f"127.0.0.1:{self.port}")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(["bash", os.path.join(REPO, "scripts", "run.sh")], cwd=REPO,
                                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while "kopilka is serving" not in self.log():
            assert self.proc.poll() is None, f"scripts/run.sh exited {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"scripts/run.sh did not serve within 60 s:\n{self.log()}"
            time.sleep(0.1)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        # One SIGTERM: run.sh passes it on to kopilkad and waits for it. A second one (this
        # sent one, then stop_process another) could cut run.sh's wait short, which answered
        # 143 under load; an ASan kopilkad may take longer than 10 s to finish.
        return stop_process(self.proc, timeout=60)


@pytest.fixture
def demo(tmp_path):
    # The image files the examples upload stand for a reader's own: small valid ones here.
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "coupon.webp").write_bytes(WEBP)
    server = DemoServer(str(tmp_path))
    try:
        yield server
    finally:
        assert server.stop() == 0, f"make run's server did not stop cleanly:\n{server.log()[-3000:]}"
    p = run_cli("check", "--db", server.db)
    assert p.returncode == 0, f"the examples left a broken ledger:\n{p.stdout}\n{p.stderr}"


WRAPPER = r"""set -euo pipefail
curl() { command curl -fsS -w '%{stderr}@@curl %{http_code} %{method} %{url_effective}\n' "$@"; }
"""


def run_blocks(demo, blocks, timeout=FILE_TIMEOUT_S):
    """Runs the blocks in order in one bash in the demo's directory; returns (rc, output)."""
    script = [WRAPPER]
    for n, b in enumerate(blocks):
        script.append(f"echo '@@block {n}' >&2\n")
        script.append(b.commands())
    env = dict(os.environ, KOPILKA=demo.base,
               PATH=os.path.dirname(os.path.abspath(KOPILKAD)) + os.pathsep + os.environ["PATH"])
    p = subprocess.run(["bash", "-c", "".join(script)], cwd=demo.workdir, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def curl_calls(blocks):
    return sum(len(CURL_CALL.findall(line)) for b in blocks for line in b.commands().splitlines())


@pytest.mark.parametrize("name", [n for n in DOC_FILES if runnable(n)])
def test_examples_run_as_written(name, demo):
    blocks = runnable(name)
    for b in blocks:
        assert ":8080" not in b.text.replace(DEFAULT_BASE, ""), \
            f"{b.where} names 127.0.0.1:8080 outside {DEFAULT_BASE}: it would not reach the test's server"
    rc, out = run_blocks(demo, blocks)
    if rc != 0:
        started = re.findall(r"^@@block (\d+)$", out, re.M)
        b = blocks[int(started[-1])] if started else blocks[0]
        pytest.fail(f"the example at {b.where} failed (exit {rc}):\n{b.text}\n--- output:\n{out[-4000:]}",
                    pytrace=False)
    calls = CURL_STATUS.findall(out)
    bad = [c for c in calls if not c[0].startswith("2")]
    assert not bad, f"{name}: answers other than 2xx: {bad}\n{out[-4000:]}"
    assert len(calls) == curl_calls(blocks), f"{name}: {len(calls)} transfers for {curl_calls(blocks)} curl calls"


def test_readme_shows_what_make_run_prints(demo):
    """The README's picture of make run's welcome is what run.sh prints, and the curl commands
    it prints work."""
    screens = [b for b in ALL["README.md"] if b.screen == "make run"]
    assert len(screens) == 1, "README.md has no <!-- screen: make run --> block"
    shown = demo.log()
    for line in screens[0].text.splitlines():
        want = line.replace("127.0.0.1:8080", f"127.0.0.1:{demo.port}").replace("var/kopilka.db", demo.db)
        assert want.strip() in shown, f"README shows {line!r}, make run printed:\n{shown}"
    tries = [l.strip() for l in shown.splitlines() if l.strip().startswith("curl ")]
    assert len(tries) == 2, shown
    rc, out = run_blocks(demo, [Block("make run", 0, "sh", "\n".join(tries) + "\n")])
    assert rc == 0, out
    assert [c[0] for c in CURL_STATUS.findall(out)] == ["200", "200"], out


SKIPPED = [b for name in DOC_FILES for b in ALL[name] if b.lang in SHELL_LANGS and b.skip]


@pytest.mark.parametrize("block", SKIPPED, ids=[b.where for b in SKIPPED])
def test_example_not_run_here(block):
    """Each example marked `<!-- example: skip REASON -->`, reported with its reason."""
    pytest.skip(f"{block.where}: {block.skip}")


def test_every_documentation_file_is_looked_at():
    """The README and the API page carry runnable examples; a file's blocks are all accounted
    for (run, skipped with a reason, or not shell)."""
    assert len(runnable("README.md")) >= 3
    assert curl_calls(runnable(os.path.join("docs", "API.md"))) >= 50
    for name, blocks in ALL.items():
        for b in blocks:
            assert b.lang in SHELL_LANGS or not b.skip, f"{b.where}: a skip mark on a {b.lang or 'plain'} block"


def test_settings_page_names_every_flag():
    """docs/SETTINGS.md lists every setting `kopilkad --help` prints."""
    flags = set(re.findall(r"^  (--[a-z0-9-]+), KOPILKA_", run_cli("--help").stdout, re.M))
    assert len(flags) > 30
    page = open(os.path.join(REPO, "docs", "SETTINGS.md"), encoding="utf-8").read()
    missing = sorted(f for f in flags if f"`{f}`" not in page)
    assert not missing, f"docs/SETTINGS.md does not list {missing}"
