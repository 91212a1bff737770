#!/usr/bin/env bash
# Writes OUTDIR/postman.json: the Postman collection (v2.1) made from api/openapi.json by the
# npm converter openapi-to-postmanv2, which kopilkad serves at /ext/api/v1/postman.json (from its
# docs directory: build/docs beside the binary, or --docs-dir). The converter is installed with
# npm ci from api/postman/package-lock.json into build/npm/postman (never committed) on first use
# and whenever the lock file changes; nothing is fetched at run time.
# Usage: scripts/postman.sh OUTDIR. Does nothing but hash the inputs when OUTDIR is up to date.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/postman.sh OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
src=$root/api/postman
cache=$root/build/npm/postman

if ! cmp -s "$src/package-lock.json" "$cache/node_modules/.kopilka-lock" 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "postman: npm is not installed; it is needed to make the Postman collection (run scripts/deps.sh)" >&2
    exit 1
  fi
  mkdir -p "$cache"
  cp "$src/package.json" "$src/package-lock.json" "$cache/"
  log="$cache/npm-install.log"
  if ! (cd "$cache" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    echo "postman: npm ci of api/postman/package-lock.json failed (log: $log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  cp "$src/package-lock.json" "$cache/node_modules/.kopilka-lock"
fi

mkdir -p "$out"
stamp=$(cat "$root/api/openapi.json" "$src/package-lock.json" "$src/convert.js" | sha256sum | cut -c1-64)
if [ -f "$out/postman.json" ] && [ "$(cat "$out/.postman.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "postman: $out/postman.json is up to date"
  exit 0
fi
cp "$src/convert.js" "$cache/convert.js"
# Written beside and renamed: the server may be serving the directory.
if ! node "$cache/convert.js" "$root/api/openapi.json" "$out/.postman.json.tmp"; then
  rm -f "$out/.postman.json.tmp"
  exit 1
fi
mv -f "$out/.postman.json.tmp" "$out/postman.json"
echo "$stamp" >"$out/.postman.stamp"
echo "postman: wrote $out/postman.json ($(du -k "$out/postman.json" | cut -f1) KiB)"
