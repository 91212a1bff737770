#!/usr/bin/python3
"""Futex calls per request of kopilkad: a lock that threads contend for shows up as futex
system calls (an uncontended pthread mutex never enters the kernel), so their count per request
says how often the read path meets another thread on a shared lock (docs/PERFORMANCE.md,
"Reads without process-wide locks").

Starts `kopilkad serve` on a bench database, warms it up with bench/readload, then counts the
futex calls of every thread of the server while readload sends exactly --requests requests:
with `strace -f -c -e trace=futex -p PID` (what the issue asked for; ptrace stops every system
call, so the server runs several times slower and is preempted more often) and with
`perf stat -e syscalls:sys_enter_futex -p PID` (a kernel counter, the server at full speed).
Prints one line per run and the median. With --record, one more run under
`perf record -e syscalls:sys_enter_futex --call-graph dwarf` names where the calls come from:
per request, by the first named function above glibc's locking (the lock's user). Every
process it starts is stopped by its PID.

  bench/futex_count.py --kopilkad build-bench/kopilkad --readload build-bench/readload \\
      --db /tmp/kopilka-bench/bench.db [--requests 20000] [--conns 16] [--runs 3] [-- serve flags]
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

# The credentials, serve flags and port picking of the benchmark driver (bench/run.py).
from run import AUTH, SERVE_FLAGS, free_port


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def load(args, port, n):
    r = subprocess.run([args.readload, "--port", str(port), "--conns", str(args.conns),
                        "--requests", str(n), "--auth", AUTH, "--path", args.path],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"readload failed: {r.stdout} {r.stderr}")
    return dict(zip(r.stdout.split()[::2], map(float, r.stdout.split()[1::2])))


def counter(tool, pid, out_path):
    if tool == "strace":
        cmd = ["strace", "-f", "-c", "-e", "trace=futex", "-o", out_path, "-p", str(pid)]
    else:
        cmd = ["perf", "stat", "-x", ",", "-e", "syscalls:sys_enter_futex", "-o", out_path,
               "-p", str(pid)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # attached to every thread before the first request
    return p


# Frames that are the lock itself, not its user: glibc's mutex and futex code, unnamed
# addresses (static functions of libraries without symbols).
LOCK_FRAME = re.compile(r"futex|lll_|pthread_mutex|pthread_cond|__GI_|mutex_lock|mutex_unlock|"
                        r"^0x|unknown")


def record_sites(args, port, pid):
    """Futex calls per request by lock (futex address), each named by its commonest callers,
    from one run under perf record."""
    data = f"/tmp/futex_count.{os.getpid()}.perf"
    p = subprocess.Popen(["perf", "record", "-q", "-e", "syscalls:sys_enter_futex",
                          "--call-graph", "dwarf", "-o", data, "-p", str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    load(args, port, args.requests)
    stop(p, signal.SIGINT)
    script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True,
                            timeout=600).stdout
    os.remove(data)
    locks = {}  # futex address -> {caller: calls}
    for block in script.split("\n\n"):
        lines = [ln.split() for ln in block.strip().splitlines()]
        m = re.search(r"uaddr: (0x[0-9a-f]+)", " ".join(lines[0])) if lines else None
        if not m:
            continue
        users = [f[1].split("+")[0] for f in lines[1:]
                 if len(f) > 1 and not LOCK_FRAME.search(f[1])]
        callers = locks.setdefault(m.group(1), {})
        caller = users[0] if users else "?"
        callers[caller] = callers.get(caller, 0) + 1
    for addr, callers in sorted(locks.items(), key=lambda kv: -sum(kv[1].values()))[:6]:
        top = sorted(callers.items(), key=lambda kv: -kv[1])[:3]
        print(f"  {sum(callers.values()) / args.requests:.4f} per request, futex {addr}: "
              + ", ".join(f"{c} {n}" for c, n in top), flush=True)


def libc_path(pid):
    for line in open(f"/proc/{pid}/maps"):
        if "/libc.so" in line or "/libc-" in line:
            return line.split()[-1]
    raise SystemExit("libc is not mapped in kopilkad")


def mutex_census(args, port, pid):
    """Mutex acquisitions per request, by mutex, counted with uprobes on pthread_mutex_lock
    (and gmtime_r, whose glibc time-zone lock is not a pthread mutex): unlike futex calls these
    do not depend on whether threads happened to collide, so they show every lock a request
    takes. A mutex locked by two threads or more during the run is shared (process-wide, or at
    least not the thread's own); each is named by the commonest caller in a short run with
    call graphs before."""
    libc = libc_path(pid)
    probes = {"kopilka_mlock": "pthread_mutex_lock mutex=%di:u64", "kopilka_gmtime": "gmtime_r"}
    for name, spec in probes.items():
        subprocess.run(["perf", "probe", "-q", "-x", libc, "-d", name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["perf", "probe", "-q", "-x", libc, "--add", f"{name}={spec}"],
                       check=True, stdout=subprocess.DEVNULL)
    events = []
    for name in probes:
        events += ["-e", f"probe_libc:{name}"]
    data = f"/tmp/futex_count.{os.getpid()}.mutex"

    def record(n, graph):
        p = subprocess.Popen(["perf", "record", "-q", "-o", data, "-p", str(pid)] + events +
                             (["--call-graph", "dwarf,4096"] if graph else []),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        load(args, port, n)
        stop(p, signal.SIGINT)
        out = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True,
                             timeout=1200).stdout
        os.remove(data)
        return out

    def mutex_of(header):
        m = re.search(r"mutex=(\d+)", header)
        return hex(int(m.group(1))) if m else ("time zone (gmtime_r)" if "gmtime" in header
                                                else None)

    try:
        names = {}
        for block in record(max(args.conns, 200), True).split("\n\n"):
            lines = block.strip().splitlines()
            key = mutex_of(lines[0]) if lines else None
            if not key:
                continue
            users = [ln.split()[1].split("+")[0] for ln in lines[1:] if len(ln.split()) > 1
                     and not LOCK_FRAME.search(ln.split()[1])
                     and not ln.split()[1].startswith("gmtime")]
            callers = names.setdefault(key, {})
            caller = " < ".join(users[:2]) or "?"
            callers[caller] = callers.get(caller, 0) + 1
        counts, threads = {}, {}
        n = args.mutex_requests
        for line in record(n, False).splitlines():
            key = mutex_of(line)
            if not key:
                continue
            counts[key] = counts.get(key, 0) + 1
            threads.setdefault(key, set()).add(line.split()[1])
    finally:
        for name in probes:
            subprocess.run(["perf", "probe", "-q", "-d", f"probe_libc:{name}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shared = {k: v for k, v in counts.items() if len(threads[k]) >= 2}
    print(f"shared mutex acquisitions: {sum(shared.values()) / n:.2f} per request "
          f"({sum(counts.values()) / n:.2f} of all mutexes)", flush=True)
    for key, v in sorted(shared.items(), key=lambda kv: -kv[1]):
        if v / n < 0.01:
            continue
        top = sorted(names.get(key, {}).items(), key=lambda kv: -kv[1])[:2]
        print(f"  {v / n:6.2f} per request, {len(threads[key])} threads, {key}: "
              + "; ".join(c for c, _ in top), flush=True)


def futex_calls(tool, out_path):
    text = open(out_path).read()
    if tool == "strace":
        m = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?futex$", text, re.M)
        return int(m.group(1)) if m else 0
    m = re.search(r"^(\d+),,syscalls:sys_enter_futex", text, re.M)
    if not m:
        raise SystemExit(f"no perf figure in {out_path}: {text}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kopilkad", required=True)
    ap.add_argument("--readload", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default="strace,perf")
    ap.add_argument("--record", action="store_true",
                    help="one more run under perf record: where the futex calls come from")
    ap.add_argument("--mutexes", action="store_true",
                    help="count every mutex acquisition per request (uprobes), by mutex")
    ap.add_argument("--mutex-requests", type=int, default=5000)
    ap.add_argument("--path", default="/ext/api/v1/clients/?phone=79{nn}%25&limit=10")
    ap.add_argument("serve_flags", nargs="*")
    args = ap.parse_args()
    port = free_port()
    cmd = [args.kopilkad, "serve", "--db", args.db, "--listen", f"127.0.0.1:{port}",
           "--access-log", "/dev/null"] + SERVE_FLAGS + args.serve_flags
    print("$ " + " ".join(cmd), file=sys.stderr)
    srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except Exception:
                time.sleep(0.1)
        load(args, port, max(args.requests // 5, args.conns))  # warm-up: caches, credentials
        out = f"/tmp/futex_count.{os.getpid()}.txt"
        for tool in args.tools.split(","):
            per_req = []
            for run in range(args.runs):
                p = counter(tool, srv.pid, out)
                res = load(args, port, args.requests)
                stop(p, signal.SIGINT)
                calls = futex_calls(tool, out)
                per_req.append(calls / args.requests)
                print(f"{tool} run {run + 1}: {calls} futex calls / {args.requests} requests"
                      f" = {calls / args.requests:.3f} per request ({res['rps']:.0f} req/s"
                      f" while counted)", flush=True)
            print(f"{tool}: median {statistics.median(per_req):.3f} futex calls per request",
                  flush=True)
        if args.record:
            print("futex calls by caller (perf record, one run):", flush=True)
            record_sites(args, port, srv.pid)
        if args.mutexes:
            mutex_census(args, port, srv.pid)
        # The rate without a counter attached, as context.
        rates = [load(args, port, args.requests)["rps"] for _ in range(args.runs)]
        print(f"req/s uncounted: {' '.join(f'{r:.0f}' for r in rates)}"
              f" (median {statistics.median(rates):.0f})")
        if os.path.exists(out):
            os.remove(out)
    finally:
        stop(srv)


if __name__ == "__main__":
    main()
