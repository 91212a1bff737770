#!/usr/bin/env bash
# Validates the OpenAPI document (default api/openapi.json) against the OpenAPI 3.1 schema with
# an outside validator, @seriousme/openapi-schema-validator from npm, installed into a cache
# under build/ on first use. Prints the validator's verdict; exits non-zero when invalid.
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
