#!/bin/sh
# Install, from Debian 12's packages, what ringjail needs to build and test
# and this machine lacks. Idempotent: installs nothing when all is there.
set -eu
pkgs="gcc libc6-dev meson ninja-build pkg-config liburing-dev libseccomp-dev
libcap-ng-dev libjansson-dev libcriterion-dev python3 procps util-linux coreutils
passt iproute2"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "ringjail: these packages are missing:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "ringjail: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
