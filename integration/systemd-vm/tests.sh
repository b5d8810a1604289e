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
# oci_layout_tar (integration/engines/oci-layout.sh, shipped beside this file)
# shellcheck source=../engines/oci-layout.sh
source "$(dirname "${BASH_SOURCE[0]}")/oci-layout.sh"

# (engines' 64-digit ids are shown as their first 12 digits)
pass() {
	echo "PASS $*" | sed -E 's/([0-9a-f]{12})[0-9a-f]{52}/\1/g'
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $*" | sed -E 's/([0-9a-f]{12})[0-9a-f]{52}/\1/g'
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

# limits_are WHAT DIR UNIT MEMORY PIDS QUOTA QUOTA_PER_SEC: memory.max,
# pids.max and cpu.max (period 100 ms) of cgroup DIR, and the same three as
# properties of the systemd unit UNIT when one is named.
limits_are() {
	local what=$1 dir=$2 unit=$3
	same "$what: memory.max" "$4" "$(cat "$dir/memory.max" 2>&1)"
	same "$what: pids.max" "$5" "$(cat "$dir/pids.max" 2>&1)"
	same "$what: cpu.max" "$6 100000" "$(cat "$dir/cpu.max" 2>&1)"
	if [ -n "$unit" ]; then
		same "$what: $unit MemoryMax" "$4" "$(prop "$unit" MemoryMax)"
		same "$what: $unit TasksMax" "$5" "$(prop "$unit" TasksMax)"
		same "$what: $unit CPUQuotaPerSecUSec" "$7" "$(prop "$unit" CPUQuotaPerSecUSec)"
	fi
}

# cgroup_checks WHAT ID DIR [UNIT]: the checks both cgroup drivers share, on
# the running container ID whose cgroup must be $CG/DIR (and, for the
# systemd driver, the scope UNIT): limits, exec, ps, pause/resume, update,
# an OOM kill reported by events, stats, delete. "${SD[@]}" is the
# driver's global flag (--systemd-cgroup or nothing).
cgroup_checks() {
	local what=$1 id=$2 dir=$CG/$3 unit=${4:-} pid epid got
	pid=$(pid_of "$id")
	same "$what: the init (pid $pid) is in $3" "/$3" "$(cgroup_of "$pid")"
	same "$what: memory.swap.max" 0 "$(cat "$dir/memory.swap.max" 2>&1)"
	limits_are "$what" "$dir" "$unit" 67108864 64 50000 500ms

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
	limits_are "$what: update" "$dir" "$unit" 134217728 100 25000 250ms

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
		fail "$what: run -d with cgroupsPath '$path': ${out:-no error, state $(status_of "$id")}"
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
		fail "no cgroupsPath: run -d: ${out:-no error, state $(status_of "$id")}"
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
		fail "cgroupfs: run -d with cgroupsPath '/$dir': ${out:-no error, state $(status_of "$id")}"
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
		fail "cgroupfs, no cgroupsPath: run -d: ${out:-no error, state $(status_of "$id")}"
		rt delete -f "$id" >/dev/null 2>&1
	fi
}

# ---------------------------------------------------------------- engines

# The engines run with the configuration files of docs/systemd-hosts.md
# (installed by main before any engine starts), hull's path in them being
# /usr/local/bin/hull, a link to $RUNTIME. No registry: images are made from
# the busybox root filesystem ($W/bb.tar).

# e CMD...: run an engine command with a time limit; sets OUT (stdout and
# stderr) and RC.
e() {
	OUT=$(timeout -k 5 180 "$@" 2>&1 </dev/null)
	RC=$?
}
# Squash the last engine output onto one line (its end: errors come last).
why() {
	local s
	s=$(printf '%s' "$OUT" | tr '\r\n\t' '   ' | tr -s ' ')
	[ ${#s} -le 400 ] || s="...${s: -400}"
	echo "exit $RC: $s"
}
# expect NAME TEXT CMD...: CMD succeeds and its output has TEXT.
expect() {
	local name=$1 text=$2
	shift 2
	e "$@"
	if [ "$RC" = 0 ] && grep -qF -- "$text" <<<"$OUT"; then pass "$name"; else
		fail "$name ($(why))"
		return 1
	fi
}
# the engine-made scope UNIT of a container whose init is PID: in SLICE,
# Delegate=yes, holding the init, with the memory and tasks limits of
# --memory 64m --pids-limit 50 both as properties and in cgroupfs.
engine_scope() {
	local what=$1 unit=$2 slice=$3 pid=$4
	same "$what: the init (pid $pid) is in $slice/$unit" "/$slice/$unit" "$(cgroup_of "$pid")"
	same "$what: $unit Delegate" yes "$(prop "$unit" Delegate)"
	same "$what: $unit Slice" "$slice" "$(prop "$unit" Slice)"
	same "$what: $unit MemoryMax" 67108864 "$(prop "$unit" MemoryMax)"
	same "$what: $unit TasksMax" 50 "$(prop "$unit" TasksMax)"
	same "$what: memory.max" 67108864 "$(cat "$CG/$slice/$unit/memory.max" 2>&1)"
	same "$what: pids.max" 50 "$(cat "$CG/$slice/$unit/pids.max" 2>&1)"
}
# runtime_knows WHAT ROOT ID: the container really runs on the runtime under
# test, which reads its state from ROOT.
runtime_knows() {
	local got
	got=$(timeout 30 "$RUNTIME" --root "$2" state "$3" 2>&1)
	check "$1: $RUNTIME --root $2 state: running" json_has "$got" '.status == "running"' ||
		echo "$got" | show
}
# exec_joins WHAT UNIT_DIR MARK: the process "sleep MARK" (started by an
# engine's exec -d) is in the container's cgroup.
exec_joins() {
	local epid
	until_true 10 pgrep -f "^sleep $3\$" >/dev/null
	epid=$(pgrep -f "^sleep $3\$" | head -1)
	same "$1: the exec'd process (pid ${epid:-none}) is in $2" "/$2" "$(cgroup_of "${epid:-none}")"
}

# oci_image NAMESPACE NAME ROOTFS_DIR CONFIG: an OCI image layout made by
# hand (the uncompressed rootfs tarball is the one layer), imported with ctr.
oci_image() {
	local ns=$1 name=$2 dir=$W/image-$1-${2##*/}
	oci_layout_tar "$name" "$3" "$4" "$dir" || {
		fail "image layout of $name from $3"
		return
	}
	e ctr -n "$ns" image import "$dir.tar"
	[ "$RC" = 0 ] || echo "    ctr image import $name: $(why)"
}
PATH_ENV='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'

# need_docker: dockerd (and with it containerd) started once, the busybox
# image imported.
need_docker() {
	[ -z "${DOCKER_UP:-}" ] || return 0
	DOCKER_UP=1
	local t
	t=$(ms)
	e systemctl start docker
	[ "$RC" = 0 ] || fail "docker: systemctl start docker ($(why))"
	echo "    (dockerd started in $((($(ms) - t) / 1000)) s)"
	e docker import "$W/bb.tar" hullvm-bb:latest
	[ "$RC" = 0 ] || fail "docker: import the busybox image ($(why))"
}

t_podman() {
	local name=hullvm-p1 id pid
	e podman import "$W/bb.tar" localhost/hullvm-bb:latest
	[ "$RC" = 0 ] || fail "podman: import the busybox image ($(why))"
	expect "podman: info says cgroup manager systemd, cgroups v2, runtime hull" "systemd v2 hull" \
		podman info --format '{{.Host.CgroupManager}} {{.Host.CgroupsVersion}} {{.Host.OCIRuntime.Name}}'
	expect "podman: run --rm (containers.conf's runtime, systemd cgroup manager)" "0::/" \
		podman run --rm --network none localhost/hullvm-bb cat /proc/self/cgroup
	expect "podman: --runtime $RUNTIME run --rm" hello \
		podman --runtime "$RUNTIME" run --rm --network none localhost/hullvm-bb echo hello
	if ! expect "podman: run -d --memory 64m --pids-limit 50" "" \
		podman run -d --name "$name" --network none --memory 64m --pids-limit 50 localhost/hullvm-bb sleep 600; then
		podman rm -f -t 0 "$name" >/dev/null 2>&1
		return
	fi
	id=$(podman inspect -f '{{.Id}}' "$name")
	pid=$(podman inspect -f '{{.State.Pid}}' "$name")
	engine_scope podman "libpod-$id.scope" machine.slice "$pid"
	runtime_knows podman "/run/$(basename "$(readlink -f "$RUNTIME")")" "$id"
	expect "podman: exec" exec-ok podman exec "$name" sh -c 'echo exec-ok'
	e podman exec -d "$name" sleep 304
	exec_joins podman "machine.slice/libpod-$id.scope" 304
	e podman pause "$name"
	same "podman: pause: inspect says paused" paused "$(podman inspect -f '{{.State.Status}}' "$name")"
	same "podman: pause: the scope's cgroup is frozen" "frozen 1" \
		"$(grep frozen "$CG/machine.slice/libpod-$id.scope/cgroup.events" 2>&1)"
	e podman unpause "$name"
	same "podman: unpause: inspect says running" running "$(podman inspect -f '{{.State.Status}}' "$name")"
	e podman rm -f -t 0 "$name"
	check "podman: rm -f: libpod-$id.scope is gone" until_true 10 unit_gone "libpod-$id.scope"
}

t_docker() {
	local name=hullvm-d1 id pid
	need_docker
	expect "docker: info says cgroup driver systemd, cgroup v2, default runtime hull" "systemd 2 hull" \
		docker info --format '{{.CgroupDriver}} {{.CgroupVersion}} {{.DefaultRuntime}}'
	expect "docker: run --rm (daemon.json's default runtime, systemd driver)" "0::/" \
		docker run --rm --network none hullvm-bb cat /proc/self/cgroup
	if ! expect "docker: run -d --memory 64m --pids-limit 50" "" \
		docker run -d --name "$name" --memory 64m --pids-limit 50 hullvm-bb sleep 600; then
		docker rm -f "$name" >/dev/null 2>&1
		return
	fi
	id=$(docker inspect -f '{{.Id}}' "$name")
	pid=$(docker inspect -f '{{.State.Pid}}' "$name")
	engine_scope docker "docker-$id.scope" system.slice "$pid"
	runtime_knows docker /run/docker/runtime-runc/moby "$id"
	expect "docker: exec" exec-ok docker exec "$name" sh -c 'echo exec-ok'
	e docker exec -d "$name" sleep 305
	exec_joins docker "system.slice/docker-$id.scope" 305
	e docker pause "$name"
	same "docker: pause: inspect says paused" paused "$(docker inspect -f '{{.State.Status}}' "$name")"
	e docker unpause "$name"
	same "docker: unpause: inspect says running" running "$(docker inspect -f '{{.State.Status}}' "$name")"
	e docker rm -f "$name"
	check "docker: rm -f: docker-$id.scope is gone" until_true 10 unit_gone "docker-$id.scope"
}

# ctr takes the CRI plugin's two runtime options as flags: --runc-binary
# (BinaryName) and --runc-systemd-cgroup (SystemdCgroup = true), which wants
# a slice:prefix:name cgroup.
t_ctr() {
	local name=hullvm-c1 unit=ctr-hullvm-c1.scope pid
	e systemctl start containerd
	[ "$RC" = 0 ] || fail "containerd: systemctl start containerd ($(why))"
	oci_image hullvm docker.io/library/hullvm-bb:latest "$W/rootfs" "{$PATH_ENV,\"Cmd\":[\"sh\"]}"
	if ! expect "ctr: run -d --runc-binary /usr/local/bin/hull --runc-systemd-cgroup --cgroup system.slice:ctr:$name" "" \
		ctr -n hullvm run -d --runc-binary /usr/local/bin/hull --runc-systemd-cgroup \
		--cgroup "system.slice:ctr:$name" --memory-limit 67108864 \
		docker.io/library/hullvm-bb:latest "$name" sleep 600; then
		ctr -n hullvm task kill -s KILL "$name" >/dev/null 2>&1
		ctr -n hullvm task rm -f "$name" >/dev/null 2>&1
		ctr -n hullvm container rm "$name" >/dev/null 2>&1
		return
	fi
	pid=$(ctr -n hullvm task ls | awk -v n="$name" '$1 == n { print $2 }')
	same "ctr: the init (pid $pid) is in system.slice/$unit" "/system.slice/$unit" "$(cgroup_of "$pid")"
	same "ctr: $unit Delegate" yes "$(prop "$unit" Delegate)"
	same "ctr: $unit MemoryMax" 67108864 "$(prop "$unit" MemoryMax)"
	runtime_knows ctr /run/containerd/runc/hullvm "$name"
	expect "ctr: task exec" exec-ok ctr -n hullvm task exec --exec-id e1 "$name" sh -c 'echo exec-ok'
	e ctr -n hullvm task pause "$name"
	same "ctr: task pause: PAUSED" PAUSED "$(ctr -n hullvm task ls | awk -v n="$name" '$1 == n { print $3 }')"
	e ctr -n hullvm task resume "$name"
	same "ctr: task resume: RUNNING" RUNNING "$(ctr -n hullvm task ls | awk -v n="$name" '$1 == n { print $3 }')"
	e ctr -n hullvm task kill -s KILL "$name"
	until_true 10 sh -c "ctr -n hullvm task ls | grep -q '^$name .*STOPPED'"
	e ctr -n hullvm task rm "$name"
	e ctr -n hullvm container rm "$name"
	check "ctr: task rm: $unit is gone" until_true 10 unit_gone "$unit"
}

# Kubernetes' path: containerd's CRI plugin with docs/systemd-hosts.md's
# configuration (the default handler hull: BinaryName, SystemdCgroup =
# true), driven by cri-ctl (integration/cri) as a kubelet with the systemd
# cgroup driver would: the pod's cgroup parent is its slice.
t_cri() {
	local cri=/payload/cri-ctl uid=hullvm$$ pod ctr slice scope pid info pause
	if [ ! -x "$cri" ]; then
		fail "cri: no cri-ctl in the payload (run.sh builds it with cargo in integration/cri)"
		return
	fi
	e systemctl start containerd
	[ "$RC" = 0 ] || fail "cri: systemctl start containerd ($(why))"
	# No registry: the sandbox image containerd wants (by its default name)
	# is busybox's sleep.
	pause=$(containerd config dump 2>/dev/null | sed -n 's/^ *sandbox_image = "\(.*\)"/\1/p')
	mkdir -p "$W/pause/bin"
	cp /bin/busybox "$W/pause/bin/busybox"
	ln -sf busybox "$W/pause/bin/sleep"
	oci_image k8s.io "$pause" "$W/pause" "{$PATH_ENV,\"Entrypoint\":[\"/bin/sleep\",\"2147483647\"]}"
	oci_image k8s.io docker.io/library/hullvm-bb:latest "$W/rootfs" "{$PATH_ENV,\"Cmd\":[\"sh\"]}"
	export CRI_IMAGE=docker.io/library/hullvm-bb:latest POD_NAME=hullvm-pod POD_UID=$uid POD_NAMESPACE=default
	export POD_CGROUP_PARENT=kubepods-besteffort-pod$uid.slice
	slice=kubepods.slice/kubepods-besteffort.slice/$POD_CGROUP_PARENT
	expect "cri: Version" containerd "$cri" version
	expect "cri: RunPodSandbox in $POD_CGROUP_PARENT (sandbox image $pause)" "" "$cri" runp || return
	pod=$OUT
	info=$("$cri" inspectp "$pod")
	pid=$(jq -r .info.pid <<<"$info")
	scope=cri-containerd-$pod.scope
	same "cri: the sandbox (pid $pid) is in $slice/$scope" "/$slice/$scope" "$(cgroup_of "$pid")"
	same "cri: the sandbox's scope: Delegate" yes "$(prop "$scope" Delegate)"
	same "cri: the sandbox's scope: Slice" "$POD_CGROUP_PARENT" "$(prop "$scope" Slice)"
	same "cri: $POD_CGROUP_PARENT is active" active "$(prop "$POD_CGROUP_PARENT" ActiveState)"
	if expect "cri: CreateContainer (64 MiB, half a CPU)" "" "$cri" create "$pod" app 67108864 50000 exec sleep 600; then
		ctr=$OUT
		if expect "cri: StartContainer" "" "$cri" start "$ctr"; then
			pid=$("$cri" inspect "$ctr" | jq -r .info.pid)
			scope=cri-containerd-$ctr.scope
			same "cri: the container (pid $pid) is in $slice/$scope" \
				"/$slice/$scope" "$(cgroup_of "$pid")"
			same "cri: the container's scope: Delegate" yes "$(prop "$scope" Delegate)"
			same "cri: the container's scope: MemoryMax" 67108864 "$(prop "$scope" MemoryMax)"
			same "cri: the container's scope: CPUQuotaPerSecUSec" 500ms "$(prop "$scope" CPUQuotaPerSecUSec)"
			same "cri: the container's memory.max" 67108864 "$(cat "$CG/$slice/$scope/memory.max" 2>&1)"
			runtime_knows cri /run/containerd/runc/k8s.io "$ctr"
			expect "cri: ExecSync" exec-ok "$cri" exec "$ctr" sh -c 'echo exec-ok'
			expect "cri: UpdateContainerResources (128 MiB, a quarter CPU)" "" "$cri" update "$ctr" 134217728 25000
			same "cri: update: MemoryMax" 134217728 "$(prop "$scope" MemoryMax)"
			same "cri: update: CPUQuotaPerSecUSec" 250ms "$(prop "$scope" CPUQuotaPerSecUSec)"
			same "cri: update: memory.max" 134217728 "$(cat "$CG/$slice/$scope/memory.max" 2>&1)"
			expect "cri: StopContainer" "" "$cri" stop "$ctr"
		fi
		expect "cri: RemoveContainer" "" "$cri" rm "$ctr"
		check "cri: the container's scope is gone" until_true 10 unit_gone "$scope"
	fi
	scope=cri-containerd-$pod.scope
	expect "cri: StopPodSandbox" "" "$cri" stopp "$pod"
	expect "cri: RemovePodSandbox" "" "$cri" rmp "$pod"
	check "cri: the sandbox's scope is gone" until_true 10 unit_gone "$scope"
	# The kubelet removes a pod's slice itself.
	systemctl stop kubepods.slice 2>/dev/null
}

s_engines() {
	t_podman
	t_docker
	t_ctr
	t_cri
}

# --------------------------------------------------------------- apparmor

s_apparmor() {
	SD=()
	local id=aa-$$ out
	# A profile that denies one read, loaded with apparmor_parser.
	cat >/etc/apparmor.d/hullvm-test <<-'EOF'
		abi <abi/3.0>,
		#include <tunables/global>
		profile hullvm-test flags=(attach_disconnected,mediate_deleted) {
		  #include <abstractions/base>
		  file,
		  capability,
		  network,
		  signal,
		  deny /etc/passwd r,
		}
	EOF
	out=$(apparmor_parser -r -W /etc/apparmor.d/hullvm-test 2>&1)
	check "apparmor: apparmor_parser loads hullvm-test${out:+ ($out)}" \
		grep -qx 'hullvm-test (enforce)' /sys/kernel/security/apparmor/profiles
	local script='cat /proc/self/attr/current; if cat /etc/passwd >/dev/null 2>&1; then echo passwd-read; else echo passwd-denied; fi'
	mkbundle "$W/$id" "" "" "$script"
	out=$(rt run --bundle "$W/$id" "$id" 2>&1 </dev/null)
	check "apparmor: without a profile the process is unconfined and reads /etc/passwd" \
		grep -qz 'unconfined.*passwd-read' <<<"$out" || echo "$out" | show
	jq '.process.apparmorProfile = "hullvm-test"' "$W/$id/config.json" >"$W/$id/c.json" &&
		mv "$W/$id/c.json" "$W/$id/config.json"
	out=$(rt run --bundle "$W/$id" "$id" 2>&1 </dev/null)
	check "apparmor: process.apparmorProfile hullvm-test: /proc/self/attr/current says 'hullvm-test (enforce)'" \
		grep -q '^hullvm-test (enforce)$' <<<"$out" || echo "$out" | show
	check "apparmor: ... and the profile's deny rule holds (/etc/passwd unreadable)" grep -q passwd-denied <<<"$out"
	rt delete -f "$id" >/dev/null 2>&1

	need_docker
	expect "apparmor: docker run: /proc/self/attr/current says 'docker-default (enforce)'" "docker-default (enforce)" \
		docker run --rm --network none hullvm-bb cat /proc/self/attr/current
}

# ------------------------------------------------------------------- criu

# Checkpoint and restore with CRIU (docs/checkpoint.md). A counter appends
# 1, 2, 3, … to /data/log (a bind mount of the host's DIR/data), a line a
# second: after a restore it must go on from where it stopped, never start
# again, so the log stays 1, 2, 3, … with nothing missing or repeated.
# shellcheck disable=SC2016 # the container's shell expands it
COUNTER='i=0; while :; do i=$((i+1)); echo $i >> /data/log; sleep 1; done'
# counter_bundle DIR CGROUPS_PATH [SCRIPT]: the counter's bundle (64 tasks).
counter_bundle() {
	mkbundle "$1" "$2" '{"pids": {"limit": 64}}' "${3:-$COUNTER}" || return 1
	mkdir -p "$1/data"
	jq --arg d "$1/data" '.mounts += [{destination: "/data", type: "bind", source: $d, options: ["rbind", "rw"]}]' \
		"$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
# counted LOG: the last number in LOG (0 before the first).
counted() {
	local n
	n=$(tail -1 "$1" 2>/dev/null)
	echo "${n:-0}"
}
above() { [ "$(counted "$1")" -gt "$2" ]; }
lines_at_least() { [ "$( { wc -l <"$1"; } 2>/dev/null || echo 0)" -ge "$2" ]; }
# consecutive LOG: 1, 2, 3, … up to its last line, nothing missing or repeated.
consecutive() { awk '$1 != NR { bad = 1 } END { exit bad || NR == 0 }' "$1"; }
# continues LOG: a log begun by a restored counter: it starts past 1 (where
# the checkpoint was) and goes up by one.
continues() { awk 'NR == 1 && $1 <= 1 { bad = 1 } NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad || NR == 0 }' "$1"; }
# grows_on WHAT LOG: a new number within 15 s, and the log still consecutive.
grows_on() {
	local n
	n=$(counted "$2")
	check "$1: the counter goes on (after $n)" until_true 15 above "$2" "$n" &&
		check "$1: ... from where it was: $(head -1 "$2")..$(counted "$2") with none missing or repeated" consecutive "$2"
}
# ran NAME CMD...: PASS or FAIL by CMD's status, its output shown on failure.
ran() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" = 0 ]; then pass "$name"; else
		fail "$name (exit $rc: $(tr '\n' ' ' <<<"$out" | cut -c1-400))"
		return 1
	fi
}
# refused NAME CMD...: CMD fails (its first line shown).
refused() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" != 0 ]; then pass "$name (exit $rc: $(head -1 <<<"$out" | cut -c1-300))"; else
		fail "$name (it succeeded)"
		return 1
	fi
}
run_quiet() { rt run -d --bundle "$W/$1" "$1" </dev/null >/dev/null 2>&1; }
gone_state() { ! rt state "$1" >/dev/null 2>&1; }

# The counter checkpointed (the container goes), restored under its id
# (the counter goes on, the restored init in the container's cgroup with
# its limits; exec, pause, kill and delete work on it), prestart and
# createRuntime hooks run again with the new init's pid.
t_criu_counter() {
	local id=cr-$$ dir=$W/cr-$$ cg=hullvm-criu/cr-$$ pid npid got
	counter_bundle "$dir" "/$cg"
	jq --arg w "$dir" '.hooks = {
		prestart: [{path: "/bin/sh", args: ["sh", "-c", "cat > \($w)/hook.prestart"]}],
		createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "cat > \($w)/hook.createRuntime"]}]}' \
		"$dir/config.json" >"$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
	run_quiet "$id"
	check "counter: run -d" is_status "$id" running || return
	until_true 15 above "$dir/data/log" 2
	pid=$(pid_of "$id")
	rm -f "$dir"/hook.*
	ran "counter: checkpoint --image-path --work-path (at $(counted "$dir/data/log"))" \
		rt checkpoint --image-path "$dir/img" --work-path "$dir/work" "$id" || return
	check "counter: the images are written (inventory.img)" test -s "$dir/img/inventory.img"
	check "counter: the checkpointed container is gone (state fails)" gone_state "$id"
	check "counter: its cgroup is gone" until_true 5 gone "$CG/$cg"
	check "counter: its init $pid is gone" until_true 5 gone "/proc/$pid"
	ran "counter: restore -d --image-path --work-path --bundle" \
		rt restore -d --image-path "$dir/img" --work-path "$dir/work" --bundle "$dir" "$id" || return
	check "counter: state says running" is_status "$id" running
	npid=$(pid_of "$id")
	check "counter: the restored init $npid is alive" test -d "/proc/$npid"
	grows_on "counter: restored" "$dir/data/log"
	same "counter: the restored init is in the container's cgroup" "/$cg" "$(cgroup_of "$npid")"
	same "counter: ... which has its limits (pids.max)" 64 "$(cat "$CG/$cg/pids.max" 2>&1)"
	got=$(jq -r .pid "$dir/hook.prestart" 2>&1)
	same "counter: the prestart hook ran on restore, with the restored init's pid" "$npid" "$got"
	got=$(jq -r .pid "$dir/hook.createRuntime" 2>&1)
	same "counter: the createRuntime hook ran on restore, with the restored init's pid" "$npid" "$got"
	got=$(rt exec "$id" sh -c 'echo exec-ok; cat /proc/self/cgroup' 2>&1)
	check "counter: exec into the restored container" grep -q exec-ok <<<"$got" || echo "$got" | show
	got=$(rt ps "$id" 2>&1)
	check "counter: ps lists the restored init" ps_lists "$got" "$npid" || echo "$got" | show
	rt pause "$id"
	check "counter: pause: paused" is_status "$id" paused
	rt resume "$id"
	check "counter: resume: running" is_status "$id" running
	rt kill "$id" KILL
	check "counter: kill KILL: stopped" until_true 10 is_status "$id" stopped
	ran "counter: delete" rt delete "$id"
	check "counter: delete: the cgroup is gone" until_true 5 gone "$CG/$cg"
}

