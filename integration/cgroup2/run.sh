#!/bin/bash
# hull's pure cgroup v2 tests. The host has hybrid cgroups, so the checks run
# in a throw-away qemu VM: Debian's kernel booted with cgroup_no_v1=all, cgroup2
# mounted at /sys/fs/cgroup with every controller enabled, and tests.sh run as
# root against the hull binary.
#
# Usage: integration/cgroup2/run.sh [CHECK...]    (default: every check of tests.sh)
# Environment: HULL (default target/release/hull), HULL_VM_MEM (1024M),
#   HULL_VM_CPUS (2), HULL_VM_TIMEOUT (seconds, 300), HULL_VM_VERBOSE=1 (guest console).
#
# The first run downloads the kernel package and builds a base initramfs under
# target/cgroup2-vm/ (~6 s); later runs only pack the payload (~0.1 s). The VM
# boots in ~3 s (TCG: KVM is not available on these hosts); the whole suite
# takes 20-30 s. Exit status: tests.sh's; 124 time limit; 125 the VM failed.
set -euo pipefail

hull=$(realpath "${HULL:-$(dirname "$0")/../../target/release/hull}")
cd "$(dirname "$0")/../.."
here=integration/cgroup2
cache=target/cgroup2-vm
mem=${HULL_VM_MEM:-1024M}
cpus=${HULL_VM_CPUS:-2}
limit=${HULL_VM_TIMEOUT:-300}

say() { echo "cgroup2-vm: $*" >&2; }
die() { say "error: $*"; exit 125; }
ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

