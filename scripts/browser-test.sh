#!/usr/bin/env bash
# The cabinet's end-to-end suite (tests/browser/*.test.mjs): node's test runner drives Debian's
# chromium through puppeteer-core (installed from tests/browser/package-lock.json into
# tests/browser/node_modules on first use) against the kopilkad of $KOPILKAD (default
# build/kopilkad), whose cabinet was built beside it (build/lk).
# Usage: scripts/browser-test.sh [node --test arguments...]
# The suite runs once per engine of KOPILKA_BROWSER_ENGINES (default "sqlite postgresql"): on
# PostgreSQL against a private cluster that scripts/pg-test-cluster.sh starts and stops here.
# With KOPILKA_SCREENSHOTS=DIR the tests also write a screenshot of each screen there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/tests/browser"
export KOPILKAD=${KOPILKAD:-$root/build/kopilkad}
if [ ! -x "$KOPILKAD" ]; then
  echo "browser-test: $KOPILKAD is not built (make build)" >&2
  exit 1
fi
if [ ! -f "$(dirname "$KOPILKAD")/lk/index.html" ]; then
  echo "browser-test: the cabinet is not built beside $KOPILKAD (scripts/lk.sh $(dirname "$KOPILKAD")/lk)" >&2
  exit 1
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "browser-test: Debian's chromium is not installed (scripts/deps.sh test)" >&2
  exit 1
fi
if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.kopilka-lock" 2>/dev/null; then
  log="$root/build/npm-browser-install.log"
  mkdir -p "$(dirname "$log")"
  # PUPPETEER_SKIP_DOWNLOAD: puppeteer-core fetches no browser anyway; chromium is Debian's.
  if ! (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund) >"$log" 2>&1; then
    echo "browser-test: npm ci in tests/browser failed (log: $log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  cp "$dir/package-lock.json" "$dir/node_modules/.kopilka-lock"
fi
cd "$dir"
if [ $# -eq 0 ]; then
  set -- *.test.mjs
fi
run() { node --test --test-concurrency=1 --test-timeout=300000 "$@"; }
rc=0
for engine in ${KOPILKA_BROWSER_ENGINES:-sqlite postgresql}; do
  echo "browser-test: the cabinet on $engine" >&2
  case "$engine" in
    sqlite) run "$@" || rc=1 ;;
    postgresql)
      pgdir=$(mktemp -d /tmp/kopilka-pg-browser-XXXXXX) # not 0700 trees: the cluster runs as postgres
      chmod 755 "$pgdir"
      if ! uri=$(bash "$root/scripts/pg-test-cluster.sh" start "$pgdir" | tail -n 1); then
        echo "browser-test: could not start the PostgreSQL cluster" >&2
        rm -rf "$pgdir"
        exit 1
      fi
      psql "$uri" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE kopilka_browser" >/dev/null
      KOPILKA_TEST_PG_URI="${uri%/*}/kopilka_browser" run "$@" || rc=1
      bash "$root/scripts/pg-test-cluster.sh" stop "$pgdir" >/dev/null 2>&1 || true
      rm -rf "$pgdir"
      ;;
    *)
      echo "browser-test: unknown engine $engine (sqlite or postgresql)" >&2
      exit 2
      ;;
  esac
done
exit $rc
