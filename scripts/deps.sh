#!/usr/bin/env bash
# Installs the Debian packages kopilka needs to build, run and test, asking apt only for those
# dpkg does not already report as installed. Usage: scripts/deps.sh [build|test|deb]
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
  libsodium-dev libcmocka-dev libpq-dev libcurl4-openssl-dev libqrencode-dev libssl-dev curl sqlite3)
# postgresql: the server scripts/pg-test-cluster.sh starts for the PostgreSQL engine's tests;
# its postgresql-15 ships the contrib extensions, pg_trgm among them (schema migration 9).
# clang-14, libclang-rt-14-dev (libFuzzer, the sanitizer runtimes), llvm-14 (llvm-profdata,
# llvm-cov): the fuzz targets of scripts/fuzz.sh. valgrind: scripts/valgrind-session.sh.
# clang-format-14: make format-check (run by make test) and make format.
# systemd (systemd-analyze), lintian, logrotate, strace, procps (pgrep, ps), adduser (the
# package's postinst; dpkg -i installs no dependency): scripts/deb-check.sh.
# zbar-tools (zbarimg): the browser tests decode the QR codes of the card and receipt pages
# from screenshots.
# openssl: tests/api/test_wallet_apple.py makes a throw-away CA and pass certificate and
# verifies the passes' signatures; with python3-cryptography, tests/api/test_wallet_google.py
# makes an RSA key and checks the RS256 signature of the Google Wallet link.
# python3-h2: tests/api/test_wallet_passkit.py runs a local HTTP/2 stand-in for APNs.
# jq: the examples of docs/API.md pick fields out of answers (tests/api/test_docs_examples.py).
test_pkgs=(python3 python3-pytest python3-requests python3-hypothesis python3-jsonschema
  chromium postgresql clang-14 libclang-rt-14-dev llvm-14 valgrind clang-format-14
  systemd lintian logrotate strace procps adduser jq zbar-tools openssl python3-cryptography
  python3-h2)
# make deb (scripts/deb.sh): dpkg-shlibdeps computes Depends, help2man writes the man page.
deb_pkgs=(dpkg-dev help2man)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  test) want+=("${test_pkgs[@]}" "${deb_pkgs[@]}") ;;
  deb) want+=("${deb_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# npm builds the API docs page (swagger-ui-dist); a Node.js from elsewhere that brings its own
# npm is fine, so ask for Debian's only when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
