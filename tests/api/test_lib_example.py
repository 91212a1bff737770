# The README's "Integrating in C: libkopilka" example compiles as shown and works (issue 16): the
# build is installed into a temporary prefix with `cmake --install`, the README's C block is
# written to example.c and compiled with the README's own command line (pkg-config finding
# kopilka.pc there), and the program is run against a server holding the client it looks for.
import os
import re
import subprocess

from conftest import KOPILKAD, OWNER_A, REPO, body_of, rule

BUILD = os.path.dirname(os.path.abspath(KOPILKAD))
SECTION = "## Integrating in C: libkopilka"


def readme_blocks():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    start = text.index(SECTION)
    section = text[start:text.index("\n## ", start + len(SECTION))]
    c_blocks = re.findall(r"^```c\n(.*?)^```$", section, re.S | re.M)
    sh_blocks = re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M)
    assert len(c_blocks) == 1 and len(sh_blocks) == 1, "one C block and one sh block"
    compile_line = sh_blocks[0].splitlines()[0]
    assert compile_line.startswith("cc example.c $(pkg-config --cflags --libs kopilka)")
    return c_blocks[0], compile_line


def sanitized_build():
    cache = open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8").read()
    return "KOPILKA_SANITIZE:BOOL=ON" in cache


def test_readme_example_compiles_and_runs(env, A, tmp_path):
    source, compile_line = readme_blocks()
    prefix = tmp_path / "prefix"
    p = subprocess.run(["cmake", "--install", BUILD, "--prefix", str(prefix)], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    libdir = next(d for d in (prefix / "lib").rglob("pkgconfig")).parent
    (tmp_path / "example.c").write_text(source, encoding="utf-8")
    shell_env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    # An ASan build's library needs the sanitizer runtimes in the program too.
    prelude = 'cc() { command cc -fsanitize=address,undefined "$@"; }\n' if sanitized_build() else ""
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", prelude + compile_line], cwd=tmp_path,
                       env=shell_env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"{compile_line}\n{p.stdout}{p.stderr}"

    # The server holds Anna (the phone the example looks for), with a program that accrues.
    A.settings(active=True, newCustomerSettings=rule("amount", 100),
               customerSettings=rule("percentage", 5))
    found = body_of(A.get("/clients/", params={"phone": "79123456701"}))
    if not found:
        body_of(A.post("/clients/", {"phone": "79123456701", "name": "Anna"}), 201)
    run_env = dict(os.environ, KOPILKA_URL=f"http://127.0.0.1:{env.server.port}",
                   KOPILKA_LOGIN=OWNER_A[0], KOPILKA_PASSWORD=OWNER_A[1],
                   LD_LIBRARY_PATH=str(libdir))
    p = subprocess.run(["./example"], cwd=tmp_path, env=run_env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    client = A.client("79123456701")
    assert f"client {client['id']} has " in p.stdout, p.stdout
    m = re.search(r"order (\d+): ([0-9.]+) points accrued", p.stdout)
    assert m, p.stdout
    order = body_of(A.get(f"/fiscal/orders/{m.group(1)}/"))
    assert order["externalOrderNumber"] == "till-7-receipt-1001"
    # The outbox the example named holds its order, sent.
    assert (tmp_path / "till-outbox.db").exists()
    # Run again: the same receipt is replayed, not counted twice.
    p = subprocess.run(["./example"], cwd=tmp_path, env=run_env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"order {m.group(1)}: {m.group(2)} points accrued" in p.stdout, p.stdout
    assert A.client("79123456701")["totalPurchases"] == client["totalPurchases"]
