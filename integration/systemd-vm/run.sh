#!/bin/bash
# The production-like host: Debian 12 under qemu (TCG) with systemd as PID 1,
# pure cgroup v2 and AppArmor, running tests.sh against a runtime: hull, or
# Debian's runc inside the guest (the proof that the checks are real).
#
# Usage: integration/systemd-vm/run.sh [-v] [-r RUNTIME] [-x SCRIPT] [SECTION...]
#   -r RUNTIME  hull (default: the HULL binary, shipped in the payload), runc
#               (the guest's /usr/sbin/runc), or a path on the host
#   -v          the guest's console (kernel + systemd) on stderr as it boots
#   -x SCRIPT   run this bash script in the guest instead of the suite (with
#               RUNTIME set; the payload is at /payload): for experiments
#   SECTION     systemd-driver cgroupfs-on-systemd engines apparmor criu
#               (default: all)
# Environment: HULL (default target/release/hull), HULL_VM_MEM (2048M),
#   HULL_VM_CPUS (2), HULL_VM_TIMEOUT (seconds, 900), HULL_SYSVM_CACHE (the
#   image cache, see build.sh).
#
# The image is built once by build.sh and cached; each run boots a qcow2
# overlay of it (the cached image stays clean) with a second disk, the
# payload (hull, the suite, the configs of docs/systemd-hosts.md), which the
# image's hull-vm-suite.service mounts at /payload and runs guest.sh from.
# The suite's output streams over a virtio-serial port; the VM powers off at
# the end. Exit status: the suite's; 124 time limit; 125 the VM failed.
#
# Times on the 2-core build machine (TCG, so they follow its load): the
# image 95-220 s, once; boot to the suite 20-60 s; the whole suite with runc
# 4-7 minutes (systemd-driver 30-80 s, cgroupfs-on-systemd 30-40 s, engines
# 2-3.5 min, apparmor 15-25 s), plus criu 3-4 min. A quick turn on one section:
#   just build && integration/systemd-vm/run.sh systemd-driver
set -euo pipefail

hull=$(realpath -m "${HULL:-$(dirname "$0")/../../target/release/hull}")
cd "$(dirname "$0")/../.."
here=integration/systemd-vm
verbose=0
runtime=hull
script=""
while getopts vr:x: o; do
	case $o in
	v) verbose=1 ;;
	r) runtime=$OPTARG ;;
	x) script=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
mem=${HULL_VM_MEM:-2048M}
cpus=${HULL_VM_CPUS:-2}
limit=${HULL_VM_TIMEOUT:-900}

say() { echo "systemd-vm: $*" >&2; }
die() { say "error: $*"; exit 125; }
ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

t0=$(ms)
img=$("$here/build.sh") || die "the image could not be built"
t1=$(ms)

run=$(mktemp -d /var/tmp/hull-systemd-vm-run.XXXXXX)
qemu=""
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ -z "$qemu" ] || kill "$qemu" 2>/dev/null || true
	[ -z "${console_tail:-}" ] || kill "$console_tail" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the payload disk --------------------------------------------------------
p=$run/payload
mkdir -p "$p/conf"
cp "$here/guest.sh" "$here/tests.sh" integration/engines/oci-layout.sh "$p/"
# The containers' busybox root, made here: in the guest its ~400 applet
# links would cost a process each, 20 s under TCG.
scripts/deps.sh
scripts/busybox-rootfs.sh "$p/rootfs"
if [ -x "$hull" ]; then
	cp "$hull" "$p/hull"
elif [ "$runtime" = hull ]; then
	die "no hull binary at $hull (run: just build)"
fi
case $runtime in
hull) guest_runtime=/payload/hull ;;
runc) guest_runtime=/usr/sbin/runc ;;
*)
	[ -x "$runtime" ] || die "runtime $runtime is not an executable file"
	cp "$runtime" "$p/runtime"
	guest_runtime=/payload/runtime
	;;
