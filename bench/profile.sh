#!/usr/bin/env bash
# Where kopilkad spends its instructions, per workload: runs the bench build of kopilkad under
# valgrind --tool=callgrind on the database of the last bench run, drives one workload with
# wrk at a few connections for a bounded time, and prints the top functions (inclusive and
# self cost) with callgrind_annotate. Used for the profile section of docs/PERFORMANCE.md.
#
#   bench/profile.sh [WORKLOAD...]        default: prefix orders
#   env: KB_WORKDIR (default /tmp/kopilka-bench), KB_SECONDS (default 20), KB_CONNS (default 4)
#
# perf would be the first choice, but on this VM `perf stat -e instructions true` reports
# "<not supported>" (no hardware counters), so callgrind it is: exact instruction counts,
# ~50x slower, threads serialized (so it shows CPU cost, not lock waits or fsync time).
# Needs a previous `make bench-quick` or `make bench` (build-bench/ and the generated DB).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${KB_WORKDIR:-/tmp/kopilka-bench}
SECONDS_RUN=${KB_SECONDS:-20}
CONNS=${KB_CONNS:-4}
KOPILKAD=$ROOT/build-bench/kopilkad
DB=$WORK/main.db
KEYS=$WORK/main.keys
OUT=$ROOT/bench/results
[ -x "$KOPILKAD" ] && [ -f "$DB" ] || { echo "run make bench-quick first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 1; }
mkdir -p "$OUT"
AUTH="Basic $(printf 'owner@bench.local:bench-password' | base64 -w0)"
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(prefix orders)

for wl in "${workloads[@]}"; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cg=$OUT/callgrind.$wl.out
  rm -f "$cg"
  valgrind --tool=callgrind --callgrind-out-file="$cg" --separate-threads=no \
    "$KOPILKAD" serve --db "$DB" --listen 127.0.0.1:$port --threads 8 \
    --lockout-addr-failures 1000000 --access-log /dev/null 2>"$OUT/callgrind.$wl.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.1
  done
  # Warm the credential cache (one Argon2 verification), then measure.
  curl -sf -o /dev/null -H "Authorization: $AUTH" "http://127.0.0.1:$port/ext/api/v1/loyalty/settings/"
  KB_MODE=$wl KB_AUTH=$AUTH KB_KEYS=$KEYS KB_TAG="prof$(date +%s)" \
    wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 30s -s "$ROOT/bench/kopilka.lua" \
    "http://127.0.0.1:$port/" | grep KBRESULT || true
  kill -TERM $pid
  wait $pid || true
  trap - EXIT
  echo "=== $wl: top inclusive cost ==="
  callgrind_annotate --inclusive=yes "$cg" 2>/dev/null | sed -n '1,60p' | grep -v '^ *$' |
    sed -E 's#(/[^/ ]+)+/##g' | head -45 >"$OUT/profile.$wl.inclusive.txt"
  cat "$OUT/profile.$wl.inclusive.txt"
  echo "=== $wl: top self cost ==="
  callgrind_annotate "$cg" 2>/dev/null | sed -n '1,60p' | grep -v '^ *$' |
    sed -E 's#(/[^/ ]+)+/##g' | head -45 >"$OUT/profile.$wl.self.txt"
  cat "$OUT/profile.$wl.self.txt"
done
