#!/bin/sh
# Installs the Debian packages hull's demo and tests need, when missing.
# Usage: scripts/deps.sh [extra-package ...]
set -eu
need=""
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need="$need busybox-static"
command -v file >/dev/null || need="$need file"
for p in "$@"; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: please install:$need" >&2
	exit 1
fi
echo "deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $need >/dev/null 2>&1 || {
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $need >/dev/null
}