[ -x "$hull" ] || die "no hull binary at $hull (run: cargo build --release -p hull)"
t0=$(ms)
scripts/deps.sh qemu-system-x86 cpio xz-utils # also a static /bin/busybox
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# --- kernel: the package linux-image-amd64 points at, unpacked once ----------
# The bzImage is decompressed to an ELF vmlinux: qemu starts that through its
# PVH entry, skipping the in-guest decompression (slow under TCG).
kpkg=$(cat "$cache/kernel-package" 2>/dev/null || true)
if [ -z "$kpkg" ] || [ ! -s "$cache/$kpkg/vmlinux" ]; then
	resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2 }' | head -1; }
	kpkg=$(resolve || true)
	if [ -z "$kpkg" ]; then
		apt-get update -q >/dev/null
		kpkg=$(resolve || true)
	fi
	[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 means"
	say "fetching $kpkg (once)"
	k=$cache/$kpkg
	rm -rf "$k" "$cache/dl"
	mkdir -p "$cache/dl" "$k/modules"
	chown _apt "$cache/dl" 2>/dev/null || true # apt-get download drops to _apt
	(cd "$cache/dl" && apt-get download -q "$kpkg" >/dev/null)
	dpkg-deb -x "$cache"/dl/*.deb "$cache/dl/x"
	vmlinuz=$(echo "$cache"/dl/x/boot/vmlinuz-*)
	at=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1 || true)
	[ -n "$at" ] || die "$vmlinuz: no xz payload"
	tail -c +$((at + 1)) "$vmlinuz" | xz -dc --single-stream >"$k/vmlinux.tmp" 2>/dev/null || true
	[ -s "$k/vmlinux.tmp" ] || die "$vmlinuz: cannot decompress"
	# The modules the guest needs, dependencies first (from each module's
	# modinfo "depends=" field), into $k/modules with a load order.
	kmods=$(echo "$cache"/dl/x/lib/modules/*)
	order=""
	want() {
		local m f dep
		for m in "$@"; do
			case " $order " in *" $m "*) continue ;; esac
			f=$(find "$kmods/kernel" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
			if [ -z "$f" ]; then
				grep -q "/$m.ko$" "$kmods/modules.builtin" || die "kernel module $m not found"
				continue
			fi
			case $f in
			*.xz) xz -dc "$f" >"$k/modules/$m.ko" ;;
			*) cp "$f" "$k/modules/$m.ko" ;;
			esac
			for dep in $(tr '\0' '\n' <"$k/modules/$m.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
				want "$dep"
			done
			order="$order $m"
		done
	}
	want virtio_pci virtio_console overlay
	echo "$order" >"$k/modules/order"
	mv "$k/vmlinux.tmp" "$k/vmlinux"
	rm -rf "$cache/dl"
	echo "$kpkg" >"$cache/kernel-package"
fi
kdir=$cache/$kpkg

# --- base initramfs: static busybox, the modules, the guest init -------------
key=$({ echo "$kpkg"; cat "$here/vm-init.sh"; md5sum </bin/busybox; } | md5sum | cut -c1-10)
base=$cache/base-$key.cpio
if [ ! -s "$base" ]; then
	say "building $base"
	rm -f "$cache"/base-*.cpio
	b=$cache/base.tmp
	rm -rf "$b"
	mkdir -p "$b"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,tmp,run,newroot,lib/hull-vm}
	cp /bin/busybox "$b/bin/busybox"
	for a in $(/bin/busybox --list-full); do [ -e "$b/$a" ] || ln -s /bin/busybox "$b/$a"; done
	cp "$here/vm-init.sh" "$b/init"
	chmod 755 "$b/init"
	cp "$kdir"/modules/* "$b/lib/hull-vm/"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$b/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$b/etc/group"
	(cd "$b" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$base.tmp"
	mv "$base.tmp" "$base"
	rm -rf "$b"
fi
flock -u 9

# --- this run: the payload, appended to the base as a second cpio archive -----
run=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
p=$run/root/payload
mkdir -p "$p"
cp "$hull" "$p/hull"
cp "$here/tests.sh" scripts/busybox-rootfs.sh "$p/"
# A test tool: lists and attaches cgroup device programs (static, like hull).
tool=target/x86_64-unknown-linux-gnu/release/examples/device_programs
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release -p hull-cgroups --example device_programs \
	--target x86_64-unknown-linux-gnu
cp "$tool" "$p/device_programs"
printf '%s\n' "$@" >"$p/args"
# hull is linked against glibc; the guest has none: bring what ldd lists.
{ ldd "$hull" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do cp --parents -L "$lib" "$run/root/"; done
(cd "$run/root" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$run/payload.cpio"
cat "$base" "$run/payload.cpio" >"$run/initrd"
t1=$(ms)

# --- boot. Guest output comes over a virtio-serial port (the emulated UART is
# slow) into a file that we follow; the exit status over a second port; the
# kernel console goes to a log shown on failure. q35 is the machine that never hung.
say "booting $kpkg (cgroup_no_v1=all, $cpus vCPUs, $mem, TCG)"
: >"$run/out"
timeout -k 5 "$limit" qemu-system-x86_64 -accel tcg -cpu max -M q35 -smp "$cpus" -m "$mem" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$kdir/vmlinux" -initrd "$run/initrd" \
	-append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet ${HULL_VM_APPEND:-}" \
	-serial file:"$run/console.log" \
	-device virtio-serial-pci \
	-chardev file,id=out,path="$run/out" -device virtserialport,chardev=out,name=out \
	-chardev file,id=rc,path="$run/rc" -device virtserialport,chardev=rc,name=rc \
	</dev/null >"$run/qemu.log" 2>&1 &
qemu=$!
tail -n +1 -s 0.2 -f --pid="$qemu" "$run/out"
qrc=0
wait "$qemu" || qrc=$?
t2=$(ms)
rc=$(tr -dc 0-9 <"$run/rc" 2>/dev/null || true)
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	say "the VM ran past ${limit}s"
	rc=124
elif [ -z "$rc" ]; then
	say "the VM stopped without reporting an exit status (qemu: $qrc)"
	rc=125
fi
if [ "$rc" -ge 124 ] || [ "${HULL_VM_VERBOSE:-0}" = 1 ]; then
	say "---- qemu:"
	cat "$run/qemu.log" >&2
	say "---- guest console:"
	tr -d '\r' <"$run/console.log" >&2
fi
say "exit status $rc; prepare $(secs $((t1 - t0))), VM (boot + tests) $(secs $((t2 - t1)))"
exit "$rc"
