#!/usr/bin/env bash
# `make deb-check` (run by make test): checks the package make deb built, on this machine.
#   - lintian: no errors (its warnings are printed);
#   - systemd-analyze verify accepts the installed unit, and `systemd-analyze security` puts its
#     exposure at or below EXPOSURE_MAX (no systemd manager is needed for either);
#   - dpkg -i installs it: the system user, the database created by postinst, the conffile;
#     kopilkad runs from the installed files as the unit would run it (its user, its env file,
#     its state directory) on a free 127.0.0.1 port, answers /healthz, serves the docs page and
#     the merchant added as postinst says, and stops on SIGTERM; the system calls it made (strace)
#     are all allowed by the unit's SystemCallFilter=, and no memory is writable and executable
#     (MemoryDenyWriteExecute=); installing it again leaves the database untouched;
#   - the access log in /var/log/kopilka, as the env file sets it, rotated twice by logrotate -f
#     with the shipped snippet while kopilkad runs: the rotated file keeps the earlier lines,
#     kopilkad creates the new file (owner, mode) on the SIGHUP the unit's reload sends, later
#     lines land there, the older file is compressed; kill -HUP does not stop the server;
#   - kopilkad(8) lists every setting of kopilkad --help, the env file every one serve reads;
#   - dpkg -r then dpkg -P remove it: nothing is left but /var/lib/kopilka and the user
#     kopilka, which purge keeps on purpose (deb/postrm says why).
# It installs a package on the machine, so it runs as root, refuses a machine where a kopilka
# package or its data is already present (unless an interrupted run of this script left them),
# and always restores the machine: purge, the state directory and the user it created.
# Usage: scripts/deb-check.sh PACKAGE.deb
set -euo pipefail

# systemd-analyze security's overall exposure (0.0 best .. 10.0): the level deb/kopilka.service
# reaches, 1.1 ("OK"). A change that weakens the unit fails here.
EXPOSURE_MAX=1.1
PKG=kopilka
STATE=/var/lib/kopilka
MARK=/var/lib/kopilka-deb-check.mark
LOCK=$([ -d /run/lock ] && echo /run/lock || echo /tmp)/kopilka-deb-check.lock

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: scripts/deb-check.sh PACKAGE.deb" >&2
  exit 2
fi
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [ "$(id -u)" -ne 0 ]; then
  echo "deb-check: installs the package with dpkg, so it runs as root" >&2
  exit 2
fi

checks=0
fail() {
  echo "deb-check: FAIL: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "deb-check: ok: $*"
}

# One run at a time on the machine (the lead's make test and a helper's may overlap).
exec 9>"$LOCK"
if ! flock -w 900 9; then
  fail "another deb-check held $LOCK for 15 minutes"
fi

pkg_status() {
  dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null || true
}

