#!/usr/bin/env bash
# Installs the Debian packages kopilka needs to build, run and test, asking apt only for those
# dpkg does not already report as installed. Usage: scripts/deps.sh [build|test]
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev curl sqlite3)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-requests python3-hypothesis)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# cmocka is needed by the unit-test build that `make build` also configures.
if ! dpkg-query -W -f='${Status}' libcmocka-dev 2>/dev/null | grep -q 'ok installed'; then
  case " ${missing[*]} " in *" libcmocka-dev "*) ;; *) missing+=(libcmocka-dev) ;; esac
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
