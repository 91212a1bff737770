#!/usr/bin/env bash
# `make run`: serves kopilka on 127.0.0.1:8080 from ./var/kopilka.db. On the first run it
# creates the database with a demo merchant, an active 5 % program, a coupon and a few clients
# with points, all through the real API, and prints a curl command that works against it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${KOPILKAD:-build/kopilkad} # another binary: the tests pass theirs (tests/api/conftest.py)
DB=${KOPILKA_DB:-var/kopilka.db}
LISTEN=${KOPILKA_LISTEN:-127.0.0.1:8080}
# Receipt links (publicURL) name the address the server is reached at: this one, unless set.
export KOPILKA_PUBLIC_URL=${KOPILKA_PUBLIC_URL:-http://$LISTEN}
EMAIL=demo@kopilka.local
PASSWORD=demo-password
BASE="http://$LISTEN/ext/api/v1"
mkdir -p "$(dirname "$DB")"

first_run=false
if [ ! -f "$DB" ]; then
  first_run=true
  "$BIN" init --db "$DB" --email "$EMAIL" --password "$PASSWORD" --name "Demo Café" >/dev/null
fi

"$BIN" serve --db "$DB" --listen "$LISTEN" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server; exit $?' INT TERM HUP

for _ in $(seq 1 50); do
  curl -s -o /dev/null "http://$LISTEN/healthz" && break
  if ! kill -0 $server 2>/dev/null; then
    echo "kopilkad did not start (is $LISTEN in use?)" >&2
    exit 1
  fi
  sleep 0.1
done

api() { # METHOD PATH [JSON]
  curl -sS -f -u "$EMAIL:$PASSWORD" -X "$1" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$BASE$2" >/dev/null
}

if $first_run; then
  echo "make run: creating demo data" >&2
  api POST /loyalty/coupons/ '{"title":"Free coffee","header":"A coffee on us","subHeader":"Any size","validDays":30}'
  api PUT /loyalty/settings/ '{"active":true,"currency":"points","newCustomerSettings":{"type":"amount","amount":100,"validDays":365,"couponId":1},"customerSettings":{"type":"percentage","amount":5,"validDays":365}}'
  n=0
  for c in "79123456701 anna@example.com Anna" "79123456702 boris@example.com Boris" "79123456703 vera@example.com Vera"; do
    set -- $c
    n=$((n + 1))
    api POST /clients/ "{\"phone\":\"$1\",\"email\":\"$2\",\"name\":\"$3\"}"
    api POST /fiscal/orders/ "{\"order\":{\"externalId\":\"demo-$n-1\",\"receiptType\":\"sale\",\"amountCard\":450,\"customerPhone\":\"$1\",\"items\":[{\"name\":\"Капучино\",\"price\":250,\"quantity\":1},{\"name\":\"Круассан\",\"price\":200,\"quantity\":1}]}}"
    api POST /fiscal/orders/ "{\"order\":{\"externalId\":\"demo-$n-2\",\"receiptType\":\"sale\",\"amountCash\":300,\"customerPhone\":\"$1\",\"items\":[{\"name\":\"Латте\",\"price\":300,\"quantity\":1}]}}"
  done
fi

# The server's log goes to this terminal too: with --log-format auto it writes one short text
# line per request there (JSON when stderr is a pipe or a file). The welcome is set apart from
# those lines, in bold on a terminal that shows it.
bold='' plain=''
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
  bold=$'\033[1m' plain=$'\033[0m'
fi
docs=''
[ -f "$(dirname "$BIN")/docs/index.html" ] && docs="  API docs   http://$LISTEN/docs/"$'\n'
cat >&2 <<MSG

${bold}kopilka is serving on http://$LISTEN${plain}   (Ctrl-C stops it)
  database   $DB
  login      $EMAIL  password $PASSWORD
${docs}
  try:
    curl -u $EMAIL:$PASSWORD '$BASE/clients/?phone=7912%25'
    curl -u $EMAIL:$PASSWORD $BASE/clients/1/balance/

Each request is logged below, one line: time, level, method, route, status, duration.

MSG
wait $server
