#!/bin/bash
# The production-like host's suite: runs as root inside the systemd VM of
# run.sh (Debian 12, systemd as PID 1, pure cgroup v2, AppArmor), against the
# runtime $RUNTIME (/payload/hull, or Debian's /usr/sbin/runc as the proof
# that every check is real). Prints PASS/FAIL per check; exits 1 on any FAIL.
#
# Usage: RUNTIME=PATH tests.sh [SECTION...]
#   SECTION: systemd-driver cgroupfs-on-systemd engines apparmor criu (default: all)
# The runtime is also installed as /usr/local/bin/hull, the path the
# configurations of docs/systemd-hosts.md (in /payload/conf) name.
set -u
RUNTIME=${RUNTIME:?RUNTIME is the runtime binary under test}
CONF=${CONF:-/payload/conf}
W=/var/tmp/hullvm
ROOT=/run/hullvm # the runtime's --root for the bundles run by hand
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
	local name=$1
	shift
	if "$@"; then pass "$name"; else
		fail "$name"
		return 1
	fi
}
# same NAME WANT GOT: PASS when GOT is WANT, else FAIL showing both.
same() {
	if [ "$2" = "$3" ]; then pass "$1"; else
		fail "$1 (want '$2', got '$3')"
		return 1
	fi
}
ms() { echo $(($(date +%s%N) / 1000000)); }
# until_true SECONDS COMMAND...: polls every 0.1 s.
until_true() {
	local end=$(($(ms) + $1 * 1000))
	shift
	while ! "$@"; do
		[ "$(ms)" -lt $end ] || return 1
		sleep 0.1
	done
}
# Lines of a command's output, indented, for the log.
show() { sed 's/^/    | /'; }

# ---------------------------------------------------------------- runtime