# --leave-running, then a restore of the same images into a new id (own
# data directory) while the first still runs. (Which cgroup the new one
# lands in is not checked: Debian's runc 1.1.5 puts it back into the
# checkpointed container's; hull into its own, through cg_root.)
t_criu_leave_running() {
	local id=crl-$$ new=crl2-$$ dir=$W/crl-$$
	counter_bundle "$dir" "/hullvm-criu/$id"
	run_quiet "$id"
	check "leave-running: run -d" is_status "$id" running || return
	until_true 15 above "$dir/data/log" 2
	ran "leave-running: checkpoint --leave-running" \
		rt checkpoint --leave-running --image-path "$dir/img" --work-path "$dir/work" "$id" || return
	check "leave-running: the container still runs" is_status "$id" running
	grows_on "leave-running: the original" "$dir/data/log"
	counter_bundle "$W/$new" "/hullvm-criu/$new"
	jq --arg d "$W/$new/data" '(.mounts[] | select(.destination == "/data")).source = $d' \
		"$dir/config.json" | jq --arg cg "/hullvm-criu/$new" '.linux.cgroupsPath = $cg' >"$W/$new/config.json"
	ran "leave-running: restore the images into a new id $new (own data directory)" \
		rt restore -d --image-path "$dir/img" --work-path "$W/$new/work" --bundle "$W/$new" "$new" || return
	check "leave-running: both run" is_status "$new" running
	check "leave-running: $new counts in its own data directory" until_true 15 lines_at_least "$W/$new/data/log" 2
	check "leave-running: ... from where the checkpoint was: $(head -1 "$W/$new/data/log")..$(counted "$W/$new/data/log")" \
		continues "$W/$new/data/log"
	rt delete -f "$id" >/dev/null 2>&1
	rt delete -f "$new" >/dev/null 2>&1
	check "leave-running: delete -f both" gone_state "$new"
}

