#!/bin/sh
# PID 1 of the cgroup v2 test VM (see run.sh). Busybox only.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
if [ ! -e /.tmpfs-root ]; then
	# The initramfs root is "rootfs", which pivot_root(2) refuses: copy
	# everything to a tmpfs and switch_root there (this script starts again).
	mount -t tmpfs -o mode=0755 root /newroot
	for f in /*; do
		case $f in /proc | /sys | /dev | /newroot) ;; *) cp -a "$f" /newroot/ ;; esac
	done
	mkdir -p /newroot/proc /newroot/sys /newroot/dev
	touch /newroot/.tmpfs-root
	exec switch_root /newroot /init
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
ln -sf /proc/self/fd /dev/fd
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# shellcheck disable=SC2013 # words, not lines
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "vm: cannot enable the $c controller" >&2
done
hostname cgroup2-vm
ip link set lo up
# shellcheck disable=SC2013
for m in $(cat /lib/hull-vm/order); do insmod "/lib/hull-vm/$m.ko" || echo "vm: insmod $m failed"; done

# The virtio-serial ports, by the names run.sh gave them.
port() {
	for _ in $(seq 100); do
		for p in /sys/class/virtio-ports/*; do
			[ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && echo "/dev/${p##*/}" && return
		done
		sleep 0.05
	done
	echo /dev/console
}
out=$(port out)
rc=$(port rc)

cd /payload || poweroff -f
# shellcheck disable=SC2046 # check names, one a line
sh ./tests.sh $(cat args) </dev/null >"$out" 2>&1
echo $? >"$rc"
sync
poweroff -f
