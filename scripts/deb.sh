#!/usr/bin/env bash
# `make deb`: builds build/kopilka_<version>_<arch>.deb with dpkg-deb alone (no debhelper, no
# network once the docs page's npm cache is filled): kopilkad compiled with Debian's hardening
# flags (dpkg-buildflags) in build/deb/obj, the tree staged in build/deb/root, Depends from
# dpkg-shlibdeps. The packaging files are in deb/. Prints the path of the package.
# Usage: scripts/deb.sh [OUTDIR]   (default: build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
outdir=$(mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
work=$root/build/deb
stage=$work/root

upstream=$(sed -n 's/^project(kopilka VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
# The Debian revision: this packaging of that upstream version.
version=$upstream-${DEB_REVISION:-1}
if [ -z "$upstream" ]; then
  echo "deb: no 'project(kopilka VERSION x.y.z' line in CMakeLists.txt" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"kopilka maintainers <maintainers@kopilka.example.org>"}
# Reproducible dates (the man page, the changelog, file times): the last commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The binary, with the flags Debian builds its packages with.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
CFLAGS=$cflags LDFLAGS=$ldflags cmake -S . -B "$work/obj" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$work/obj" -j2 --target kopilkad kopilka >/dev/null
bin=$work/obj/kopilkad
if [ "$("$bin" --version)" != "kopilkad $upstream" ]; then
  echo "deb: $bin --version does not say $upstream" >&2
  exit 1
fi

rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
install -D -m 0755 "$bin" "$stage/usr/bin/kopilkad"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/kopilkad"
# The command-line client (cli/, docs/CLI.md).
cli=$work/obj/kopilka
if [ "$("$cli" --version)" != "kopilka $upstream" ]; then
  echo "deb: $cli --version does not say $upstream" >&2
  exit 1
fi
install -D -m 0755 "$cli" "$stage/usr/bin/kopilka"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/kopilka"

# The docs page (Swagger UI from the npm cache of scripts/docs.sh), found by the installed
# binary at ../share/kopilka/docs.
scripts/docs.sh "$stage/usr/share/kopilka/docs" >/dev/null
# The Postman collection (/ext/api/v1/postman.json) beside it.
scripts/postman.sh "$stage/usr/share/kopilka/docs" >/dev/null
rm -f "$stage/usr/share/kopilka/docs/.postman.stamp"
# The merchant cabinet (web/ built by Vite), found by the installed binary at ../share/kopilka/lk.
scripts/lk.sh "$stage/usr/share/kopilka/lk" >/dev/null
rm -f "$stage/usr/share/kopilka/lk/.stamp"

# kopilkad(8) from --help and --version, with deb/kopilkad.h2m's FILES, EXAMPLES, SEE ALSO.
mkdir -p "$stage/usr/share/man/man8"
help2man --no-info --section=8 --name="self-hosted loyalty server" \
  --include=deb/kopilkad.h2m "$bin" | gzip -9n >"$stage/usr/share/man/man8/kopilkad.8.gz"
# kopilka(1) the same way, and its full documentation beside.
mkdir -p "$stage/usr/share/man/man1"
help2man --no-info --section=1 --name="command-line client of the kopilka loyalty API" \
  --include=deb/kopilka.h2m "$cli" | gzip -9n >"$stage/usr/share/man/man1/kopilka.1.gz"

# /etc/kopilka/kopilka.env: every setting serve reads (its [commands] name serve or all), from
# the --help table, commented out at its default; KOPILKA_DB set to the state directory and
# KOPILKA_ACCESS_LOG to the logs directory. Testing-only ones are left out.
mkdir -p "$stage/etc/kopilka"
{
  cat <<'EOF'
# Settings of the kopilka service (systemd reads this file with EnvironmentFile=; `man kopilkad`
# describes each). A line KOPILKA_X=value sets one; a commented line shows the default.
# After a change: systemctl restart kopilka
# The service can write only /var/lib/kopilka and /var/log/kopilka (ProtectSystem=strict):
# a database or media directory elsewhere needs ReadWritePaths= in `systemctl edit kopilka`.

EOF
  "$bin" --help | awk '
    function wrap(text,   line, n, i, words) {
      n = split(text, words, " ")
      line = "#"
      for (i = 1; i <= n; i++) {
        if (length(line) + 1 + length(words[i]) > 79) { print line; line = "#" }
        line = line " " words[i]
      }
      print line
    }
    function flush(   cmds, def, value) {
      if (env == "") return
      cmds = text; sub(/.*\[/, "", cmds); sub(/\]$/, "", cmds)
      sub(/ \[[^]]*\]$/, "", text)
      def = text; sub(/.* Default: /, "", def); sub(/; .*$/, "", def); sub(/\.$/, "", def)
      if (cmds ~ /serve|all/ && text !~ /testing/) {
        value = (def == "none" || def == "empty") ? "" : def
        wrap(text)
        if (env == "KOPILKA_DB") {
          print "KOPILKA_DB=/var/lib/kopilka/kopilka.db"
        } else if (env == "KOPILKA_ACCESS_LOG") {
          wrap("The service: access lines to this file, rotated by /etc/logrotate.d/kopilka " \
            "(past its rate limit, 10000 lines in 30 s by default, journald drops the " \
            "lines of a service, errors included); comment it out for the journal.")
          print "KOPILKA_ACCESS_LOG=/var/log/kopilka/access.log"
        } else {
          print "#" env "=" value
        }
        print ""
      }
      env = ""; text = ""
    }
    /^Settings/ { inset = 1; next }
    inset && /^$/ { flush(); inset = 0; next }
    inset && /^  --[a-z0-9-]+, KOPILKA_[A-Z0-9_]+$/ { flush(); env = $2; text = ""; next }
    inset && /^                      / { sub(/^ +/, ""); text = text (text == "" ? "" : " ") $0 }
    END { flush() }
  '
} >"$stage/etc/kopilka/kopilka.env"
if ! grep -q '^KOPILKA_DB=/var/lib/kopilka/kopilka.db$' "$stage/etc/kopilka/kopilka.env" ||
  ! grep -q '^KOPILKA_ACCESS_LOG=/var/log/kopilka/access.log$' "$stage/etc/kopilka/kopilka.env" ||
  ! grep -q '^#KOPILKA_LISTEN=127.0.0.1:8080$' "$stage/etc/kopilka/kopilka.env"; then
  echo "deb: the env file was not generated from kopilkad --help (the layout changed?)" >&2
  exit 1