# An iterative migration: a pre-dump (the container runs on), then the
# final dump against it (--parent-path), then the restore.
t_criu_pre_dump() {
	local id=crp-$$ dir=$W/crp-$$
	counter_bundle "$dir" "/hullvm-criu/$id"
	run_quiet "$id"
	check "pre-dump: run -d" is_status "$id" running || return
	until_true 15 above "$dir/data/log" 2
	refused "pre-dump: an absolute --parent-path is refused" \
		rt checkpoint --parent-path "$dir/pre" --image-path "$dir/img2" "$id"
	ran "pre-dump: checkpoint --pre-dump" rt checkpoint --pre-dump --image-path "$dir/pre" --work-path "$dir/work-pre" "$id" || return
	check "pre-dump: the container still runs" is_status "$id" running
	grows_on "pre-dump: after the pre-dump" "$dir/data/log"
	ran "pre-dump: checkpoint --parent-path ../pre (the final dump)" \
		rt checkpoint --parent-path ../pre --image-path "$dir/img" --work-path "$dir/work" "$id" || return
	check "pre-dump: the final images point at the pre-dump (img/parent)" test -e "$dir/img/parent/inventory.img"
	check "pre-dump: the container is gone" gone_state "$id"
	ran "pre-dump: restore" rt restore -d --image-path "$dir/img" --work-path "$dir/work" --bundle "$dir" "$id" || return
	grows_on "pre-dump: restored" "$dir/data/log"
	rt delete -f "$id" >/dev/null 2>&1
}

