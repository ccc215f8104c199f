#!/usr/bin/env bash
# The Debian package: built by cpack from this build tree, its contents and
# maintainer scripts checked (dpkg-deb -c / -I, sh -n), installed with dpkg
# into a throwaway root (a chroot made here from the host's own programs and
# the libraries they need), where the postinst creates the lthub user, its
# directories, a token and the keys, and `lthubd --check-config` passes;
# installed again over itself after an administrator edited the config:
# nothing is overwritten. The units pass `systemd-analyze verify`.
# usage: test_package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/lthub-pkg-XXXXXX)
PROC_MOUNTED=""
cleanup() {
  if [ -n "$PROC_MOUNTED" ]; then umount -l "$PROC_MOUNTED" 2>/dev/null || true; fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
for tool in cpack dpkg dpkg-deb; do command -v $tool >/dev/null || fail "$tool missing (deploy/deps.sh)"; done
# The throwaway root needs root (chroot, mknod); ctest reports 77 as skipped.
if [ "$(id -u)" != 0 ]; then echo "SKIP: the package test installs into a chroot and needs root"; exit 77; fi

# Build the package.
(cd "$BIN" && cpack -G DEB -B "$WORK/out" >"$WORK/cpack.log" 2>&1) || fail "cpack: $(tail -20 "$WORK/cpack.log")"
version=$(sed -n 's/^project(lthub VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
DEB="$WORK/out/lthub_${version}_amd64.deb"
[ -f "$DEB" ] || fail "no $DEB: $(ls "$WORK/out")"
ok "cpack built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"

# Contents.
dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|' >"$WORK/contents.txt"
for f in /usr/bin/lthubd /usr/bin/lthub /usr/bin/lthub-dms /usr/bin/lthub-axis \
  /usr/lib/systemd/system/lthubd.service /usr/lib/systemd/system/lthub-connector@.service \
  /usr/lib/sysusers.d/lthub.conf /etc/lthub/lthub.cfg /etc/lthub/dms-systems.cfg \
  /usr/share/doc/lthub/operations.md; do
  grep -qx "$f" "$WORK/contents.txt" || fail "package lacks $f"
done
# Every connector this tree builds is in the package.
for prog in "$BIN"/connectors/*/lthub-*; do
  [ -x "$prog" ] && [ -f "$prog" ] || continue
  grep -qx "/usr/bin/$(basename "$prog")" "$WORK/contents.txt" \
    || fail "package lacks $(basename "$prog") (add install(TARGETS ... RUNTIME DESTINATION bin) to its CMakeLists.txt)"
done
if grep -E '^/(var|home|tmp|usr/local)/' "$WORK/contents.txt"; then fail "package ships files in state or local paths"; fi
dpkg-deb -I "$DEB" >"$WORK/info.txt"
grep -q '^ Package: lthub$' "$WORK/info.txt" && grep -q '^ Architecture: amd64$' "$WORK/info.txt" || fail "control: $(cat "$WORK/info.txt")"
grep -q '^ Depends:.*libczmq4' "$WORK/info.txt" || fail "no shared library dependencies in control"
mkdir -p "$WORK/control"
dpkg-deb -e "$DEB" "$WORK/control"
for s in postinst prerm postrm; do
  [ -x "$WORK/control/$s" ] || fail "no executable $s"
  sh -n "$WORK/control/$s" || fail "$s does not parse"
done
# Every file under /etc is a conffile.
grep '^/etc/.*[^/]$' "$WORK/contents.txt" | while read -r f; do
  [ -d "$f" ] && continue
  grep -qx "$f" "$WORK/control/conffiles" || { [ "${f%/}" != "$f" ] || fail "$f is not a conffile"; }
done
grep -qx /etc/lthub/lthub.cfg "$WORK/control/conffiles" || fail "lthub.cfg is not a conffile"
grep -q 'useradd --system' "$WORK/control/postinst" || fail "postinst does not create the user"
ok "contents, control, conffiles and maintainer scripts"

# A throwaway root: the host's shell and tools the maintainer scripts use,
# the package's programs' libraries, an empty dpkg database.
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,run,root,var/lib/dpkg/{info,updates,triggers,alternatives}}
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$R/etc/shadow"
printf 'root:*::\n' >"$R/etc/gshadow"
chmod 640 "$R/etc/shadow" "$R/etc/gshadow"
[ -f /etc/login.defs ] && cp /etc/login.defs "$R/etc/"
mkdir -p "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3 && mknod -m 444 "$R/dev/urandom" c 1 9 || fail "mknod in the root (needs root)"
copy_with_libs() {   # absolute paths of programs or libraries
  local f lib
  for f in "$@"; do
    [ -e "$R$f" ] && continue
    mkdir -p "$R$(dirname "$f")"
    cp -L "$f" "$R$f"
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
      [ -e "$R$lib" ] || { mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; }
    done
  done
}
tools=""
for t in nologin sh getent groupadd useradd install head od tr chown chmod mkdir rm rmdir cat id ls; do
  p=$(command -v $t || ls /usr/sbin/$t 2>/dev/null) || fail "host lacks $t"
  tools="$tools $p"
done
copy_with_libs $tools
for t in $tools; do   # the scripts call them by name through PATH
  [ -e "$R/usr/bin/$(basename "$t")" ] || cp -L "$t" "$R/usr/bin/$(basename "$t")"
done
[ -e "$R/bin/sh" ] || cp -L "$(command -v sh)" "$R/bin/sh"
# The package's own programs need their shared libraries in the root too
# (on a real system dpkg/apt brings them from Depends).
for p in lthubd lthub connectors/dms/lthub-dms connectors/axis/lthub-axis; do
  case $p in */*) f="$BIN/$p" ;; *) f="$BIN/broker/$p" ;; esac
  for lib in $(ldd "$f" | grep -o '/[^ ]*'); do copy_with_libs "$lib"; done
