#!/bin/bash
# The guest side of run.sh, on the payload disk (/payload): started by the
# image's hull-vm-suite.service once the boot transaction is queued. Waits
# for systemd to finish booting, runs tests.sh with the runtime and sections
# run.sh wrote into /payload/args, sends everything over the virtio-serial
# port "out" and the exit status over "rc", then powers the VM off.

# The virtio-serial ports, by the names run.sh gave them.
port() {
	local p
	for _ in $(seq 100); do
		for p in /sys/class/virtio-ports/*; do
			[ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && echo "/dev/${p##*/}" && return
		done
		sleep 0.1
	done
	echo /dev/console
}
out=$(port out)
rc=$(port rc)
exec >"$out" 2>&1 </dev/null

up() { cut -d' ' -f1 /proc/uptime; }
echo "guest: hull-vm-suite.service started at uptime $(up) s"
state=$(timeout 300 systemctl is-system-running --wait)
echo "guest: boot finished ($state) at uptime $(up) s; $(systemd-analyze 2>/dev/null | head -1)"
if [ "$state" != running ]; then
	systemctl --failed --no-pager --plain --no-legend | sed 's/^/guest: failed unit: /'
fi

cd /payload || exit 1
# args: line 1 the runtime, then the sections/checks to run (one a line).
mapfile -t args </payload/args
if [ -e script.sh ]; then
	RUNTIME=${args[0]} bash ./script.sh "${args[@]:1}"
else
	RUNTIME=${args[0]} bash ./tests.sh "${args[@]:1}"
fi
status=$?
echo "guest: suite done at uptime $(up) s, exit status $status"
echo "$status" >"$rc"
sync
# The disk is a throw-away overlay: no need to stop the units one by one.
systemctl poweroff --force --force