# An established TCP connection inside the container (a client sends the
# counter to a server over 127.0.0.1), in a network namespace given by
# path as a CNI plugin makes it: refused without --tcp-established, the
# container running on; kept across checkpoint and restore with it. As
# podman does, the network namespace is made anew for the restore: CRIU
# 3.17 leaves its network lock (iptables DROP rules) in a namespace that
# outlives the dump.
t_criu_tcp() {
	local id=crt-$$ dir=$W/crt-$$ ns=hullvm-crt
	ip netns add "$ns" && ip -n "$ns" link set lo up
	# shellcheck disable=SC2016 # the container's shell expands it
	counter_bundle "$dir" "/hullvm-criu/$id" \
		'sleep 100000 | nc -l -p 1234 > /data/log & sleep 1; i=0; while :; do i=$((i+1)); echo $i; sleep 1; done | nc 127.0.0.1 1234'
	jq --arg p "/var/run/netns/$ns" '(.linux.namespaces[] | select(.type == "network")).path = $p' \
		"$dir/config.json" >"$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
	run_quiet "$id"
	check "tcp: run -d in network namespace $ns (by path)" is_status "$id" running || return
	until_true 15 above "$dir/data/log" 2
	refused "tcp: checkpoint without --tcp-established is refused" \
		rt checkpoint --image-path "$dir/img0" --work-path "$dir/work0" "$id"
	check "tcp: ... and the container runs on" is_status "$id" running
	grows_on "tcp: after the refusal" "$dir/data/log"
	ran "tcp: checkpoint --tcp-established" \
		rt checkpoint --tcp-established --image-path "$dir/img" --work-path "$dir/work" "$id" || return
	ip netns del "$ns" && ip netns add "$ns" && ip -n "$ns" link set lo up
	ran "tcp: restore --tcp-established" \
		rt restore -d --tcp-established --image-path "$dir/img" --work-path "$dir/work" --bundle "$dir" "$id" || return
	grows_on "tcp: the connection survived" "$dir/data/log"
	same "tcp: the restored init is in $ns" "$(stat -Lc %i "/var/run/netns/$ns")" \
		"$(stat -Lc %i "/proc/$(pid_of "$id")/ns/net" 2>&1)"
	rt delete -f "$id" >/dev/null 2>&1
	ip netns del "$ns"
}

