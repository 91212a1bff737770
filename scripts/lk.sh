#!/usr/bin/env bash
# Builds the merchant cabinet (web/: Preact + uPlot, bundled by Vite) into OUTDIR, which
# kopilkad serves at /lk/ (build/lk beside the binary, or --lk-dir). The npm packages are
# installed from web/package-lock.json into web/node_modules (never committed) on first use and
# whenever the lock file changes; nothing is fetched at run time.
# Usage: scripts/lk.sh OUTDIR. Does nothing but hash the sources when OUTDIR is up to date.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/lk.sh OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
web="$root/web"

# npm ci (exactly the lock file's versions) when node_modules was made from another lock file.
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.kopilka-lock" 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "lk: npm is not installed; it is needed to build the cabinet (run scripts/deps.sh)" >&2
    exit 1
  fi
  log="$root/build/npm-lk-install.log"
  mkdir -p "$(dirname "$log")"
  if ! (cd "$web" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    echo "lk: npm ci in web/ failed (log: $log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  cp "$web/package-lock.json" "$web/node_modules/.kopilka-lock"
fi

# The inputs' hash: a build is skipped when OUTDIR was made from the same sources.
stamp=$(cd "$web" && find index.html vite.config.js package-lock.json src -type f |
  LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
  echo "lk: $out is up to date"
  exit 0
fi

# Built beside OUTDIR and swapped in, so a server serving OUTDIR never sees half a build.
tmp="$out.new.$$"
rm -rf "$tmp"
log="$root/build/lk-build.log"
mkdir -p "$(dirname "$log")"
if ! (cd "$web" && node node_modules/vite/bin/vite.js build --logLevel warn --outDir "$tmp" --emptyOutDir) >"$log" 2>&1; then
  echo "lk: the cabinet's build failed (log: $log):" >&2
  tail -n 30 "$log" >&2
  rm -rf "$tmp"
  exit 1
fi
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
echo "lk: built the cabinet into $out ($(find "$out" -type f | wc -l) files, $(du -sk "$out" | cut -f1) KiB)"
