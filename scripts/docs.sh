#!/usr/bin/env bash
# Makes OUTDIR a browsable API docs page: Swagger UI (from the npm package swagger-ui-dist,
# installed into a cache under build/, never committed) showing /ext/api/v1/openapi.json.
# The server serves OUTDIR at /docs/ (build/docs beside the binary, or --docs-dir).
# Usage: scripts/docs.sh OUTDIR. Idempotent; does nothing but compare files when up to date.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/docs.sh OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
major=5
cache="$root/build/npm/swagger-ui-dist"
dist="$cache/node_modules/swagger-ui-dist"
template="$root/api/docs-index.html"

installed_major() {
  [ -f "$dist/package.json" ] && [ -f "$dist/swagger-ui-bundle.js" ] && [ -f "$dist/swagger-ui.css" ] || return 1
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([0-9]*\)\..*/\1/p' "$dist/package.json" | head -n 1
}

if [ ! -f "$template" ]; then
  echo "docs: the page template $template is missing" >&2
  exit 1
fi

if [ "$(installed_major || true)" != "$major" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "docs: npm is not installed; it is needed to fetch swagger-ui-dist@$major (run scripts/deps.sh, or install Node.js with npm)" >&2
    exit 1
  fi
  mkdir -p "$cache"
  log="$cache/npm-install.log"
  if ! npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$cache" \
      "swagger-ui-dist@$major" >"$log" 2>&1; then
    echo "docs: npm install swagger-ui-dist@$major failed (log: $log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  if [ "$(installed_major || true)" != "$major" ]; then
    echo "docs: npm install finished but $dist holds no swagger-ui-dist $major.x" >&2
    exit 1
  fi
fi
version=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$dist/package.json" | head -n 1)

mkdir -p "$out"
changed=0
# Copies src to OUTDIR/name unless an identical file is already there (atomically: the server
# may be serving the directory).
place() {
  local src=$1 name=$2
  if ! cmp -s "$src" "$out/$name"; then
    cp "$src" "$out/.$name.tmp"
    mv -f "$out/.$name.tmp" "$out/$name"
    changed=$((changed + 1))
  fi
}
place "$dist/swagger-ui-bundle.js" swagger-ui-bundle.js
place "$dist/swagger-ui.css" swagger-ui.css
if [ -f "$dist/favicon-32x32.png" ]; then
  place "$dist/favicon-32x32.png" favicon-32x32.png
fi
place "$template" index.html

if [ "$changed" -eq 0 ]; then
  echo "docs: $out is up to date (swagger-ui-dist $version)"
else
  echo "docs: wrote $changed file(s) to $out (swagger-ui-dist $version)"
fi
