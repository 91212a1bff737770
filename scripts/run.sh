#!/usr/bin/env bash
# `make run`: serves kopilka on 127.0.0.1:8080 from ./var/kopilka.db. On the first run it
# creates the database with a demo merchant, an active 5 % program, a coupon and a few clients
# with points, all through the real API, and prints a curl command that works against it and a
# demo customer's card page.
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

# The demo database is made under another name and renamed when complete, so an interrupted
# first run leaves nothing half made.
first_run=false
final_db=$DB
if [ ! -f "$DB" ]; then
  first_run=true
  DB="$DB.making"
  rm -f "$DB" "$DB-wal" "$DB-shm"
  "$BIN" init --db "$DB" --email "$EMAIL" --password "$PASSWORD" --name "Demo Café" >/dev/null
fi

server=''
# Starts kopilkad on LISTEN, its clock moved by $1 seconds (the demo's history: the orders of
# past weeks are made by a server that believes it is then), and waits until it answers.
serve() {
  if [ "$1" -eq 0 ]; then
    "$BIN" serve --db "$DB" --listen "$LISTEN" &
  else # the history's servers log to a file, not to this terminal
    "$BIN" serve --db "$DB" --listen "$LISTEN" --clock-offset-seconds "$1" 2>>"$(dirname "$DB")/demo-history.log" &
  fi
  server=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://$LISTEN/healthz" && return 0
    if ! kill -0 $server 2>/dev/null; then
      echo "kopilkad did not start (is $LISTEN in use?)" >&2
      exit 1
    fi
    sleep 0.1
  done
}
stop() { kill -TERM $server 2>/dev/null; wait $server || true; }

api() { # METHOD PATH [JSON]
  curl -sS -f -u "$EMAIL:$PASSWORD" -X "$1" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$BASE$2" >/dev/null
}
sale() { # EXTERNAL-ID PHONE CARD ITEMS-JSON FD [SPEND]
  # The receipt's fiscal details as a till reports them (its fiscal drive, document number and
  # sign), so each receipt page shows the fiscal receipt's QR code.
  local fiscal="\"fn\":\"9960440300123456\",\"fd\":\"$5\",\"fp\":\"$((1000000000 + $5 * 7919))\""
  api POST /fiscal/orders/ "{\"order\":{\"externalId\":\"$1\",\"receiptType\":\"sale\",\"amountCard\":$3,\"customerPhone\":\"$2\",$fiscal,\"items\":$4}${6:+,\"amount\":$6,\"currency\":\"points\"}}"
}

