#!/usr/bin/env bash
# Installs the Debian 12 packages lthub builds and tests with, only those not
# yet installed. Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libzmq3-dev libczmq-dev libmsgpack-dev libcurl4-openssl-dev
  libsqlite3-dev sqlite3 libxml2-dev libxml2-utils libssl-dev openssl
  libmicrohttpd-dev libjansson-dev libzip-dev zlib1g-dev libxmlsec1-dev xmlsec1
  clang libclang-rt-14-dev python3 procps curl valgrind
  # Operations tests: promtool checks /metrics, headless Chromium renders the
  # dashboard, dpkg and systemd's tools check the Debian package and units.
  prometheus chromium dpkg-dev fakeroot systemd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "lthub: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
