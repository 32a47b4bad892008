#!/usr/bin/env bash
# The first step of `npm test`: makes sure the Debian packages in scripts/system-packages.txt are
# installed. As root (CI, the build machines) it installs the missing ones; otherwise it prints
# the one `sudo apt-get install` line to run and stops, like Playwright's `install --with-deps`.
# Off Debian (no dpkg) it names the list and carries on: the tests say what they miss.
#   scripts/system-packages.sh [list-file]
set -euo pipefail
LIST=${1:-$(dirname "$0")/system-packages.txt}
names=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$LIST") # fails loudly if unreadable
[ -n "$names" ] || exit 0
mapfile -t wanted <<<"$names"

if ! command -v dpkg-query >/dev/null; then
  echo "system packages: no dpkg here; the tests need the equivalents of: ${wanted[*]} (from $LIST)" >&2
  exit 0
fi
missing=()
for pkg in "${wanted[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need these Debian packages (from $LIST). Install them, then run npm test again:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]} (from $LIST)" >&2
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends "${missing[@]}"; }
# An image without package lists (or with stale ones) cannot install: refresh them once.
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || ! install; then
  apt-get update -q
  install
fi
