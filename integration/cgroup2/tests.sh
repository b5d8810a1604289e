#!/bin/sh
# hull on a pure cgroup v2 machine: lifecycle, memory, pids, cpu, freezer,
# device access (eBPF) and cgroupsPath. Runs as root inside the VM of run.sh
# (busybox only: no python, no jq). Prints PASS/FAIL per check; exits 1 on any FAIL.
#
# Usage: tests.sh [CHECK...]   CHECK: lifecycle memory pids cpu freeze devices cgroupspath rootless userns runc
set -u
cd "$(dirname "$0")" || exit 1
HULL=${HULL:-$PWD/hull}
BBROOT=$PWD/busybox-rootfs.sh
W=/tmp/hull-cgroup2
CG=/sys/fs/cgroup
passed=0
failed=0

pass() {
	echo "PASS $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}
# check NAME COMMAND...: PASS or FAIL by the command's status.
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
# until_true SECONDS COMMAND...: polls every 0.1 s.
until_true() {
	end=$(($(uptime_cs) + $1 * 100))
	shift
	while ! "$@"; do
		[ "$(uptime_cs)" -lt $end ] || return 1
		sleep 0.1
	done
}
hull() { "$HULL" "$@"; }
status_of() { hull state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
is_running() { [ "$(status_of "$1")" = running ]; }
gone() { [ ! -e "$1" ]; }
# has PATTERN: the last container's output ($out) has a line matching PATTERN.
has() { echo "$out" | grep -q -- "$1"; }

# mkbundle NAME [RESOURCES] [LINUX] [DEVICE_RULES] <SCRIPT: a bundle from `hull
# spec` whose process runs SCRIPT (sh /t.sh) without a terminal, on a writable
# busybox root. RESOURCES and LINUX are JSON members added to linux.resources
# and linux; DEVICE_RULES objects go after the spec's deny-all device rule.
mkbundle() {
	b=$W/$1
	rm -rf "$b"
	mkdir -p "$b"
	cp -a "$W/rootfs" "$b/rootfs"
	cat >"$b/rootfs/t.sh"
	hull spec --bundle "$b" || return 1
	awk -v res="${2:-}" -v lin="${3:-}" -v devs="${4:-}" '
		/"terminal": true/ { sub(/true/, "false") }
		/"readonly": true/ { sub(/true/, "false") }
		/^[ \t]*"sh"$/ { sub(/"sh"/, "\"sh\", \"/t.sh\"") }
		{ print }
		deny_all && /}/ && devs != "" { print ", " devs }
		{ deny_all = /"access": "rwm"/ }
		/"resources": \{/ && res != "" { print res "," }
		/"linux": \{/ && lin != "" { print lin "," }
	' "$b/config.json" >"$b/config.tmp" && mv "$b/config.tmp" "$b/config.json"
}

# Every check makes its own containers (ids c2-<check>-<pid>) and removes them.

t_lifecycle() {
	id=c2-life-$$ dir=$CG/hull/c2-life-$$
	mkbundle life <<-'EOF'
		cat /proc/self/cgroup >/cgroup.txt
		exec sleep 600
	EOF
	hull run -d --bundle "$W/life" "$id" >"$W/life.log" 2>&1
	check "lifecycle: hull run -d starts a busybox container" until_true 10 is_running "$id" ||
		{ cat "$W/life.log"; return; }
	pid=$(hull state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	check "lifecycle: its cgroup is $dir, holding the init (pid $pid)" grep -qx "$pid" "$dir/cgroup.procs"
	until_true 5 test -s "$W/life/rootfs/cgroup.txt"
	check "lifecycle: /proc/self/cgroup inside is '0::/' (got '$(cat "$W/life/rootfs/cgroup.txt")')" \
		grep -qx '0::/' "$W/life/rootfs/cgroup.txt"
	hull kill "$id" KILL
	until_true 10 test "$(status_of "$id")" = stopped
	check "lifecycle: stopped after kill" test "$(status_of "$id")" = stopped
	hull delete "$id"
	check "lifecycle: after delete the cgroup is gone" gone "$dir"
	check "lifecycle: after delete the state is gone" test -z "$(status_of "$id")"

	id=c2-life2-$$
	mkbundle life2 <<-'EOF'
		cat /proc/self/cgroup
		exit 7
	EOF
	out=$(hull run --bundle "$W/life2" "$id" 2>&1)
	rc=$?
	check "lifecycle: hull run (foreground) reports the exit status 7 (got $rc)" test "$rc" = 7
	check "lifecycle: foreground container sees cgroup '0::/' (got '$out')" test "$out" = "0::/"
	check "lifecycle: its cgroup is removed when hull run returns" gone "$CG/hull/$id"
}

t_memory() {
	id=c2-mem-$$ dir=$CG/hull/c2-mem-$$
	# 32 MiB, no swap on top; awk (the container's init) doubles a string to 128 MiB.
	mkbundle mem '"memory": {"limit": 33554432, "swap": 33554432}' <<-'EOF'
		exec awk 'BEGIN { s = "x"; while (length(s) < 134217728) s = s s; print "allocated", length(s) }'
	EOF
	out=$(hull run --keep --bundle "$W/mem" "$id" 2>&1)
	rc=$?
	check "memory: the 128 MiB process is OOM-killed, hull run exits 137 (got $rc${out:+: $out})" test "$rc" = 137
	check "memory: memory.max is 33554432 (got $(cat "$dir/memory.max" 2>&1))" \
		test "$(cat "$dir/memory.max" 2>&1)" = 33554432
	check "memory: memory.swap.max is 0 (got $(cat "$dir/memory.swap.max" 2>&1))" \
		test "$(cat "$dir/memory.swap.max" 2>&1)" = 0
	n=$(sed -n 's/^oom_kill //p' "$dir/memory.events" 2>/dev/null)
	check "memory: memory.events oom_kill >= 1 (got '${n:-}')" test "${n:-0}" -ge 1
	hull delete "$id"
	check "memory: hull delete removes the kept cgroup" gone "$dir"
}

t_pids() {
	id=c2-pids-$$ dir=$CG/hull/c2-pids-$$
	# sh is one task; each `sleep &` another. A failed fork ends sh (busybox ash).
	mkbundle pids '"pids": {"limit": 10}' <<-'EOF'
		i=0
		while [ $i -lt 20 ]; do
			sleep 60 &
			i=$((i + 1))
			echo $i >/started
		done
		echo "all 20 started"
	EOF
	out=$(hull run --keep --bundle "$W/pids" "$id" 2>&1)
	n=$(cat "$W/pids/rootfs/started" 2>/dev/null || echo 0)
	check "pids: with pids.max=10 only $n of 20 sleeps started (sh + $n < 11)" test "$n" -ge 1 -a "$n" -le 9
	check "pids: the shell saw the fork fail ($(echo "$out" | tail -1))" \
		has "fork"
	check "pids: pids.max is 10 (got $(cat "$dir/pids.max" 2>&1))" test "$(cat "$dir/pids.max" 2>&1)" = 10
	m=$(sed -n 's/^max //p' "$dir/pids.events" 2>/dev/null)
	check "pids: pids.events max >= 1 (got '${m:-}')" test "${m:-0}" -ge 1
	hull delete "$id"
	check "pids: cgroup removed" gone "$dir"
}

t_cpu() {
	id=c2-cpu-$$ dir=$CG/hull/c2-cpu-$$
	mkbundle cpu '"cpu": {"quota": 20000, "period": 100000}' <<-'EOF'
		echo >/ready
		while :; do :; done
	EOF
	hull run -d --bundle "$W/cpu" "$id" >"$W/cpu.log" 2>&1
	until_true 10 test -e "$W/cpu/rootfs/ready" || {
		fail "cpu: the container did not start: $(cat "$W/cpu.log")"
		return
	}
	check "cpu: cpu.max is '20000 100000' (got '$(cat "$dir/cpu.max")')" test "$(cat "$dir/cpu.max")" = "20000 100000"
	# CPU time the cgroup used (cpu.stat usage_usec) over the guest's elapsed time.
	u0=$(sed -n 's/^usage_usec //p' "$dir/cpu.stat") t0=$(uptime_cs)
	sleep 2
	u1=$(sed -n 's/^usage_usec //p' "$dir/cpu.stat") t1=$(uptime_cs)
	pct=$(((u1 - u0) / (t1 - t0) / 100))
	check "cpu: a busy loop under quota 20000/100000 used ${pct}% of a CPU over $((t1 - t0))0 ms (want 15-25%)" \
		test "$pct" -ge 15 -a "$pct" -le 25
	thr=$(sed -n 's/^nr_throttled //p' "$dir/cpu.stat")
	check "cpu: cpu.stat nr_throttled > 0 (got $thr)" test "$thr" -gt 0
	hull delete -f "$id"
	check "cpu: delete --force removes the cgroup" gone "$dir"
}

t_freeze() {
	id=c2-frz-$$ dir=$CG/hull/c2-frz-$$ count=$W/frz/rootfs/count
	mkbundle frz <<-'EOF'
		i=0
		while :; do
			i=$((i + 1))
			echo $i >/count.new
			mv /count.new /count
			sleep 0.1
		done
	EOF
	hull run -d --bundle "$W/frz" "$id" >"$W/frz.log" 2>&1
	until_true 10 test -s "$count" || {
		fail "freeze: the counter did not start: $(cat "$W/frz.log")"
		return
	}
	# `hull pause`/`hull resume` once hull has them; the cgroup file until then.
	if hull pause --help >/dev/null 2>&1; then
		how="hull pause"
		freeze() { hull pause "$id"; }
		thaw() { hull resume "$id"; }
	else
		how="cgroup.freeze"
		freeze() { echo 1 >"$dir/cgroup.freeze"; }
		thaw() { echo 0 >"$dir/cgroup.freeze"; }
	fi
	freeze
	check "freeze: cgroup.events says frozen after $how" until_true 5 grep -qx "frozen 1" "$dir/cgroup.events"
	[ "$how" = cgroup.freeze ] || check "freeze: hull state says paused" test "$(status_of "$id")" = paused
	a=$(cat "$count")
	sleep 1
	b=$(cat "$count")
	check "freeze: the counter stops while frozen ($a -> $b)" test "$a" = "$b"
	thaw
	sleep 1
	c=$(cat "$count")
	check "freeze: it advances again after thawing ($b -> $c)" test "$c" -gt "$b"
	[ "$how" = cgroup.freeze ] || check "freeze: hull state says running again" test "$(status_of "$id")" = running
	freeze
	until_true 5 grep -qx "frozen 1" "$dir/cgroup.events"
	hull delete -f "$id"
	check "freeze: delete --force of a frozen container removes it" gone "$dir"
}

t_devices() {
	id=c2-dev-$$
	# The spec's deny-all rule plus hull's default allow list. /dev/denied (c 1:1,
	# mem) and /dev/denied-kmsg (c 1:11, whose driver lets anyone open it for
	# writing: a denial can only come from the BPF program) are created but not allowed.
	nodes='"devices": [
		{"path": "/dev/denied", "type": "c", "major": 1, "minor": 1, "fileMode": 438, "uid": 0, "gid": 0},
		{"path": "/dev/denied-kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 438, "uid": 0, "gid": 0}]'
	cat >"$W/dev.sh" <<-'EOF'
		echo x >/dev/null && echo "null: written"
		head -c 4 /dev/zero | wc -c | sed 's/^/zero: read /'
		ls -l /dev/denied /dev/denied-kmsg
		head -c 1 /dev/denied
		echo "hull cgroup2 test: written to /dev/denied-kmsg" >/dev/denied-kmsg && echo "kmsg: written"
		exit 0
	EOF
	mkbundle dev '' "$nodes" <"$W/dev.sh"
	out=$(hull run --bundle "$W/dev" "$id" 2>&1)
	echo "$out" | sed 's/^/    | /'
	check "devices: /dev/null is writable" has "null: written"
	check "devices: /dev/zero is readable" has "zero: read 4"
	check "devices: /dev/denied exists (c 1, 1)" has "^crw-rw-rw-.* 1, *1 .*/dev/denied$"
	check "devices: opening /dev/denied fails with Operation not permitted" \
		has "/dev/denied: Operation not permitted"
	check "devices: opening /dev/denied-kmsg fails with Operation not permitted" \
		has "/dev/denied-kmsg: Operation not permitted"

	# The same with a rule allowing writes to c 1:11 after the deny-all.
	mkbundle dev '' "$nodes" '{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}' <"$W/dev.sh"
	out=$(hull run --bundle "$W/dev" "$id-2" 2>&1)
	echo "$out" | grep kmsg | sed 's/^/    | /'
	check "devices: with an allow rule for c 1:11 w, /dev/denied-kmsg is writable" has "kmsg: written"
	check "devices: ... and /dev/denied still is not" has "/dev/denied: Operation not permitted"

	# No device rules in config.json at all (no linux.resources): runc's
	# default policy still holds. With CAP_MKNOD the container makes nodes for
	# a block device (ram0: absent here, so opening it would say ENXIO were
	# it allowed) and for /dev/kmsg; the program denies opening either.
	mkbundle dev0 <<-'EOF'
		mknod /dev/blk b 1 0 && mknod /dev/kmsg2 c 1 11 && echo "nodes: made"
		head -c 1 /dev/blk
		echo "hull cgroup2 test" >/dev/kmsg2 && echo "kmsg: written"
		exit 0
	EOF
	awk '/"resources": \{/ { skip = 1 } !skip { print } skip && /^\t\t\},?$/ { skip = 0 }' "$W/dev0/config.json" |
		sed 's/"CAP_KILL",/"CAP_KILL", "CAP_MKNOD",/' >"$W/dev0/config.tmp" && mv "$W/dev0/config.tmp" "$W/dev0/config.json"
	out=$(hull run --bundle "$W/dev0" "$id-0" 2>&1)
	echo "$out" | sed 's/^/    | /'
	check "devices: without any device rule, nodes can still be made (mknod)" has "nodes: made"
	check "devices: ... but a block device cannot be opened (Operation not permitted)" \
		has "/dev/blk: Operation not permitted"
	check "devices: ... nor /dev/kmsg written" has "/dev/kmsg2: Operation not permitted"

	# update replaces hull's own program and nothing else: an engine's (here
	# one called "foreign") stays attached.
	mkbundle dev1 <<-'EOF'
		exec sleep 600
	EOF
	hull run -d --bundle "$W/dev1" "$id-1" >/dev/null 2>&1
	dir=$CG/hull/$id-1
	./device_programs attach-foreign "$dir" foreign
	echo '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}' >"$W/dev1.json"
	hull update --resources "$W/dev1.json" "$id-1"
	progs=$(./device_programs list "$dir" | sort | tr '\n' ' ')
	echo "    | attached after update: $progs"
	check "devices: update replaces hull's program and keeps another one attached" test "$progs" = "foreign hull_device "
	hull delete -f "$id-1"
}

t_cgroupspath() {
	for how in absolute relative; do
		id=c2-path-$how-$$
		if [ $how = absolute ]; then
			path=/custom/abc dir=$CG/custom/abc from=$CG
		else
			# relative: under hull's own cgroup, so start hull from /outer.
			path=rel/xyz dir=$CG/outer/rel/xyz from=$CG/outer
			mkdir -p "$from"
		fi
		mkbundle path "" "\"cgroupsPath\": \"$path\"" <<-'EOF'
			cat /proc/self/cgroup >/cgroup.txt
			exec sleep 600
		EOF
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$from" \
			"$HULL" run -d --bundle "$W/path" "$id" >"$W/path.log" 2>&1
		until_true 10 is_running "$id" || {
			fail "cgroupsPath $how: container did not start: $(cat "$W/path.log")"
			for d in "$from" "${dir%/*}" "$dir"; do
				echo "    $d: type $(cat "$d/cgroup.type" 2>&1), subtree_control '$(cat "$d/cgroup.subtree_control" 2>&1)', procs '$(cat "$d/cgroup.procs" 2>&1)'"
			done
			continue
		}
		pid=$(hull state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
		check "cgroupsPath $how \"$path\": the cgroup is $dir" grep -qx "$pid" "$dir/cgroup.procs"
		until_true 5 test -s "$W/path/rootfs/cgroup.txt"
		check "cgroupsPath $how: inside it is '0::/' (got '$(cat "$W/path/rootfs/cgroup.txt")')" \
			grep -qx '0::/' "$W/path/rootfs/cgroup.txt"
		hull delete -f "$id"
		check "cgroupsPath $how: delete removes $dir" gone "$dir"
	done
	rmdir "$CG/custom" "$CG/outer/rel" "$CG/outer" 2>/dev/null
}

# Rootless with a delegated cgroup: an unprivileged user owns /deleg (and
# sits in /deleg/shell); hull, run as that user, puts the container's cgroup
# in /deleg/ctr and its limits work.
t_userns() {
	# A negative oomScoreAdj takes CAP_SYS_RESOURCE in the host's user
	# namespace (root here has it; the development host does not): the
	# parent writes it before the init is in its own user namespace, where
	# it could not.
	id=c2-userns-$$
	mkbundle userns <<-'EOF'
		cat /proc/self/oom_score_adj
		cat /proc/self/uid_map
	EOF
	sed -e 's/"namespaces": \[/"namespaces": [ {"type": "user"},/' \
		-e 's/"linux": {/"linux": { "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}], "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],/' \
		-e 's/"process": {/"process": { "oomScoreAdj": -500,/' "$W/userns/config.json" >"$W/userns/config.tmp" &&
		mv "$W/userns/config.tmp" "$W/userns/config.json"
	chown -R 100000:100000 "$W/userns/rootfs"
	out=$(hull run --bundle "$W/userns" "$id" 2>&1)
	echo "$out" | sed 's/^/    | /'
	check "userns: a negative oomScoreAdj (-500) is set in a user namespace" has "^-500$"
	check "userns: ... which maps root to 100000" has "0 *100000 *65536"
}

t_rootless() {
	id=c2-rootless-$$
	grep -q '^rl:' /etc/passwd || echo 'rl:x:1500:1500::/tmp:/bin/sh' >>/etc/passwd
	grep -q '^rl:' /etc/group || echo 'rl:x:1500:' >>/etc/group
	mkdir -p "$CG/deleg/shell"
	chown 1500:1500 "$CG/deleg" "$CG/deleg/cgroup.procs" "$CG/deleg/cgroup.subtree_control" "$CG/deleg/cgroup.threads" \
		"$CG/deleg/shell" "$CG/deleg/shell/cgroup.procs"
	b=$W/rootless
	rm -rf "$b" && mkdir -p "$b/state" && cp -a "$W/rootfs" "$b/rootfs"
	chown -R 1500:1500 "$b"
	chmod 755 "$W"
	# as_rl CMD...: in /deleg/shell, as uid 1500 (busybox su needs no password from root).
	as_rl() { sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec su -s /bin/sh rl -c "$*"' sh "$CG/deleg/shell" "$@"; }
	as_rl env XDG_RUNTIME_DIR="$b/state" "$HULL" spec --rootless --bundle "$b" || { fail "rootless: spec"; return; }
	# Run `sleep`, no terminal, pids limited, the cgroup in the delegated tree.
	awk '
		/"terminal": true/ { sub(/true/, "false") }
		/^[ \t]*"sh"$/ { sub(/"sh"/, "\"sleep\", \"600\"") }
		/"linux": \{/ { print; print "\"cgroupsPath\": \"/deleg/ctr\", \"resources\": {\"pids\": {\"limit\": 10}},"; next }
		{ print }
	' "$b/config.json" >"$b/config.tmp" && mv "$b/config.tmp" "$b/config.json" && chown 1500:1500 "$b/config.json"
	# (to a file: the detached container keeps its stdout open)
	as_rl env XDG_RUNTIME_DIR="$b/state" "$HULL" run -d --bundle "$b" "$id" >"$b/run.log" 2>&1
	check "rootless: run -d as uid 1500 ($(cat "$b/run.log"))" test ! -s "$b/run.log"
	pid=$(as_rl env XDG_RUNTIME_DIR="$b/state" "$HULL" state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	check "rootless: the container is in the delegated /deleg/ctr" grep -qx "${pid:-none}" "$CG/deleg/ctr/cgroup.procs"
	check "rootless: pids.max is 10 (got $(cat "$CG/deleg/ctr/pids.max" 2>&1))" grep -qx 10 "$CG/deleg/ctr/pids.max"
	n=0
	for i in $(seq 12); do
		as_rl env XDG_RUNTIME_DIR="$b/state" "$HULL" exec -d "$id" sleep 600 >"$b/exec.log" 2>&1 && n=$((n + 1))
	done
	check "rootless: 9 of 12 execs fit under the limit (got $n)" test "$n" = 9
	as_rl env XDG_RUNTIME_DIR="$b/state" "$HULL" delete -f "$id"
	check "rootless: delete removes /deleg/ctr" gone "$CG/deleg/ctr"
	rmdir "$CG/deleg/shell" "$CG/deleg" 2>/dev/null
}

# What runc's own suite checks of cgroups (its bats tests of the same
# names), on pure v2 where this host's hybrid cgroups cannot show it.
t_runc() {
	id=c2-runc-$$
	mkdir -p "$W/spec"
	rm -f "$W/spec/config.json"
	hull spec --bundle "$W/spec"
	check "runc: hull spec has a cgroup namespace on pure v2, as runc's" grep -q '"type": "cgroup"' "$W/spec/config.json"

	# A frozen cgroup, or one below it: refused at once, nothing left.
	mkdir -p "$CG/c2-frozen-$$"
	echo 1 >"$CG/c2-frozen-$$/cgroup.freeze"
	for path in /c2-frozen-$$ /c2-frozen-$$/inner; do
		mkbundle frozen "" "\"cgroupsPath\": \"$path\"" <<-'EOF'
			exec sleep 600
		EOF
		timeout -s KILL 20 "$HULL" run -d --bundle "$W/frozen" "$id-f" >"$W/frozen.log" 2>&1
		rc=$?
		out=$(cat "$W/frozen.log")
		check "runc: create into frozen $path fails (rc $rc: $out)" test "$rc" = 1
		check "runc: ... with \"container's cgroup unexpectedly frozen\"" has "container's cgroup unexpectedly frozen"
		check "runc: ... and leaves no state and no cgroup below" \
			test -z "$(status_of "$id-f")" -a ! -e "$CG/c2-frozen-$$/inner"
	done
	echo 0 >"$CG/c2-frozen-$$/cgroup.freeze"
	rmdir "$CG/c2-frozen-$$"

	# A second container in the first one's cgroup: a warning; deleting it
	# leaves the first one and the cgroup.
	mkbundle shared "" "\"cgroupsPath\": \"/c2-shared-$$\"" <<-'EOF'
		exec sleep 600
	EOF
	hull run -d --bundle "$W/shared" "$id-s1" >/dev/null 2>&1
	# To a file: a detached container keeps its stdio (a $(...) pipe) open.
	hull run -d --bundle "$W/shared" "$id-s2" >"$W/shared.log" 2>&1
	out=$(cat "$W/shared.log")
	check "runc: a second container in the same cgroup is warned about ($out)" \
		has "container's cgroup is not empty: 1 process(es) found"
	hull delete -f "$id-s2" 2>/dev/null
	check "runc: deleting it keeps the first one running and the cgroup" \
		test "$(status_of "$id-s1")" = running -a -d "$CG/c2-shared-$$"
	hull delete -f "$id-s1"
	check "runc: the last one's delete removes the cgroup" gone "$CG/c2-shared-$$"

	# Sub-cgroups made inside the container (own cgroup namespace, writable
	# cgroup mount), two levels, a process moved there: delete -f removes all.
	mkbundle subcg <<-'EOF'
		mkdir -p /sys/fs/cgroup/foo/bar && echo $$ >/sys/fs/cgroup/foo/bar/cgroup.procs && echo >/moved
		exec sleep 600
	EOF
	sed '/"destination": "\/sys\/fs\/cgroup"/,/\]/ { /"ro"$/d; s/"relatime",/"relatime"/; }' "$W/subcg/config.json" >"$W/subcg/c.tmp" &&
		mv "$W/subcg/c.tmp" "$W/subcg/config.json"
	hull run -d --bundle "$W/subcg" "$id-sub" >"$W/subcg.log" 2>&1
	until_true 10 test -e "$W/subcg/rootfs/moved"
	check "runc: the container made $CG/hull/$id-sub/foo/bar and moved into it ($(cat "$W/subcg.log"))" \
		test -d "$CG/hull/$id-sub/foo/bar"
	hull delete -f "$id-sub"
	check "runc: delete -f removes the container's sub-cgroups and its own" gone "$CG/hull/$id-sub"

	# Under a parent held to 50 %: 500 ms / 1 s to 3 ms / 10 ms (cpu.max is one write).
	mkdir -p "$CG/c2-pod-$$"
	echo "50000 100000" >"$CG/c2-pod-$$/cpu.max"
	mkbundle pod '"cpu": {"quota": 500000, "period": 1000000}' "\"cgroupsPath\": \"/c2-pod-$$/ct\"" <<-'EOF'
		exec sleep 600
	EOF
	hull run -d --bundle "$W/pod" "$id-pod" >/dev/null 2>&1
	hull update --cpu-period 10000 --cpu-quota 3000 "$id-pod"
	check "runc: cpu.max under a 50 % parent goes to '3000 10000' (got '$(cat "$CG/c2-pod-$$/ct/cpu.max")')" \
		test "$(cat "$CG/c2-pod-$$/ct/cpu.max")" = "3000 10000"
	hull delete -f "$id-pod"
	rmdir "$CG/c2-pod-$$"

	# update memory -1 with no word about swap lifts the swap limit too.
	mkbundle mem1 '"memory": {"limit": 33554432, "swap": 67108864}' <<-'EOF'
		exec sleep 600
	EOF
	hull run -d --bundle "$W/mem1" "$id-m" >/dev/null 2>&1
	dir=$CG/hull/$id-m
	echo '{"memory": {"limit": -1}}' >"$W/mem1.json"
	out=$(hull update -r "$W/mem1.json" "$id-m" 2>&1)
	check "runc: update memory -1 ($out): memory.max max, memory.swap.max max (got $(cat "$dir/memory.max") $(cat "$dir/memory.swap.max"))" \
		test "$(cat "$dir/memory.max") $(cat "$dir/memory.swap.max")" = "max max"
	hull delete -f "$id-m"

	# Device rules updated twenty times while a loop opens /dev/null: never
	# refused (update keeps the default devices), /dev/kmsg allowed and not.
	mkbundle devupd '' '"devices": [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]' <<-'EOF'
		while :; do true >/dev/null || echo DENIED >>/denied; done
	EOF
	hull run -d --bundle "$W/devupd" "$id-d" >/dev/null 2>&1
	echo '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}' >"$W/allow.json"
	echo '{"devices": [{"allow": false, "access": "rwm"}]}' >"$W/deny.json"
	ok=0 i=0
	while [ $i -lt 20 ]; do
		hull update -r "$W/allow.json" "$id-d" && hull exec "$id-d" sh -c 'true >/dev/kmsg' &&
			hull update -r "$W/deny.json" "$id-d" && ! hull exec "$id-d" sh -c 'true >/dev/kmsg' 2>/dev/null &&
			ok=$((ok + 1))
		i=$((i + 1))
	done
	check "runc: 20 device updates allowed and denied /dev/kmsg ($ok of 20)" test "$ok" = 20
	check "runc: ... and /dev/null was never refused ($({ wc -l <"$W/devupd/rootfs/denied"; } 2>/dev/null || echo 0) times)" \
		test ! -e "$W/devupd/rootfs/denied"
	hull delete -f "$id-d"
}

all="lifecycle memory pids cpu freeze devices cgroupspath rootless userns runc"
# shellcheck disable=SC2086 # a list of names
[ $# -gt 0 ] || set -- $all
echo "$("$HULL" --version | head -1); kernel $(uname -r); guest up $(cut -d' ' -f1 /proc/uptime) s"
echo "root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"
if ! grep -q "^cgroup2 $CG cgroup2" /proc/mounts || grep -q ' cgroup ' /proc/mounts; then
	echo "FAIL not a pure cgroup v2 machine"
	exit 1
fi
rm -rf "$W"
mkdir -p "$W"
BUSYBOX=/bin/busybox sh "$BBROOT" "$W/rootfs"
for t in "$@"; do
	case " $all " in *" $t "*) ;; *)
		fail "no check named $t"
		continue
		;;
	esac
	s=$(uptime_cs)
	echo "--- $t"
	"t_$t"
	e=$(uptime_cs)
	echo "    ($t: $(((e - s) / 100)).$(((e - s) % 100 / 10)) s)"
done
echo "=== cgroup v2: $passed passed, $failed failed"
[ "$failed" = 0 ]