# The caller's terminal as the container's stdio: CRIU cannot reach it
# from the container's mounts; checkpoint fails and the container runs on.
t_criu_foreign_tty() {
	local id=crtty-$$ dir=$W/crtty-$$ holder
	counter_bundle "$dir" "/hullvm-criu/$id"
	script -qfc "$RUNTIME --root $ROOT run -d --bundle $dir $id; sleep 120" /dev/null >/dev/null 2>&1 &
	holder=$!
	check "terminal: run -d with a terminal of the caller's as stdio" until_true 15 is_status "$id" running || return
	refused "terminal: checkpoint is refused" rt checkpoint --image-path "$dir/img" --work-path "$dir/work" "$id"
	check "terminal: ... and the container runs on" is_status "$id" running
	check "terminal: ... with no checkpoint left behind" test ! -e "$dir/img/inventory.img"
	rt delete -f "$id" >/dev/null 2>&1
	kill "$holder" 2>/dev/null
}

# podman with the configuration of docs/systemd-hosts.md (the systemd
# cgroup manager: the restored processes must land in the container's
# scope again), then with cgroupfs and a terminal.
t_criu_podman() {
	local p=(podman --runtime "$RUNTIME") name=hullvm-cr1 data=$W/cr-podman id
	mkdir -p "$data"
	e podman import "$W/bb.tar" localhost/hullvm-bb:latest
	podman_counter podman "$name" "$data" && {
		id=$("${p[@]}" inspect -f '{{.Id}}' "$name")
		ran "podman: container checkpoint" "${p[@]}" container checkpoint "$name" &&
			same "podman: the container is exited" exited "$("${p[@]}" inspect -f '{{.State.Status}}' "$name" 2>&1)" &&
			ran "podman: container restore" "${p[@]}" container restore "$name" &&
			same "podman: the container runs" running "$("${p[@]}" inspect -f '{{.State.Status}}' "$name" 2>&1)" &&
			grows_on "podman: restored" "$data/log" &&
			same "podman: the restored init is in its scope machine.slice/libpod-$id.scope" \
				"/machine.slice/libpod-$id.scope" "$(cgroup_of "$("${p[@]}" inspect -f '{{.State.Pid}}' "$name")")" &&
			expect "podman: exec into the restored container" exec-ok "${p[@]}" exec "$name" sh -c 'echo exec-ok' &&
			ran "podman: container checkpoint --export (migration)" \
				"${p[@]}" container checkpoint --export "$W/cr1.tar.gz" "$name" &&
			ran "podman: container restore --import --name hullvm-cr2" \
				"${p[@]}" container restore --import "$W/cr1.tar.gz" --name hullvm-cr2 &&
			same "podman: the imported container runs" running \
				"$("${p[@]}" inspect -f '{{.State.Status}}' hullvm-cr2 2>&1)" &&
			grows_on "podman: imported" "$data/log"
	}
	"${p[@]}" rm -f -t 0 "$name" hullvm-cr2 >/dev/null 2>&1
	# With a terminal: the restored pty master goes to conmon over --console-socket.
	p=(podman --runtime "$RUNTIME" --cgroup-manager cgroupfs)
	data=$W/cr-podman-t
	podman_counter "podman -t" hullvm-cr3 "$data" -t && {
		ran "podman: -t: container checkpoint" "${p[@]}" container checkpoint hullvm-cr3 &&
			ran "podman: -t: container restore" "${p[@]}" container restore hullvm-cr3 &&
			grows_on "podman: -t: restored" "$data/log" &&
			expect "podman: -t: the restored process still has its terminal" /dev/pts/0 \
				"${p[@]}" exec hullvm-cr3 sh -c 'readlink /proc/1/fd/0'
	}
	"${p[@]}" rm -f -t 0 hullvm-cr3 >/dev/null 2>&1
}

