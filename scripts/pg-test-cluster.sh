#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for testing kopilkad's PostgreSQL engine.
#
#   scripts/pg-test-cluster.sh start DIR   initdb's a cluster in DIR (which must not exist or be
#                                          empty), starts it on a free port of 127.0.0.1 only,
#                                          creates the database kopilka_test and prints its URI
#                                          postgresql://postgres@127.0.0.1:PORT/kopilka_test
#                                          alone on stdout (progress goes to stderr)
#   scripts/pg-test-cluster.sh stop DIR    stops that cluster (pg_ctl stop -m immediate: its files
#                                          are removed next, so no shutdown checkpoint is written,
#                                          which on a busy disk took minutes) and removes DIR
#
# Trust authentication, listening on 127.0.0.1 only, no Unix socket outside DIR: fine for a
# private test cluster, never for a real one. fsync stays on, so durability behaves as in
# production. PostgreSQL refuses to run as root, so when run as root (as CI is) the cluster
# is owned by and run as the postgres user. Binaries come from PG_BIN (default
# /usr/lib/postgresql/15/bin). Every wait is bounded; a failure prints why and the server log.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
START_TIMEOUT=${PG_START_TIMEOUT:-30}

die() {
  echo "pg-test-cluster: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
[ -x "$PG_BIN/pg_ctl" ] || die "no PostgreSQL binaries in $PG_BIN (set PG_BIN or install postgresql)"

# as_owner CMD...: runs CMD as the cluster's owner (postgres when we are root).
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to own the cluster"
  as_owner=(runuser -u postgres --)
fi

# A TCP port nobody listens on now (there is a small race until the server binds it).
free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "$dir exists and is not empty; stop the old cluster first ($0 stop $dir)"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ ${#as_owner[@]} -gt 0 ]; then
    chown postgres: "$dir"
    # The postgres user must be able to reach DIR through its parents.
    parent=$(dirname "$dir")
    while [ "$parent" != / ]; do
      if ! runuser -u postgres -- test -x "$parent"; then
        die "the postgres user cannot enter $parent; pick a DIR under /tmp"
      fi
      parent=$(dirname "$parent")
    done
  fi
  local data="$dir/data" log="$dir/server.log" port
  port=$(free_port)
  echo "pg-test-cluster: initdb in $data" >&2
  "${as_owner[@]}" "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  cat >>"$data/postgresql.conf" <<EOF

# pg-test-cluster.sh: a private test cluster on loopback only
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
log_min_messages = warning
EOF
  cat >"$data/pg_hba.conf" <<EOF
# pg-test-cluster.sh: trust on loopback only; this cluster is private and short-lived.
local   all all                trust
host    all all 127.0.0.1/32   trust
EOF
  echo "pg-test-cluster: starting on 127.0.0.1:$port" >&2
  if ! "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$START_TIMEOUT" start >&2; then
    cat "$log" >&2 || true
    die "the server did not start within ${START_TIMEOUT}s"
  fi
  local waited=0
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; do
    waited=$((waited + 1))
    [ "$waited" -le "$START_TIMEOUT" ] || { cat "$log" >&2; die "the server does not answer on 127.0.0.1:$port"; }
    sleep 1
  done
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres kopilka_test >&2 ||
    die "createdb kopilka_test failed"
  echo "postgresql://postgres@127.0.0.1:$port/kopilka_test"
}

stop() {
  [ -d "$dir" ] || die "$dir does not exist"
  dir=$(cd "$dir" && pwd)
  local data="$dir/data"
  [ -f "$data/PG_VERSION" ] || die "$dir holds no cluster made by this script (no data/PG_VERSION)"
  if [ -f "$data/postmaster.pid" ]; then
    "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t "$START_TIMEOUT" stop >&2 ||
      die "pg_ctl stop failed; the cluster in $dir is left in place"
  fi
  rm -rf "$dir"
  echo "pg-test-cluster: stopped and removed $dir" >&2
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) usage ;;
esac