if $first_run; then
  echo "make run: creating demo data (six weeks of a café's orders)" >&2
  day=86400
  serve $((-42 * day))
  api POST /loyalty/coupons/ '{"title":"Free coffee","header":"A coffee on us","subHeader":"Any size","validDays":90,"style":"theme_brown"}'
  curl -sS -f -u "$EMAIL:$PASSWORD" -F "image=@scripts/demo/coupon.png;type=image/png" "$BASE/loyalty/coupons/1/image/" >/dev/null
  api PUT /loyalty/settings/ '{"active":true,"currency":"points","newCustomerSettings":{"type":"amount","amount":100,"validDays":365,"couponId":1},"customerSettings":{"type":"percentage","amount":5,"validDays":60}}'
  api PUT /loyalty/settings/write_off/rules/ '{"patterns":[{"currency":"points","amount":50},{"currency":"points","amount":100}]}'
  api PUT /loyalty/settings/contact_info/ '{"company":"Demo Café","phone":"+7 495 000-00-00","email":"hello@demo-cafe.example","url":"https://demo-cafe.example","brandColor":"#6b3e26"}'
  api PUT /loyalty/settings/sale_points/ '[{"region":"Москва","city":"Москва","address":"Тверская, 1","phone":"+7 495 000-00-01"}]'
  api POST /employees/ '{"email":"cashier@kopilka.local","password":"demo-cashier","role":"cashier","firstName":"Кира"}'
  n=0
  declare -A seen=()
  for c in "79123456701 anna@example.com Anna" "79123456702 boris@example.com Boris" "79123456703 vera@example.com Vera" \
    "79123456704 gleb@example.com Глеб" "79123456705 daria@example.com Дарья" "79123456706 egor@example.com Егор"; do
    set -- $c
    api POST /clients/ "{\"phone\":\"$1\",\"email\":\"$2\",\"name\":\"$3\"}"
  done
  # Every third day back to yesterday: a few sales of the regulars, now and then paid partly
  # with points; one refund; anonymous sales beside them (not through the program).
  for back in $(seq 42 -3 3); do
    [ "$back" -ne 42 ] && { stop; serve $((-back * day)); }
    for i in 1 2 3 4 5 6; do
      [ $(((back + i) % 4)) -eq 0 ] && continue
      n=$((n + 1))
      price=$((150 + (back * 7 + i * 40) % 300))
      spend=''
      # Points pay part of a check only after the customer's first one (which brought 100).
      [ $(((back + i) % 5)) -eq 0 ] && [ -n "${seen[$i]:-}" ] && spend=50
      sale "demo-$n" "7912345670$i" $((price + 200)) "[{\"name\":\"Капучино\",\"price\":$price,\"quantity\":1},{\"name\":\"Круассан\",\"price\":200,\"quantity\":1}]" $((40000 + n)) $spend
      seen[$i]=1
    done
    n=$((n + 1))
    api POST /fiscal/orders/ "{\"order\":{\"externalId\":\"demo-$n\",\"receiptType\":\"sale\",\"amountCash\":180,\"items\":[{\"name\":\"Эспрессо\",\"price\":180,\"quantity\":1}]}}"
  done
  # The seed's refund form: the croissant of the first sale back.
  api POST /fiscal/orders/ '{"order":{"externalId":"demo-1","receiptType":"refund","amountCard":200,"items":[{"name":"Круассан","price":200,"quantity":1}]}}'
  stop
  mv "$DB" "$final_db"
  DB=$final_db
fi
serve 0
trap 'kill -TERM $server 2>/dev/null; wait $server; exit $?' INT TERM HUP

# The server's log goes to this terminal too: with --log-format auto it writes one short text
# line per request there (JSON when stderr is a pipe or a file). The welcome is set apart from
# those lines, in bold on a terminal that shows it.
bold='' plain=''
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
  bold=$'\033[1m' plain=$'\033[0m'
fi
docs=''
[ -f "$(dirname "$BIN")/docs/index.html" ] && docs="  API docs   http://$LISTEN/docs/"$'\n'
# A demo customer's card page (Anna's): its link is the client's cardURL.
card=$(curl -sS -u "$EMAIL:$PASSWORD" "$BASE/clients/1/" | sed -n 's/.*"cardURL":"\([^"]*\)".*/\1/p')
if [ -n "$card" ]; then
  card="  card       $card   (a customer's page: Anna's balance, coupon and QR code)"$'\n'
fi
# The demo merchant's join page: the contact info's joinURL (the codes go to this log).
join=$(curl -sS -u "$EMAIL:$PASSWORD" "$BASE/loyalty/settings/contact_info/" | sed -n 's/.*"joinURL":"\([^"]*\)".*/\1/p')
if [ -n "$join" ]; then
  join="  join       $join   (a new customer joins; the SMS codes appear in this log)"$'\n'
fi
cabinet=''
[ -f "$(dirname "$BIN")/lk/index.html" ] && cabinet="  cabinet    http://$LISTEN/lk/   (sign in as $EMAIL, or cashier@kopilka.local / demo-cashier)"$'\n'
cat >&2 <<MSG

${bold}kopilka is serving on http://$LISTEN${plain}   (Ctrl-C stops it)
  database   $DB
  login      $EMAIL  password $PASSWORD
${cabinet}${docs}${card}${join}
  try:
    curl -u $EMAIL:$PASSWORD '$BASE/clients/?phone=7912%25'
    curl -u $EMAIL:$PASSWORD $BASE/clients/1/balance/

Each request is logged below, one line: time, level, method, route, status, duration.

MSG
wait $server