# podman_counter WHAT NAME DATA [FLAG...]: podman run -d the counter.
podman_counter() {
	local what=$1 name=$2 data=$3
	shift 3
	mkdir -p "$data"
	ran "$what: run -d the counter (--runtime $RUNTIME)" "${p[@]}" run -d "$@" --name "$name" --network none \
		-v "$data:/data" localhost/hullvm-bb sh -c "$COUNTER" || return
	check "$what: the counter counts" until_true 20 above "$data/log" 2
}

ctr_gone() {
	"${c[@]}" task kill -s KILL "$1" >/dev/null 2>&1
	until_true 10 sh -c "${c[*]} task ls | grep -q '^$1 .*STOPPED'"
	"${c[@]}" task rm "$1" >/dev/null 2>&1
	"${c[@]}" container rm "$1" >/dev/null 2>&1
}

# containerd 1.6's ctr: a task checkpoint into a directory (the task runs
# on), a container checkpoint into an image and a restore from it. The
# counter runs on after the checkpoint until it is killed: the restored one
# starts a new log, which must go on from the checkpoint's number.
t_criu_ctr() {
	local c=(ctr -n hullvm-cr) name=hullvm-cr1 data=$W/cr-ctr
	mkdir -p "$data"
	e systemctl start containerd
	[ "$RC" = 0 ] || fail "ctr: systemctl start containerd ($(why))"
	oci_image hullvm-cr docker.io/library/hullvm-bb:latest "$W/rootfs" "{$PATH_ENV,\"Cmd\":[\"sh\"]}"
	ran "ctr: run -d the counter (--runc-binary /usr/local/bin/hull)" "${c[@]}" run -d \
		--runc-binary /usr/local/bin/hull --mount "type=bind,src=$data,dst=/data,options=rbind:rw" \
		docker.io/library/hullvm-bb:latest "$name" sh -c "$COUNTER" || return
	check "ctr: the counter counts" until_true 20 above "$data/log" 2 &&
		ran "ctr: task checkpoint --image-path (leaves the task running)" \
			"${c[@]}" task checkpoint --image-path "$W/cr-ctr-img" "$name" &&
		check "ctr: the images are written" test -s "$W/cr-ctr-img/inventory.img" &&
		same "ctr: the task is RUNNING" RUNNING "$("${c[@]}" task ls | awk -v n="$name" '$1 == n { print $3 }')" &&
		ran "ctr: container checkpoint --task --rw into an image" \
			"${c[@]}" container checkpoint --task --rw "$name" hullvm/cr1:ckpt && {
		ctr_gone "$name"
		mv "$data/log" "$data/log.before"
		ran "ctr: container restore --live --rw from the image" \
			"${c[@]}" container restore --live --rw "$name" hullvm/cr1:ckpt &&
			same "ctr: the restored task is RUNNING" RUNNING \
				"$("${c[@]}" task ls | awk -v n="$name" '$1 == n { print $3 }')" &&
			check "ctr: the restored counter counts" until_true 20 lines_at_least "$data/log" 2 &&
			check "ctr: ... from the checkpoint's number: $(head -1 "$data/log")..$(counted "$data/log") (before: 1..$(counted "$data/log.before"))" \
				continues "$data/log" &&
			runtime_knows ctr /run/containerd/runc/hullvm-cr "$name"
	}
	ctr_gone "$name"
}