# (a time limit: a hung runtime must not hold the VM until its hard limit)
rt() { timeout -k 5 120 "$RUNTIME" --root "$ROOT" "$@"; }
status_of() { rt "${SD[@]}" state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
pid_of() { rt "${SD[@]}" state "$1" 2>/dev/null | jq -r .pid 2>/dev/null; }
is_status() { [ "$(status_of "$1")" = "$2" ]; }
# json_has JSON FILTER: jq's FILTER is true of JSON.
json_has() { jq -e "$2" <<<"$1" >/dev/null 2>&1; }
# ps_lists PS_OUTPUT PID...: the runtime's ps table has each PID.
ps_lists() {
	local out=$1 p
	shift
	for p in "$@"; do
		awk -v p="$p" '$2 == p { found = 1 } END { exit !found }' <<<"$out" || return 1
	done
}
# The cgroup (v2 path) of a process, as the host sees it.
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# A unit's property, as systemctl show prints it.
prop() { systemctl show -P "$2" "$1" 2>/dev/null; }
unit_gone() { [ "$(prop "$1" LoadState)" = not-found ]; }
gone() { [ ! -e "$1" ]; }

# mkbundle DIR CGROUPS_PATH RESOURCES SCRIPT: a bundle from the runtime's own
# `spec`, on the shared read-only busybox root, whose process runs SCRIPT
# with sh -c (no terminal); RESOURCES (JSON) is merged into linux.resources.
mkbundle() {
	local res=${3:-}
	[ -n "$res" ] || res='{}'
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$1" && "$RUNTIME" spec) || return 1
	jq --arg cg "$2" --argjson res "$res" --arg script "$4" --arg rootfs "$W/rootfs" '
		.process.terminal = false | .process.args = ["sh", "-c", $script]
		| .root = {path: $rootfs, readonly: true} | .hostname = "hullvm"
		| .linux.resources = ((.linux.resources // {}) + $res)
		| if $cg == "" then del(.linux.cgroupsPath) else .linux.cgroupsPath = $cg end
	' "$1/config.json" >"$1/config.tmp" && mv "$1/config.tmp" "$1/config.json"
}

# run_d ID: run -d the bundle $W/ID; prints what the runtime said. (Its
# output goes to a file first: the container keeps its stdout open.)
run_d() {
	rt "${SD[@]}" run -d --bundle "$W/$1" "$1" >"$W/$1.log" 2>&1 </dev/null
	cat "$W/$1.log"
}

# 64 MiB (no swap on top), 64 tasks, half a CPU; update makes it 128 MiB,
# 100 tasks, a quarter of a CPU.
LIMITS='{"memory": {"limit": 67108864, "swap": 67108864}, "pids": {"limit": 64},
	"cpu": {"quota": 50000, "period": 100000}}'
UPDATE=(--memory 134217728 --memory-swap 134217728 --pids-limit 100 --cpu-quota 25000 --cpu-period 100000)

# cgroup_checks WHAT ID DIR [UNIT]: the checks both cgroup drivers share, on
# the running container ID whose cgroup must be $CG/DIR (and, for the
# systemd driver, the scope UNIT): limits, exec, ps, pause/resume, update,
# an OOM kill reported by events, stats, delete. "${SD[@]}" is the
# driver's global flag (--systemd-cgroup or nothing).
cgroup_checks() {
	local what=$1 id=$2 dir=$CG/$3 unit=${4:-} pid epid got
	pid=$(pid_of "$id")
	same "$what: the init (pid $pid) is in $3" "/$3" "$(cgroup_of "$pid")"
	same "$what: memory.max" 67108864 "$(cat "$dir/memory.max" 2>&1)"
	same "$what: memory.swap.max" 0 "$(cat "$dir/memory.swap.max" 2>&1)"
	same "$what: pids.max" 64 "$(cat "$dir/pids.max" 2>&1)"
	same "$what: cpu.max" "50000 100000" "$(cat "$dir/cpu.max" 2>&1)"
	if [ -n "$unit" ]; then
		same "$what: $unit MemoryMax" 67108864 "$(prop "$unit" MemoryMax)"
		same "$what: $unit TasksMax" 64 "$(prop "$unit" TasksMax)"
		same "$what: $unit CPUQuotaPerSecUSec" 500ms "$(prop "$unit" CPUQuotaPerSecUSec)"
	fi

	# exec joins the container's cgroup
	rm -f "$W/exec.pid"
	rt "${SD[@]}" exec -d --pid-file "$W/exec.pid" "$id" sleep 301 >/dev/null 2>&1
	epid=$(cat "$W/exec.pid" 2>/dev/null)
	same "$what: exec'd process (pid ${epid:-none}) joins $3" "/$3" "$(cgroup_of "${epid:-none}")"
	got=$(rt "${SD[@]}" ps "$id" 2>&1)
	check "$what: ps lists the init and the exec'd sleep" ps_lists "$got" "$pid" "$epid" ||
		echo "$got" | show

	# pause / resume: the cgroup is frozen, the state says so
	rt "${SD[@]}" pause "$id"
	check "$what: pause: state paused" is_status "$id" paused
	same "$what: pause: cgroup.events frozen" "frozen 1" "$(grep frozen "$dir/cgroup.events")"
	rt "${SD[@]}" resume "$id"
	check "$what: resume: state running" is_status "$id" running
	same "$what: resume: cgroup.events not frozen" "frozen 0" "$(grep frozen "$dir/cgroup.events")"

	# update changes the cgroup files and (systemd) the unit's properties;
	# those must hold over a daemon-reload, which re-applies unit properties.
	got=$(rt "${SD[@]}" update "${UPDATE[@]}" "$id" 2>&1)
	check "$what: update ${UPDATE[*]}${got:+: $got}" test -z "$got"
	[ -z "$unit" ] || systemctl daemon-reload
	same "$what: update: memory.max" 134217728 "$(cat "$dir/memory.max" 2>&1)"
	same "$what: update: pids.max" 100 "$(cat "$dir/pids.max" 2>&1)"
	same "$what: update: cpu.max" "25000 100000" "$(cat "$dir/cpu.max" 2>&1)"
	if [ -n "$unit" ]; then
		same "$what: update: $unit MemoryMax" 134217728 "$(prop "$unit" MemoryMax)"
		same "$what: update: $unit TasksMax" 100 "$(prop "$unit" TasksMax)"
		same "$what: update: $unit CPUQuotaPerSecUSec" 250ms "$(prop "$unit" CPUQuotaPerSecUSec)"
	fi

	# An exec'd process that outgrows the memory limit is OOM-killed (the init
	# lives on), and events reports it.
	rt "${SD[@]}" events "$id" >"$W/events.out" 2>&1 &
	local ev=$!
	sleep 1
	rt "${SD[@]}" exec "$id" awk 'BEGIN { s = "x"; while (length(s) < 268435456) s = s s }' >/dev/null 2>&1
	got=$?
	same "$what: a 256 MiB exec is OOM-killed (exit status)" 137 "$got"
	check "$what: events reports the OOM kill" until_true 10 grep -q '"type":"oom"' "$W/events.out" ||
		show <"$W/events.out"
	kill "$ev" 2>/dev/null
	wait "$ev" 2>/dev/null
	got=$(sed -n 's/^oom_kill //p' "$dir/memory.events")
	check "$what: memory.events oom_kill >= 1 (got ${got:-none})" test "${got:-0}" -ge 1
	check "$what: the init survived" is_status "$id" running
	got=$(rt "${SD[@]}" events --stats "$id" 2>&1)
	check "$what: events --stats shows memory usage and pids" json_has "$got" \
		'.type == "stats" and .data.memory.usage.usage > 0 and .data.pids.current >= 2' ||
		echo "$got" | head -c 600 | show

	rt "${SD[@]}" delete -f "$id"
	check "$what: delete -f: the state is gone" test -z "$(status_of "$id")"
	check "$what: delete -f: $3 is gone" until_true 5 gone "$dir"
	[ -z "$unit" ] || check "$what: delete -f: $unit is gone" until_true 5 unit_gone "$unit"
}

# ----------------------------------------------------------- systemd-driver

# scope_checks WHAT ID CGROUPS_PATH SLICE UNIT DIR: run -d with the systemd
# driver; the scope's properties (Delegate, Slice) and its cgroup.
run_scope() {
	local what=$1 id=$2 path=$3 slice=$4 unit=$5 dir=$6 out
	mkbundle "$W/$id" "$path" "$LIMITS" 'exec sleep 600'
	out=$(run_d "$id")
	if ! is_status "$id" running; then
		fail "$what: run -d with cgroupsPath '$path': ${out:-no error, state '$(status_of "$id")'}"
		rt "${SD[@]}" delete -f "$id" >/dev/null 2>&1
		return 1
	fi
	pass "$what: run -d with cgroupsPath '$path'"
	same "$what: $unit is active" active "$(prop "$unit" ActiveState)"
	same "$what: $unit Delegate" yes "$(prop "$unit" Delegate)"
	same "$what: $unit Slice" "$slice" "$(prop "$unit" Slice)"
	same "$what: $unit ControlGroup" "/$dir" "$(prop "$unit" ControlGroup)"
}

s_systemd_driver() {
	SD=(--systemd-cgroup)
	local id=sd-$$ unit dir pid out

	unit=hullvm-$id.scope dir=system.slice/$unit
	run_scope "system.slice" "$id" "system.slice:hullvm:$id" system.slice "$unit" "$dir" &&
		cgroup_checks "system.slice" "$id" "$dir" "$unit"

	id=sdpod-$$ unit=hullvm-sdpod-$$.scope dir=mypod.slice/hullvm-sdpod-$$.scope
	if run_scope "mypod.slice" "$id" "mypod.slice:hullvm:$id" mypod.slice "$unit" "$dir"; then
		same "mypod.slice: the slice is active" active "$(prop mypod.slice ActiveState)"
		rt "${SD[@]}" delete -f "$id"
		check "mypod.slice: delete -f: $unit is gone" until_true 5 unit_gone "$unit"
		check "mypod.slice: delete -f: its cgroup is gone" until_true 5 gone "$CG/$dir"
	fi

	# A Kubernetes pod's slice, which nothing made before: a transient slice
	# whose place in the tree follows from its name.
	local pod=kubepods-besteffort-pod$$.slice
	id=sdk8s-$$ unit=cri-containerd-sdk8s-$$.scope
	dir=kubepods.slice/kubepods-besteffort.slice/$pod/$unit
	if run_scope "kubepods" "$id" "$pod:cri-containerd:$id" "$pod" "$unit" "$dir"; then
		same "kubepods: $pod is active" active "$(prop "$pod" ActiveState)"
		same "kubepods: $pod is in kubepods-besteffort.slice" kubepods-besteffort.slice "$(prop "$pod" Slice)"
		rt "${SD[@]}" delete -f "$id"
		check "kubepods: delete -f: $unit is gone" until_true 5 unit_gone "$unit"
	fi
	systemctl stop kubepods.slice mypod.slice 2>/dev/null

	# No cgroupsPath: the driver's default, a scope <prefix>-<id>.scope in
	# system.slice (runc's prefix is "runc").
	id=sddef-$$
	mkbundle "$W/$id" "" "" 'exec sleep 600'
	out=$(run_d "$id")
	if is_status "$id" running; then
		pid=$(pid_of "$id")
		dir=$(cgroup_of "$pid")
		unit=${dir##*/}
		check "no cgroupsPath: the init is in /system.slice/<prefix>-$id.scope (got $dir)" \
			grep -Eq "^/system.slice/[a-z0-9_.]+-$id\.scope\$" <<<"$dir"
		same "no cgroupsPath: $unit Delegate" yes "$(prop "$unit" Delegate)"
		rt "${SD[@]}" delete -f "$id"
		check "no cgroupsPath: delete -f: $unit is gone" until_true 5 unit_gone "$unit"
	else
		fail "no cgroupsPath: run -d: ${out:-state '$(status_of "$id")'}"
		rt "${SD[@]}" delete -f "$id" >/dev/null 2>&1
	fi
}

# ------------------------------------------------------- cgroupfs-on-systemd

s_cgroupfs_on_systemd() {
	SD=()
	local id=fs-$$ dir=hullvm/fs-$$ out pid
	mkbundle "$W/$id" "/$dir" "$LIMITS" 'exec sleep 600'
	out=$(run_d "$id")
	if is_status "$id" running; then
		pass "cgroupfs: run -d with cgroupsPath '/$dir'"
		# systemd may rewrite controllers it does not know are in use when it
		# reloads: the limits must survive that.
		systemctl daemon-reload
		cgroup_checks "cgroupfs" "$id" "$dir"
	else
		fail "cgroupfs: run -d with cgroupsPath '/$dir': ${out:-state '$(status_of "$id")'}"
		rt delete -f "$id" >/dev/null 2>&1
	fi
	rmdir "$CG/hullvm" 2>/dev/null

	id=fsdef-$$
	mkbundle "$W/$id" "" "" 'exec sleep 600'
	out=$(run_d "$id")
	if is_status "$id" running; then
		pid=$(pid_of "$id")
		dir=$(cgroup_of "$pid")
		check "cgroupfs, no cgroupsPath: the init's cgroup $dir is its own (ends in /$id)" \
			test "${dir##*/}" = "$id"
		check "cgroupfs, no cgroupsPath: ... and not inside a systemd unit" \
			grep -vq '\.\(service\|scope\)/' <<<"$dir"
		rt delete -f "$id"
		check "cgroupfs, no cgroupsPath: delete -f removes $dir" until_true 5 gone "$CG$dir"
	else
		fail "cgroupfs, no cgroupsPath: run -d: ${out:-state '$(status_of "$id")'}"
		rt delete -f "$id" >/dev/null 2>&1
	fi
}

# ---------------------------------------------------------------- engines

s_engines() {
	echo "(engines: not yet)"
}

# --------------------------------------------------------------- apparmor

s_apparmor() {
	echo "(apparmor: not yet)"
}

# ------------------------------------------------------------------- criu

# For the checkpoint/restore work (issue 18): the guest's CRIU works here.
s_criu() {
	out=$(criu check 2>&1)
	check "criu: criu check says 'Looks good.' ($(criu --version | head -1))" grep -q "Looks good" <<<"$out" ||
		echo "$out" | show
}

# ------------------------------------------------------------------- main

all="systemd-driver cgroupfs-on-systemd engines apparmor criu"
# shellcheck disable=SC2086 # a list of names
[ $# -gt 0 ] || set -- $all
echo "runtime $RUNTIME: $("$RUNTIME" --version 2>&1 | head -1)"
echo "kernel $(uname -r); $(systemctl --version | head -1); cgroup fs $(stat -fc %T $CG);" \
	"LSMs $(cat /sys/kernel/security/lsm); AppArmor enabled: $(cat /sys/module/apparmor/parameters/enabled)"
if [ "$(stat -fc %T $CG)" != cgroup2fs ] || [ "$(ps -p 1 -o comm=)" != systemd ]; then
	echo "FAIL not a pure cgroup v2 host with systemd as PID 1"
	exit 1
fi
rm -rf "$W"
mkdir -p "$W"
BUSYBOX=/bin/busybox sh /payload/busybox-rootfs.sh "$W/rootfs" || exit 1
ln -sf "$RUNTIME" /usr/local/bin/hull
SD=()
for s in "$@"; do
	case " $all " in *" $s "*) ;; *)
		fail "no section named $s"
		continue
		;;
	esac
	t=$(ms)
	echo "--- $s"
	"s_${s//-/_}"
	t=$(($(ms) - t))
	echo "    ($s: $((t / 1000)).$((t % 1000 / 100)) s)"
done
echo "=== systemd VM, $RUNTIME: $passed passed, $failed failed"
[ "$failed" = 0 ]