esac
# cri-ctl, the engines section's CRI client: the small crictl of
# integration/cri (a cargo project of its own, sharing `just test-cri`'s
# target dir); host and guest are both Debian 12, so its glibc fits.
case " ${*:-engines} " in *" engines "*)
	export PATH=$PATH:$HOME/.cargo/bin
	if (cd integration/cri && CARGO_TARGET_DIR=$OLDPWD/target/cri cargo build --locked --quiet --bin cri-ctl) >&2; then
		cp target/cri/debug/cri-ctl "$p/"
	else
		say "warning: cri-ctl did not build: the cri checks will fail"
	fi
	;;
esac
# The configuration snippets of docs/systemd-hosts.md, each marked there
# with <!-- vm-suite: NAME -->: the suite installs exactly these.
awk -v dir="$p/conf" '
	/<!-- vm-suite: [^ ]+ -->/ { name = $3; next }
	name != "" && /^```/ { if (open) { close(dir "/" name); name = ""; open = 0 } else open = 1; next }
	open { print > (dir "/" name) }
' docs/systemd-hosts.md
if [ -n "$script" ]; then
	cp "$script" "$p/script.sh"
fi
printf '%s\n' "$guest_runtime" "$@" >"$p/args"
size=$(($(du -sm "$p" | cut -f1) + 32))
mkfs.ext4 -q -F -L payload -d "$p" "$run/payload.img" "${size}M" >/dev/null
# The cached image stays as built: the guest writes to a throw-away overlay.
qemu-img create -q -f qcow2 -F raw -b "$img/disk.img" "$run/overlay.qcow2"
t2=$(ms)

# --- boot --------------------------------------------------------------------
say "booting $(sed -n 's/^kernel //p' "$img/info") with $(basename "$guest_runtime") as the runtime ($cpus vCPUs, $mem, TCG)"
append="root=/dev/vda rw console=ttyS0 panic=-1"
[ "$verbose" = 1 ] || append="$append quiet loglevel=3 systemd.show_status=false"
: >"$run/out"
: >"$run/console.log"
timeout -k 5 "$limit" qemu-system-x86_64 -accel tcg -cpu max -M q35 -smp "$cpus" -m "$mem" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$img/vmlinux" -initrd "$img/initrd.img" -append "$append" \
	-drive file="$run/overlay.qcow2",format=qcow2,if=virtio,cache=unsafe \
	-drive file="$run/payload.img",format=raw,if=virtio,readonly=on \
	-serial file:"$run/console.log" \
	-device virtio-serial-pci \
	-chardev file,id=out,path="$run/out" -device virtserialport,chardev=out,name=out \
	-chardev file,id=rc,path="$run/rc" -device virtserialport,chardev=rc,name=rc \
	</dev/null >"$run/qemu.log" 2>&1 &
qemu=$!
if [ "$verbose" = 1 ]; then
	tail -n +1 -s 0.2 -f --pid="$qemu" "$run/console.log" | sed -u 's/\r$//; s/^/console: /' >&2 &
	console_tail=$!
fi
# The guest's lines as they come.
tail -n +1 -s 0.2 -f --pid="$qemu" "$run/out"
qrc=0
wait "$qemu" || qrc=$?
qemu=""
t3=$(ms)
rc=$(tr -dc 0-9 <"$run/rc" 2>/dev/null || true)
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	say "the VM ran past ${limit}s"
	rc=124
elif [ -z "$rc" ]; then
	say "the VM stopped without reporting an exit status (qemu: $qrc)"
	rc=125
fi
if [ "$rc" -ge 124 ] && [ "$verbose" = 0 ]; then
	say "---- qemu:"
	cat "$run/qemu.log" >&2
	say "---- guest console (last 60 lines):"
	tr -d '\r' <"$run/console.log" | tail -60 >&2
fi
# The boot's end by the guest's clock (its uptime when systemd said the
# boot was done: kernel start to suite start).
booted=$(sed -n 's/^guest: boot finished.* at uptime \([0-9]*\)\.\([0-9]\).*/\1\200/p' "$run/out" | head -1)
booted=${booted:-0}
say "exit status $rc; image $(secs $((t1 - t0))), payload $(secs $((t2 - t1))), boot to suite $(secs "$booted"), suite $(secs $((t3 - t2 - booted))), total $(secs $((t3 - t0)))"
exit "$rc"