fi

install -D -m 0644 deb/kopilka.service "$stage/lib/systemd/system/kopilka.service"
install -D -m 0644 deb/kopilka.logrotate "$stage/etc/logrotate.d/kopilka"

doc=$stage/usr/share/doc/kopilka
install -D -m 0644 deb/copyright "$doc/copyright"
gzip -9n <docs/CLI.md >"$doc/CLI.md.gz"
# The overrides, with the line of postinst that prints "systemctl enable" filled in.
msg_line=$(grep -n '^  systemctl enable --now kopilka$' deb/postinst | cut -d: -f1)
if [ -z "$msg_line" ]; then
  echo "deb: deb/postinst no longer prints 'systemctl enable --now kopilka'; update the override" >&2
  exit 1
fi
install -d "$stage/usr/share/lintian/overrides"
sed "s/@MSG_LINE@/$msg_line/" deb/kopilka.lintian-overrides >"$stage/usr/share/lintian/overrides/kopilka"
{
  echo "kopilka ($version) unstable; urgency=medium"
  echo
  echo "  * Built by make deb from the kopilka source tree at commit $commit."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"

# Depends: the shared libraries' packages (dpkg-shlibdeps reads a debian/control of its own),
# adduser for postinst, init-system-helpers for deb-systemd-helper/-invoke.
shl=$work/shlibdeps
mkdir -p "$shl/debian"
printf 'Source: kopilka\n\nPackage: kopilka\nArchitecture: any\n' >"$shl/debian/control"
shlibs=$(cd "$shl" && dpkg-shlibdeps -O -e"$stage/usr/bin/kopilkad" -e"$stage/usr/bin/kopilka" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
if [ -z "$shlibs" ]; then
  echo "deb: dpkg-shlibdeps found no dependencies for kopilkad" >&2
  exit 1
fi

for f in postinst prerm postrm; do
  install -m 0755 "deb/$f" "$stage/DEBIAN/$f"
done
printf '/etc/kopilka/kopilka.env\n/etc/logrotate.d/kopilka\n' >"$stage/DEBIAN/conffiles"
installed_kib=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: kopilka
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_kib
Depends: $shlibs, adduser, init-system-helpers (>= 1.54~)
Suggests: logrotate, postgresql
Section: net
Priority: optional
Description: self-hosted loyalty server speaking the i-bonus external API
 kopilkad serves the i-bonus external REST API: point-of-sale integrations
 find a customer by phone, show their points and coupons, post receipts
 that spend points and redeem coupons, and refund them. Balances live in
 SQLite (the default, in /var/lib/kopilka) or PostgreSQL.
 .
 The package runs kopilkad as the hardened systemd service kopilka.service
 under its own system user; settings are in /etc/kopilka/kopilka.env. The
 command-line client kopilka finds clients, posts orders through an offline
 outbox, and receives signed webhooks while an integration is developed.
EOF

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +

deb=$outdir/kopilka_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
