#!/usr/bin/env bash
# Installs the Debian packages that local desktops need (Xvnc, a window manager, a
# terminal, the sandbox and the tools exec uses to enter it), only those missing.
# A no-op when everything is present. Without root and with something missing it
# prints one line saying what to install and exits 1, so a caller can stop early.
set -euo pipefail

# binary -> package that provides it. Checked by binary, not by dpkg status, because a
# machine may have the programs from elsewhere and that is good enough.
declare -A NEEDED=(
  [Xvnc]=tigervnc-standalone-server
  [openbox]=openbox
  [xterm]=xterm
  [bwrap]=bubblewrap
  [nsenter]=util-linux
  [setpriv]=util-linux
  [perl]=perl-base
)
# Files rather than binaries: without a font Xvnc and xterm start but draw nothing readable.
declare -A NEEDED_FILES=(
  [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]=fonts-dejavu-core
)

missing=()
for bin in "${!NEEDED[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${NEEDED[$bin]}")
done
for file in "${!NEEDED_FILES[@]}"; do
  [ -e "$file" ] || missing+=("${NEEDED_FILES[$file]}")
done
# Deduplicate (util-linux provides two of the binaries).
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "desktop-packages: missing ${missing[*]}: run as root: apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "desktop-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine; one update is enough.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/desktop-packages.log 2>&1; then
  apt-get update >>/tmp/desktop-packages.log 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/desktop-packages.log 2>&1 || {
    echo "desktop-packages: apt-get install failed; see /tmp/desktop-packages.log" >&2
    exit 1
  }
fi
echo "desktop-packages: installed ${missing[*]}"