s_criu() {
	SD=()
	local out
	out=$(criu check 2>&1)
	check "criu: criu check says 'Looks good.' ($(criu --version | head -1))" grep -q "Looks good" <<<"$out" ||
		echo "$out" | show
	out=$(rt features 2>&1)
	check "criu: features says org.opencontainers.runc.checkpoint.enabled true" json_has "$out" \
		'.annotations["org.opencontainers.runc.checkpoint.enabled"] == "true"'
	t_criu_counter
	t_criu_leave_running
	t_criu_pre_dump
	t_criu_tcp
	t_criu_foreign_tty
	t_criu_podman
	t_criu_ctr
	rmdir "$CG/hullvm-criu" 2>/dev/null
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
t=$(ms)
rm -rf "$W"
mkdir -p "$W"
cp -a /payload/rootfs "$W/rootfs" || exit 1
tar -C "$W/rootfs" -cf "$W/bb.tar" .
# hull's place in docs/systemd-hosts.md's configurations, and those
# configurations, before any engine starts.
ln -sf "$RUNTIME" /usr/local/bin/hull
mkdir -p /etc/docker /etc/containers /etc/containerd
cp "$CONF/daemon.json" /etc/docker/daemon.json
cp "$CONF/containers.conf" /etc/containers/containers.conf
cp "$CONF/containerd-config.toml" /etc/containerd/config.toml
t=$(($(ms) - t))
echo "(setup: $((t / 1000)).$((t % 1000 / 100)) s)"
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