# dpkg waits for no one: another apt-get or dpkg on the machine holds its lock for a while.
dpkg_retry() {
  local i out
  for i in $(seq 1 60); do
    if out=$(dpkg "$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    if ! grep -q 'lock' <<<"$out"; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    sleep 5
  done
  printf '%s\n' "$out" >&2
  return 1
}

server= kpid=
# Puts the machine back as it was before the run: what the mark file says this script made.
restore() {
  if [ -n "$kpid" ]; then kill -TERM "$kpid" 2>/dev/null || true; fi
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server= kpid=
  [ -f "$MARK" ] || return 0
  if [ "$(pkg_status)" != "" ] && [ "$(pkg_status)" != not-installed ]; then
    dpkg_retry --purge "$PKG" >/dev/null || echo "deb-check: could not purge $PKG" >&2
  fi
  rm -rf "$STATE"
  if grep -q '^created-user$' "$MARK" && getent passwd kopilka >/dev/null; then
    userdel kopilka 2>/dev/null || echo "deb-check: could not delete the user kopilka" >&2
    getent group kopilka >/dev/null && groupdel kopilka 2>/dev/null || true
  fi
  rm -f "$MARK"
}

if [ -f "$MARK" ]; then
  echo "deb-check: cleaning up after an interrupted run" >&2
  restore
fi
if [ "$(pkg_status)" != "" ] && [ "$(pkg_status)" != not-installed ]; then
  fail "the package $PKG is on this machine (dpkg status: $(pkg_status)) and this check did not" \
    "install it; it installs and purges $PKG, so it runs only where there is none (dpkg -P $PKG)"
fi
for path in "$STATE" /etc/kopilka /var/log/kopilka; do
  if [ -e "$path" ]; then
    fail "$path exists and this check did not make it; it runs only on a machine without" \
      "kopilka's files (remove it, or run elsewhere)"
  fi
done
{
  echo "deb-check run $$"
  getent passwd kopilka >/dev/null || echo created-user
} >"$MARK"

tmp=$(mktemp -d)
trap 'restore; rm -rf "$tmp"' EXIT

# --- lintian -------------------------------------------------------------------------------
echo "deb-check: lintian $deb"
set +e
lintian --fail-on error --show-overrides "$deb" >"$tmp/lintian" 2>&1
lintian_rc=$?
set -e
grep -v 'running with root privileges' "$tmp/lintian" | sed 's/^/  /' || true
if [ $lintian_rc -ne 0 ] || grep -q '^E: ' "$tmp/lintian"; then
  fail "lintian reports errors (exit $lintian_rc)"
fi
ok "lintian: no errors, $(grep -c "^W: " "$tmp/lintian" || true) warning(s), $(grep -c "^O: " "$tmp/lintian" || true) overridden"

# --- install -------------------------------------------------------------------------------
dpkg_retry --install "$deb" >"$tmp/install" || fail "dpkg -i $deb"
sed 's/^/  /' "$tmp/install"
[ "$(pkg_status)" = installed ] || fail "dpkg status after dpkg -i: $(pkg_status)"
grep -q 'runuser -u kopilka -- kopilkad init --db /var/lib/kopilka/kopilka.db' "$tmp/install" ||
  fail "postinst did not print how to add the first merchant"
ok "dpkg -i: installed; postinst printed how to add the first merchant"

for f in /usr/bin/kopilkad /usr/share/man/man8/kopilkad.8.gz /lib/systemd/system/kopilka.service \
  /usr/bin/kopilka /usr/share/man/man1/kopilka.1.gz /usr/share/doc/kopilka/CLI.md.gz \
  /etc/kopilka/kopilka.env /etc/logrotate.d/kopilka /usr/share/doc/kopilka/copyright \
  /usr/share/doc/kopilka/changelog.Debian.gz /usr/share/kopilka/docs/index.html \
  /usr/share/kopilka/docs/swagger-ui-bundle.js /usr/share/kopilka/docs/postman.json \
  /usr/share/kopilka/lk/index.html; do
  [ -f "$f" ] || fail "$f is not installed"
done
zcat /usr/share/man/man8/kopilkad.8.gz | grep -q '^\.TH KOPILKAD "8"' || fail "kopilkad(8) has no .TH"
zcat /usr/share/man/man8/kopilkad.8.gz | grep -q 'KOPILKA_LISTEN' ||
  fail "kopilkad(8) does not list the settings"
grep -qx '/etc/kopilka/kopilka.env' /var/lib/dpkg/info/$PKG.conffiles || fail "kopilka.env is no conffile"
zcat /usr/share/man/man1/kopilka.1.gz | grep -q '^\.TH KOPILKA "1"' || fail "kopilka(1) has no .TH"
for word in KOPILKA_URL 'webhooks listen' 'Exit status'; do
  zcat /usr/share/man/man1/kopilka.1.gz | grep -q "$word" || fail "kopilka(1) does not mention $word"
done
[ "$(/usr/bin/kopilka --version)" = "kopilka $(dpkg-query -W -f='${Version}' $PKG | cut -d- -f1)" ] ||
  fail "/usr/bin/kopilka --version is not the package's version"
ok "files: binaries, man pages, unit, conffiles, docs page, Postman collection, cabinet, copyright, changelog"

# The settings of --help, one line each: "KOPILKA_X help text. Default: ... [commands]". The man
# page (help2man) must list all of them; the env file (scripts/deb.sh) those serve reads, its
# [commands] naming serve or all, but the testing-only ones, and no other.
/usr/bin/kopilkad --help | awk '
  /^  --[a-z0-9-]+, KOPILKA_[A-Z0-9_]+$/ { if (s != "") print s; s = $2; next }
  s != "" && /^   / { sub(/^ +/, " "); s = s $0; next }
  s != "" { print s; s = "" }' >"$tmp/settings"
if ! grep -q '^KOPILKA_LOG_FORMAT ' "$tmp/settings" || ! grep -q '^KOPILKA_BACKUP_KEEP ' "$tmp/settings"; then
  fail "no settings read from kopilkad --help (the layout of its Settings section changed?)"
fi
zcat /usr/share/man/man8/kopilkad.8.gz >"$tmp/man"
env_file=/etc/kopilka/kopilka.env
serve_settings=0
while read -r name text; do
  grep -qw "$name" "$tmp/man" || fail "kopilkad(8) does not list $name"
  cmds=${text##*[}
  if [[ "$cmds" =~ serve|all ]] && [[ "$text" != *testing* ]]; then
    serve_settings=$((serve_settings + 1))
    grep -Eq "^#?$name=" "$env_file" || fail "$env_file does not list $name, a setting of serve"
  elif grep -q "$name" "$env_file"; then
    fail "$env_file lists $name, which serve does not read (or is for testing only)"
  fi
done <"$tmp/settings"
ok "kopilkad(8) lists the $(wc -l <"$tmp/settings") settings of --help, $env_file the $serve_settings that serve reads (KOPILKA_LOG_FORMAT, KOPILKA_BACKUP_DIR/EVERY/KEEP among them)"

user_line=$(getent passwd kopilka) || fail "postinst did not create the user kopilka"
uid=$(cut -d: -f3 <<<"$user_line")
[ "$uid" -lt 1000 ] || fail "kopilka is not a system user (uid $uid)"
[ "$(stat -c %U:%G:%a "$STATE")" = kopilka:kopilka:750 ] ||
  fail "$STATE is $(stat -c %U:%G:%a "$STATE"), not kopilka:kopilka:750"
db=$STATE/kopilka.db
[ "$(stat -c %U "$db")" = kopilka ] || fail "postinst did not create $db as kopilka"
/usr/bin/kopilkad check --db "$db" >/dev/null || fail "kopilkad check on the new database"
ok "postinst: system user kopilka (uid $uid), $db created by it and passing check"

# --- the unit ------------------------------------------------------------------------------
systemd-analyze verify --man=no /lib/systemd/system/kopilka.service ||
  fail "systemd-analyze verify rejects the unit"
ok "systemd-analyze verify accepts kopilka.service"
set +e
systemd-analyze security --offline=true --threshold="${EXPOSURE_MAX/./}" \
  /lib/systemd/system/kopilka.service >"$tmp/security" 2>&1
security_rc=$?
set -e
grep -v '^✓' "$tmp/security" | sed 's/^/  /'
exposure=$(sed -n 's/.*Overall exposure level for kopilka.service: \([0-9.]*\).*/\1/p' "$tmp/security")
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure"
[ $security_rc -eq 0 ] || fail "exposure $exposure is above $EXPOSURE_MAX"
ok "systemd-analyze security: exposure $exposure (at most $EXPOSURE_MAX)"
logrotate --debug /etc/logrotate.d/kopilka >"$tmp/logrotate" 2>&1 ||
  { cat "$tmp/logrotate" >&2; fail "logrotate rejects /etc/logrotate.d/kopilka"; }
if grep -qi 'error' "$tmp/logrotate"; then
  cat "$tmp/logrotate" >&2
  fail "logrotate reports an error"
fi
ok "logrotate --debug accepts /etc/logrotate.d/kopilka"

# The package does not enable the service (the operator adds a merchant first); an operator's
# `systemctl enable` (without a running manager it only makes the link) is undone by purge.
wants=/etc/systemd/system/multi-user.target.wants/kopilka.service
if [ -e "$wants" ]; then fail "dpkg -i enabled the service"; fi
systemctl enable kopilka.service >/dev/null 2>&1 || fail "systemctl enable kopilka.service"
[ -L "$wants" ] || fail "systemctl enable made no $wants"
ok "the package leaves the service disabled; systemctl enable links it"

# --- run it as the unit would --------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The first merchant, as postinst says to add it.
runuser -u kopilka -- /usr/bin/kopilkad init --db "$db" --email owner@deb-check.example \
  --password deb-check-password --name "deb-check" >/dev/null 2>&1 ||
  fail "adding a merchant as postinst says"
# EnvironmentFile=: the KEY=value lines of the env file; only the port is this run's. Under
# strace (as kopilka, from the exec of kopilkad on), to compare the system calls it makes with
# the unit's SystemCallFilter= below.
mapfile -t unit_env < <(grep -E '^KOPILKA_[A-Z0-9_]+=' /etc/kopilka/kopilka.env)
log=/var/log/kopilka/access.log
# The access lines go to a file (rotated by the shipped snippet), not the journal.
printf '%s\n' "${unit_env[@]}" | grep -qx "KOPILKA_ACCESS_LOG=$log" ||
  fail "the env file does not set KOPILKA_ACCESS_LOG=$log"
chmod 0711 "$tmp"
install -d -o kopilka -g kopilka -m 0700 "$tmp/trace"
(cd "$STATE" && umask 0077 &&
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${unit_env[@]}" \
    KOPILKA_LISTEN=127.0.0.1:$port \
    setpriv --reuid=kopilka --regid=kopilka --init-groups --no-new-privs \
    strace -f -qq -c -o "$tmp/trace/syscalls" /usr/bin/kopilkad serve) 2>"$tmp/server.log" &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$base/healthz" && break
  kill -0 $server 2>/dev/null || { cat "$tmp/server.log" >&2; fail "kopilkad exited at start"; }
  sleep 0.1
done
kpid=$(pgrep -P $server -x kopilkad) || fail "no kopilkad under strace"
health=$(curl -sS -f "$base/healthz") || { cat "$tmp/server.log" >&2; fail "GET /healthz"; }
[ "$health" = '{"status":"ok","database":"ok"}' ] || fail "GET /healthz answered $health"
curl -sS -f "$base/docs/" | grep -q '<html' || fail "GET /docs/ (the installed docs page)"
curl -sS -f "$base/ext/api/v1/postman.json" | grep -q '"_postman_id"' ||
  fail "GET /ext/api/v1/postman.json (the installed Postman collection)"
lk_js=$(curl -sS -f "$base/lk/" | sed -n 's#.*src="/lk/assets/\([^"]*\.js\)".*#\1#p' | head -n 1)
[ -n "$lk_js" ] && curl -sS -f -o /dev/null "$base/lk/assets/$lk_js" ||
  fail "GET /lk/ and its script (the installed cabinet)"
# The merchant added as postinst says: a program, a client, a sale, reads.
api() { # METHOD PATH [JSON]
  curl -sS -f -u owner@deb-check.example:deb-check-password -X "$1" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$base/ext/api/v1$2" >/dev/null ||
    fail "$1 $2 as the merchant added as postinst says"
}
api PUT /loyalty/settings/ '{"active":true,"currency":"points","customerSettings":{"type":"percentage","amount":5,"validDays":365}}'
api POST /clients/ '{"phone":"79123456701","name":"Anna"}'
api POST /fiscal/orders/ '{"order":{"externalId":"deb-check-1","receiptType":"sale","amountCard":450,"customerPhone":"79123456701","items":[{"name":"Coffee","price":450,"quantity":1}]}}'
api GET '/clients/1/balance/'
api GET /clients/
[ "$(stat -c %U "$log")" = kopilka ] || fail "access log not written as kopilka"
grep -q '"route":"/healthz"' "$log" || fail "no access line in the log file"
ps -o user= -p "$kpid" | grep -qx kopilka || fail "kopilkad does not run as kopilka"
# MemoryDenyWriteExecute=: no mapping is writable and executable.
wx=$(awk '$2 ~ /w.x/' "/proc/$kpid/maps")
[ -z "$wx" ] || fail "kopilkad maps memory writable and executable: $wx"

# --- log rotation, while it runs ------------------------------------------------------------
# logrotate -f with the shipped /etc/logrotate.d/kopilka. Its postrotate reaches the service
# through systemd (systemctl try-reload-or-restart runs the unit's ExecReload=, a SIGHUP to
# $MAINPID), and skips that when systemd is not PID 1, as here: so logrotate runs a copy,
# identical but for the postrotate body, which is the unit's ExecReload= line with $MAINPID
# replaced by the PID of the kopilkad started above (the signal systemd would send), and with a
# state file of its own, so the machine's /var/lib/logrotate/status is not touched.
unit=/lib/systemd/system/kopilka.service
grep -q '^[[:space:]]*systemctl try-reload-or-restart kopilka.service' /etc/logrotate.d/kopilka ||
  fail "the postrotate of /etc/logrotate.d/kopilka no longer reloads kopilka.service"
reload=$(sed -n 's/^ExecReload=//p' "$unit")
# shellcheck disable=SC2016 # $MAINPID is systemd's, literal in the unit
[[ "$reload" == *'-HUP $MAINPID' ]] || fail "ExecReload= is '$reload', not a SIGHUP to \$MAINPID"
awk -v reload="${reload//\$MAINPID/$kpid}" '
  /^[[:space:]]*postrotate$/ { print; print "\t\t" reload; skip = 1; next }
  /^[[:space:]]*endscript$/ { skip = 0 }
  !skip' /etc/logrotate.d/kopilka >"$tmp/logrotate.conf"
rotate() {
  logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" >"$tmp/logrotate.run" 2>&1 ||
    { cat "$tmp/logrotate.run" >&2; fail "logrotate -f with the shipped snippet"; }
}
# Up to 10 s for CONDITION: kopilkad reopens on the signal, and writes an access line after the
# answer, so neither is done when kill or curl returns.
wait_for() { # CONDITION...
  for _ in $(seq 1 100); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
count() { # PATTERN FILE: lines of FILE holding PATTERN
  grep -c -- "$1" "$2" 2>/dev/null || true
}
wait_reopened() { # N AFTER: kopilkad logs its Nth reopen of the access log, after AFTER
  wait_for [ "$(count "received SIGHUP: reopened the access log $log" "$tmp/server.log")" -ge "$1" ] &&
    return 0
  cat "$tmp/server.log" >&2
  kill -0 "$kpid" 2>/dev/null || fail "kopilkad stopped after $2"
  fail "kopilkad did not reopen $log after $2"
}
get_spec() { # N: GET /ext/api/v1/openapi.json N times
  for _ in $(seq 1 "$1"); do
    curl -sS -f -o /dev/null "$base/ext/api/v1/openapi.json" || fail "GET /ext/api/v1/openapi.json"
  done
}
spec='"route":"/ext/api/v1/openapi.json"'
wait_for grep -q '"route":"/ext/api/v1/clients/"' "$log" ||
  fail "the access line of the last request (GET /clients/) is not in $log"
cp "$log" "$tmp/access.before"
attrs=$(stat -c %U:%G:%a "$log")
# kopilkad opens it 0640, less the unit's UMask=0077 (as the server above runs).
[ "$attrs" = kopilka:kopilka:600 ] || fail "$log is $attrs, not kopilka:kopilka:600"

rotate
wait_reopened 1 "logrotate's postrotate"
cmp -s "$tmp/access.before" "$log.1" ||
  fail "$log.1 is not the log as it was before the rotation ($(wc -l <"$tmp/access.before") lines)"
[ -f "$log" ] || fail "kopilkad made no new $log on the SIGHUP"
[ ! -s "$log" ] || fail "the new $log has lines before any new request: $(cat "$log")"
[ "$(stat -c %U:%G:%a "$log")" = "$attrs" ] ||
  fail "kopilkad made the new $log $(stat -c %U:%G:%a "$log"), not $attrs"
get_spec 3
wait_for [ "$(count "$spec" "$log")" -eq 3 ] || fail "the 3 requests after the rotation are not in the new $log"
cmp -s "$tmp/access.before" "$log.1" || fail "lines after the rotation went to $log.1"
ok "logrotate -f, the shipped snippet, postrotate the unit's ExecReload= ($reload): $log.1 holds the $(wc -l <"$tmp/access.before") earlier lines, kopilkad made the new $log ($attrs) and wrote the 3 requests after it there"

# A SIGHUP that no rotation preceded: the same file is reopened, and the server goes on.
kill -HUP "$kpid"
wait_reopened 2 "kill -HUP"
get_spec 1
wait_for [ "$(count "$spec" "$log")" -eq 4 ] || fail "after kill -HUP, a request did not reach $log"
# The second rotation compresses the first (delaycompress keeps the newest plain).
rotate
wait_reopened 3 "the second rotation"
zcat "$log.2.gz" | cmp -s "$tmp/access.before" - ||
  fail "$log.2.gz is not the compressed log of before the first rotation"
[ "$(count "$spec" "$log.1")" -eq 4 ] || fail "$log.1 does not hold the 4 requests of the second file"
for f in "$log.2.gz" "$log.1"; do
  [ "$(stat -c %U:%G:%a "$f")" = "$attrs" ] || fail "$f is $(stat -c %U:%G:%a "$f"), not $attrs"
done
health=$(curl -sS -f "$base/healthz") || fail "GET /healthz after the rotations"
[ "$health" = '{"status":"ok","database":"ok"}' ] || fail "GET /healthz answered $health after the rotations"
wait_for grep -q '"route":"/healthz"' "$log" || fail "no access line in the third $log"
ok "kill -HUP: kopilkad reopened $log and answered on; a second rotation compressed the first file to $log.2.gz ($attrs) and kopilkad went on in a third"

kill -TERM "$kpid"
rc=0
wait $server || rc=$?
server= kpid=
[ $rc -eq 0 ] || { cat "$tmp/server.log" >&2; fail "kopilkad exited $rc on SIGTERM"; }
grep -q 'stopped cleanly' "$tmp/server.log" || fail "no clean stop in the log"
owned_by_others=$(find "$STATE" ! -user kopilka)
[ -z "$owned_by_others" ] || fail "files in $STATE not owned by kopilka: $owned_by_others"
ok "kopilkad ran as kopilka from the installed files on 127.0.0.1:$port: /healthz ok, /docs/, /ext/api/v1/postman.json, /lk/, the merchant's program, client and sale; no writable+executable memory; SIGTERM stopped it (exit 0)"

# The unit's SystemCallFilter= lines (an allow list, then ~ deny lists): every call kopilkad made
# above must be allowed and not denied (systemd-analyze expands the sets).
expand_sets() {
  local item
  systemd-analyze syscall-filter "$@" | sed -n 's/^ \{4\}\([@a-z0-9_-]\+\)$/\1/p' | sort -u |
    while read -r item; do
      case "$item" in @*) expand_sets "$item" ;; *) echo "$item" ;; esac
    done | sort -u
}
read -r -a allow_sets <<<"$(sed -n 's/^SystemCallFilter=\([^~]\)/\1/p' "$unit" | tr '\n' ' ')"
read -r -a deny_sets <<<"$(sed -n 's/^SystemCallFilter=~//p' "$unit" | tr '\n' ' ')"
[ ${#allow_sets[@]} -gt 0 ] && [ ${#deny_sets[@]} -gt 0 ] || fail "no SystemCallFilter= lines in $unit"
expand_sets "${allow_sets[@]}" >"$tmp/allowed"
expand_sets "${deny_sets[@]}" >"$tmp/denied"
comm -23 "$tmp/allowed" "$tmp/denied" >"$tmp/filter"
awk 'NR > 2 && $1 !~ /^-/ && $NF != "total" { print $NF }' "$tmp/trace/syscalls" | sort -u >"$tmp/used"
[ "$(wc -l <"$tmp/used")" -gt 20 ] || fail "strace counted too few system calls: $(cat "$tmp/used")"
outside=$(comm -23 "$tmp/used" "$tmp/filter" | tr '\n' ' ')
[ -z "$outside" ] || fail "kopilkad made system calls the unit's SystemCallFilter= refuses: $outside"
ok "SystemCallFilter=${allow_sets[*]} ~${deny_sets[*]}: the $(wc -l <"$tmp/used") system calls kopilkad made are all in the $(wc -l <"$tmp/filter") it allows"

# --- install again: the database is not touched --------------------------------------------
before=$(md5sum "$db")
dpkg_retry --install "$deb" >"$tmp/reinstall" || fail "dpkg -i again"
[ "$(md5sum "$db")" = "$before" ] || fail "installing again changed $db"
if grep -q 'created the database' "$tmp/reinstall"; then
  fail "installing again created the database"
fi
ok "dpkg -i again: $db untouched"

# --- remove, then purge ---------------------------------------------------------------------
dpkg_retry --remove "$PKG" >/dev/null || fail "dpkg -r"
[ "$(pkg_status)" = config-files ] || fail "dpkg status after dpkg -r: $(pkg_status)"
for f in /usr/bin/kopilkad /usr/share/man/man8/kopilkad.8.gz /lib/systemd/system/kopilka.service \
  /usr/bin/kopilka /usr/share/man/man1/kopilka.1.gz /usr/share/kopilka /usr/share/doc/kopilka; do
  if [ -e "$f" ]; then fail "dpkg -r left $f"; fi
done
[ -f /etc/kopilka/kopilka.env ] || fail "dpkg -r removed the conffile (only purge may)"
ok "dpkg -r: the files are gone, the conffile kept"

dpkg_retry --purge "$PKG" >"$tmp/purge" 2>&1 || fail "dpkg -P"
case "$(pkg_status)" in "" | not-installed) ;; *) fail "dpkg status after dpkg -P: $(pkg_status)" ;; esac
for f in /etc/kopilka /etc/logrotate.d/kopilka /var/log/kopilka \
  /var/lib/systemd/deb-systemd-helper-enabled/kopilka.service.dsh-also \
  "$wants" /var/lib/dpkg/info/$PKG.list; do
  if [ -e "$f" ]; then fail "dpkg -P left $f"; fi
done
[ -f "$db" ] || fail "purge removed the database (it keeps it: deb/postrm)"
left=$(find "$STATE" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
ok "dpkg -P: conffiles, logs and unit state gone; kept as documented: $STATE ($left) and the user kopilka"

echo "deb-check: $checks passed, 0 failed"
