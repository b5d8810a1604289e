#!/bin/bash
# Builds (once) the disk image of the production-like VM: Debian 12 with
# systemd as PID 1, pure cgroup v2 and AppArmor, its root filesystem made by
# mmdebstrap from Debian's packages only (the list is ./packages), plus the
# kernel and initrd to boot it with.
#
# Usage: integration/systemd-vm/build.sh     prints the image directory
# Environment: HULL_SYSVM_CACHE (default /var/tmp/hull-systemd-vm), MIRROR
#   (default: the host's Debian mirror), SECURITY (its -security twin),
#   REBUILD=1 (build even when the cached image is current).
#
# The image is keyed by a hash of ./packages, this script and guest/ (what is
# baked into the image): CACHE/<key>/{disk.img,vmlinux,initrd.img,info}. A
# run with an unchanged key costs nothing; a changed key builds anew (about
# 2-3 minutes: mmdebstrap, then mkfs.ext4 -d) and removes the older images.
# Needs root; only Debian's mirror is reached.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HULL_SYSVM_CACHE:-/var/tmp/hull-systemd-vm}
suite=bookworm

say() { echo "systemd-vm: $*" >&2; }
die() { say "error: $*"; exit 1; }
ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap, chroot)"
pkgs=$(sed 's/#.*//' "$here/packages" | tr -s ' \t\n' '\n' | grep . | paste -sd, -)
key=$({
	echo "$pkgs"
	cat "$here/build.sh"
	(cd "$here/guest" && find . -type f | LC_ALL=C sort | xargs cat)
} | sha256sum | cut -c1-12)
img=$cache/$key
if [ -s "$img/disk.img" ] && [ "${REBUILD:-0}" != 1 ]; then
	echo "$img"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Another run may have built it while we waited for the lock.
if [ -s "$img/disk.img" ] && [ "${REBUILD:-0}" != 1 ]; then
	echo "$img"
	exit 0
fi

need=""
for p in mmdebstrap qemu-system-x86 qemu-utils e2fsprogs xz-utils; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	say "installing$need"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # a list of names
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $need >/dev/null 2>&1 || {
		apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
		# shellcheck disable=SC2086
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $need >/dev/null
	}
fi

if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' | grep -oE 'https?://[^[:space:]]+/debian/?([[:space:]]|$)' | head -1 | tr -d '[:space:]' || true)
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
MIRROR=${MIRROR%/}
SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}

tmp=$cache/build.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
t0=$(ms)

# --- 1. the root filesystem ----------------------------------------------------
# Documentation and translations are dropped (a third of the size, nothing the
# suite reads); no service starts inside the chroot (mmdebstrap's policy-rc.d).
say "mmdebstrap $suite from $MIRROR: $pkgs"
# The initramfs configuration goes in before the kernel package makes the
# initrd: only the modules that find the root disk (virtio, ext4), as the
# full initrd (37 MiB) takes seconds to unpack under TCG at every boot.
mmdebstrap --variant=minbase --include="$pkgs" \
	--setup-hook="install -D -m 644 '$here/guest/initramfs.conf' \"\$1/etc/initramfs-tools/conf.d/hull-vm\"" \
	--setup-hook="install -D -m 755 '$here/guest/initramfs-hook' \"\$1/etc/initramfs-tools/hooks/hull-vm\"" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	"$suite" "$root" \
	"deb $MIRROR $suite main" "deb $MIRROR $suite-updates main" \
	"deb $SECURITY $suite-security main" >"$tmp/mmdebstrap.log" 2>&1 ||
	{
		tail -20 "$tmp/mmdebstrap.log" >&2
		die "mmdebstrap failed"
	}
t1=$(ms)

# --- 2. make it boot into the suite ----------------------------------------------
echo hull-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost hull-vm\n::1 localhost\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
# The guest side that does not change between runs: a unit that mounts the
# payload disk and hands over to the payload's guest.sh.
install -D -m 755 "$here/guest/hull-vm-run" "$root/usr/local/lib/hull-vm/hull-vm-run"
install -D -m 644 "$here/guest/hull-vm-suite.service" "$root/etc/systemd/system/hull-vm-suite.service"
install -D -m 644 "$here/guest/journald.conf" "$root/etc/systemd/journald.conf.d/hull-vm.conf"
chroot "$root" systemctl enable hull-vm-suite.service 2>/dev/null
# The engines start when the suite's engines section wants them, not at boot
# (under TCG dockerd and containerd add 12 s to every boot), nor podman's
# restart and auto-update services (8 s); the daily timers and the serial
# login have no use here.
for u in docker.service docker.socket containerd.service \
	podman-restart.service podman-auto-update.service podman-auto-update.timer \
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
	chroot "$root" systemctl disable "$u" 2>/dev/null || true
done
chroot "$root" systemctl mask serial-getty@ttyS0.service getty@tty1.service 2>/dev/null
chroot "$root" dpkg-query -W >"$tmp/packages.txt"

# --- 3. kernel and initrd ------------------------------------------------------
# The bzImage is decompressed to an ELF vmlinux: qemu starts that through its
# PVH entry, skipping the in-guest decompression (slow under TCG).
mkdir -p "$tmp/out"
vmlinuz=$(find "$root/boot" -name 'vmlinuz-*' | sort | tail -1)
at=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1 || true)
[ -n "$at" ] || die "$vmlinuz: no xz payload"
tail -c +$((at + 1)) "$vmlinuz" | xz -dc --single-stream >"$tmp/out/vmlinux" 2>/dev/null || true
[ -s "$tmp/out/vmlinux" ] || die "$vmlinuz: cannot decompress"
cp "$root/boot/initrd.img-${vmlinuz##*/vmlinuz-}" "$tmp/out/initrd.img"

# --- 4. the disk image ---------------------------------------------------------
# Raw and sparse, with 3 GiB free for images and containers; each run boots a
# copy-on-write qcow2 overlay of it, so it stays as built.
used=$(du -sm "$root" | cut -f1)
mkfs.ext4 -q -F -L root -d "$root" "$tmp/out/disk.img" "$((used + 3072))M" >&2
t2=$(ms)
{
	echo "key $key"
	echo "built $(date -u +%FT%TZ) from $MIRROR"
	echo "packages ($(wc -l <"$tmp/packages.txt")): $pkgs"
	echo "kernel $(basename "$vmlinuz")"
	echo "rootfs ${used} MiB; mmdebstrap $(secs $((t1 - t0))), image $(secs $((t2 - t1))), total $(secs $((t2 - t0)))"
} >"$tmp/out/info"
cp "$tmp/packages.txt" "$tmp/mmdebstrap.log" "$tmp/out/"
rm -rf "$img"
mv "$tmp/out" "$img"
for old in "$cache"/*/; do
	old=${old%/}
	[ "$old" = "$img" ] || [ ! -e "$old/info" ] || rm -rf "$old"
done
say "built $img: $(tail -1 "$img/info")"
echo "$img"