done
ok "throwaway root: $(du -sm "$R" | cut -f1) MB from the host's programs and libraries"

# In the Sanitize build the packaged programs carry AddressSanitizer, which
# reads its options and runs its leak checker through /proc: give the root
# one, and no leak checking there (the other tests check for leaks).
if ldd "$BIN/broker/lthubd" | grep -q libasan; then
  mkdir -p "$R/proc"
  if ! mount -t proc proc "$R/proc"; then
    echo "SKIP: cannot mount /proc in the root, which the sanitized programs need (the release build runs this test in full)"
    exit 77
  fi
  PROC_MOUNTED="$R/proc"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
dpkg --root="$R" --force-depends -i "$DEB" >"$WORK/install.log" 2>&1 \
  || fail "dpkg -i into the root: $(grep -v 'depends on\|is not installed' "$WORK/install.log" | tail -15)"
grep -q '^lthub:' "$R/etc/passwd" || fail "no lthub user"
grep -q '^Status: install ok installed' <(sed -n '/^Package: lthub$/,/^$/p' "$R/var/lib/dpkg/status") || fail "dpkg does not show lthub installed"
uid=$(awk -F: '$1 == "lthub" {print $3}' "$R/etc/passwd")
[ "$(stat -c %u "$R/var/lib/lthub")" = "$uid" ] && [ "$(stat -c %a "$R/var/lib/lthub")" = 750 ] || fail "/var/lib/lthub owner or mode"
[ "$(stat -c %a "$R/etc/lthub/secrets")" = 700 ] && [ -s "$R/etc/lthub/secrets/admin.token" ] || fail "secrets dir or token"
[ -f "$R/var/lib/lthub/keys/broker.cert" ] && [ -f "$R/var/lib/lthub/keys/axis.cert_secret" ] || fail "keys not made"
chroot "$R" /usr/bin/lthubd --check-config /etc/lthub/lthub.cfg >"$WORK/check.txt" 2>&1 \
  || fail "lthubd --check-config in the root: $(cat "$WORK/check.txt")"
grep -q 'OK' "$WORK/check.txt" || fail "check-config: $(cat "$WORK/check.txt")"
chroot "$R" /usr/bin/lthub check-config /etc/lthub/lthub.cfg >/dev/null || fail "lthub check-config in the root"
ok "installed into the root: user lthub ($uid), directories, token, keys; $(cat "$WORK/check.txt")"

# Upgrade over an edited configuration: nothing overwritten.
echo "# edited by the administrator" >>"$R/etc/lthub/lthub.cfg"
sums() { (cd "$R" && find etc/lthub var/lib/lthub -type f | sort | xargs sha256sum); }
before=$(sums)
dpkg --root="$R" --force-depends --force-confold -i "$DEB" >"$WORK/upgrade.log" 2>&1 \
  || fail "reinstall: $(tail -15 "$WORK/upgrade.log")"
[ "$before" = "$(sums)" ] || fail "the upgrade changed configuration, token or keys"
ok "reinstalled over an edited config: config, token and keys unchanged"
dpkg --root="$R" --force-depends -r lthub >"$WORK/remove.log" 2>&1 || fail "remove: $(tail "$WORK/remove.log")"
[ ! -e "$R/usr/bin/lthubd" ] && [ -f "$R/etc/lthub/lthub.cfg" ] && [ -d "$R/var/lib/lthub/keys" ] || fail "remove: programs stay or config/data gone"
ok "removed: programs gone, configuration and data kept"

# The units.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$WORK/units"
  dpkg-deb -x "$DEB" "$WORK/x"
  # verify needs ExecStart's programs and EnvironmentFile on this machine:
  # point them at the extracted tree.
  for u in lthubd.service lthub-connector@.service; do
    sed -e "s|/usr/bin/|$WORK/x/usr/bin/|g" -e "s|/etc/lthub/%i.env|-$WORK/x/etc/lthub/%i.env|" \
      "$WORK/x/usr/lib/systemd/system/$u" >"$WORK/units/$u"
  done
  cp "$WORK/units/lthub-connector@.service" "$WORK/units/lthub-connector@axis.service"
  if ! SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$WORK/units/lthubd.service" \
    "$WORK/units/lthub-connector@axis.service" >"$WORK/verify.txt" 2>&1; then
    # Complaints about this host (no lthub user here, no systemd running)
    # are not about the units.
    if grep -v -e 'lthub.*user' -e 'Failed to ' -e 'System has not been booted' "$WORK/verify.txt" | grep -q 'lthub'; then
      fail "systemd-analyze verify: $(cat "$WORK/verify.txt")"
    fi
  fi
  grep -q 'lthub' "$WORK/verify.txt" && sed 's/^/  (host) /' "$WORK/verify.txt" | head -5
  ok "systemd-analyze verify lthubd.service lthub-connector@axis.service"
fi
echo "PASS: package $(basename "$DEB") builds, installs into a throwaway root, checks its config, upgrades without overwriting"
