#!/usr/bin/env bash
# Validates the OpenAPI document (default api/openapi.json) against the OpenAPI 3.1 schema with
# an outside validator, @seriousme/openapi-schema-validator from npm, then lints it with
# @redocly/cli (redocly.yaml at the root: the recommended rules less no-path-trailing-slash,
# since i-bonus's paths end in /) allowing 0 errors; warnings are printed. Both are installed
# from npm into caches under build/ on first use. Exits non-zero when either finds an error.
# Usage: scripts/openapi-lint.sh [FILE]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
file=${1:-$root/api/openapi.json}
major=2
pkg=@seriousme/openapi-schema-validator
cache="$root/build/npm/openapi-schema-validator"
cli="$cache/node_modules/$pkg/bin/validate-api-cli.js"

if [ ! -f "$file" ]; then
  echo "openapi-lint: no such file: $file" >&2
  exit 2
fi

installed_major() {
  local pj="$cache/node_modules/$pkg/package.json"
  [ -f "$pj" ] && [ -f "$cli" ] || return 1
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([0-9]*\)\..*/\1/p' "$pj" | head -n 1
}

if ! command -v node >/dev/null 2>&1; then
  echo "openapi-lint: node is not installed (run scripts/deps.sh, or install Node.js with npm)" >&2
  exit 1
fi
if [ "$(installed_major || true)" != "$major" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "openapi-lint: npm is not installed; it is needed to fetch $pkg@$major (run scripts/deps.sh)" >&2
    exit 1
  fi
  mkdir -p "$cache"
  log="$cache/npm-install.log"
  if ! npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$cache" \
      "$pkg@$major" >"$log" 2>&1; then
    echo "openapi-lint: npm install $pkg@$major failed (log: $log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  if [ "$(installed_major || true)" != "$major" ]; then
    echo "openapi-lint: npm install finished but $pkg $major.x is not in $cache" >&2
    exit 1
  fi
fi

# The validator prints its verdict ({ valid: true|false, errors }) and exits 1 when invalid.
set +e
output=$(node "$cli" "$file" 2>&1)
rc=$?
set -e
printf '%s\n' "$output"
if [ $rc -ne 0 ] || ! printf '%s' "$output" | grep -Eq '"?valid"?: *true'; then
  echo "openapi-lint: $file is NOT a valid OpenAPI document" >&2
  exit 1
fi
echo "openapi-lint: $file is a valid OpenAPI document"

# @redocly/cli, pinned: 2.77.0 runs on Node.js 20.19+ (later 2.x announce needing Node 22). It
# needs no install scripts.
redocly_version=2.77.0
redocly_pkg=@redocly/cli
redocly_cache="$root/build/npm/redocly-cli"
redocly_cli="$redocly_cache/node_modules/$redocly_pkg/bin/cli.js"
redocly_installed() {
  local pj="$redocly_cache/node_modules/$redocly_pkg/package.json"
  [ -f "$pj" ] && [ -f "$redocly_cli" ] || return 1
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -n 1
}
if [ "$(redocly_installed || true)" != "$redocly_version" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "openapi-lint: npm is not installed; it is needed to fetch $redocly_pkg@$redocly_version (run scripts/deps.sh)" >&2
    exit 1
  fi
  mkdir -p "$redocly_cache"
  log="$redocly_cache/npm-install.log"
  if ! npm install --no-save --no-audit --no-fund --no-package-lock --ignore-scripts \
      --prefix "$redocly_cache" "$redocly_pkg@$redocly_version" >"$log" 2>&1; then
    echo "openapi-lint: npm install $redocly_pkg@$redocly_version failed (log: $log):" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  if [ "$(redocly_installed || true)" != "$redocly_version" ]; then
    echo "openapi-lint: npm install finished but $redocly_pkg $redocly_version is not in $redocly_cache" >&2
    exit 1
  fi
fi
# No telemetry or update check: the lint works offline. redocly exits 1 on any error.
set +e
output=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  node "$redocly_cli" lint --config "$root/redocly.yaml" --format stylish "$file" 2>&1)
rc=$?
set -e
printf '%s\n' "$output" | grep -v '^[[:space:]]*$' | grep -v '[╔║╚]' || true
if [ $rc -ne 0 ]; then
  echo "openapi-lint: redocly lint found errors in $file" >&2
  exit 1
fi
echo "openapi-lint: redocly lint: 0 errors in $file"
