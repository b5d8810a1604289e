# Helpers shared by the engine scripts in this directory. Source it; do not run it.
#
# A script calls `eng_setup NAME "$@"` first. That picks the runtime under test
# (first argument, default: the release build of hull), makes a private temp
# dir ($ENG_TMP) and installs an EXIT trap that undoes everything the script
# registered with `eng_defer`, then sweeps for leftovers: processes that still
# mention $ENG_TMP, the script's cgroups, mounts under $ENG_TMP, the dir itself.
#
# Checks report through `eng_pass NAME` and `eng_fail NAME WHY`; `eng_finish`
# prints the tally and sets the exit status (non-zero when any check failed).

set -uo pipefail

ENG_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=oci-layout.sh
source "$ENG_REPO/integration/engines/oci-layout.sh"
ENG_PASSED=0
ENG_FAILED=0
ENG_DEFERRED=()      # shell snippets run in reverse order at exit
ENG_CGROUPS=()       # cgroup dir names (relative to a controller root) to sweep
ENG_TMP=""
ENG_CG_TOP_BEFORE=""  # /sys/fs/cgroup's entries when the script began
ENG_TIMEOUT=${ENG_TIMEOUT:-60}   # seconds allowed for any one engine command

eng_log() { printf '%s: %s\n' "$ENG_NAME" "$*" >&2; }

# eng_setup NAME [RUNTIME]
eng_setup() {
	ENG_NAME=$1
	shift
	local runtime=${1:-$ENG_REPO/target/release/hull}
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL setup: $ENG_NAME must run as root"
		exit 1
	fi
	if [ ! -x "$runtime" ] || [ -d "$runtime" ]; then
		echo "FAIL setup: runtime $runtime is not an executable file"
		exit 1
	fi
	RUNTIME=$(readlink -f "$runtime")
	ENG_T0=$(date +%s.%N)
	ENG_CG_TOP_BEFORE=$(ls /sys/fs/cgroup)
	ENG_TMP=$(mktemp -d "/tmp/eng-$ENG_NAME.XXXXXX")
	chmod 755 "$ENG_TMP"
	# The engines run from the work dir: conmon writes an empty file named
	# `oom` into its working directory whenever the container's cgroup
	# reports an OOM event (on cgroup v1 removing the cgroup fires one too,
	# with runc as with hull), which left `oom` at the repository's root.
	cd "$ENG_TMP" || exit 1
	trap eng_teardown EXIT
	trap 'eng_log "interrupted"; exit 130' INT TERM HUP
	eng_log "runtime $RUNTIME, work dir $ENG_TMP"
}

# eng_cri_config_head DIR STATE SOCK SANDBOX_IMAGE: the first part of a
# containerd config.toml with the CRI plugin on (root DIR/root, state STATE,
# stream server on loopback, network namespaces under the state dir); the
# caller appends its cni and containerd tables. Without CAP_SYS_RESOURCE (as
# on these machines) the sandbox's oom_score_adj of -998 cannot be written:
# containerd is then told to keep it at its own.
eng_cri_config_head() {
	local restrict=false capeff
	capeff=$(awk '/^CapEff/ { print $2 }' /proc/self/status)
	(((0x$capeff >> 24) & 1)) || restrict=true
	cat <<-EOF
		version = 2
		root = "$1/root"
		state = "$2"
		[grpc]
		  address = "$3"
		[ttrpc]
		  address = "$3.ttrpc"
		[debug]
		  address = "$1/debug.sock"
		[metrics]
		  address = ""
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$1/opt"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "$4"
		  stream_server_address = "127.0.0.1"
		  stream_server_port = "0"
		  netns_mounts_under_state_dir = true
		  restrict_oom_score_adj = $restrict
	EOF
}

# eng_defer SNIPPET: run SNIPPET (with eval) at exit, newest first.
eng_defer() { ENG_DEFERRED+=("$1"); }

# eng_own_cgroup PATH: a cgroup path (like /eng-ctr-123) that the script's
# containers live under; it is emptied and removed at exit in every hierarchy.
eng_own_cgroup() { ENG_CGROUPS+=("${1#/}"); }

eng_elapsed() { echo "$(date +%s.%N) $1" | awk '{ printf "%.1f", $1 - $2 }'; }

eng_pass() {
	echo "PASS $1"
	ENG_PASSED=$((ENG_PASSED + 1))
}

eng_fail() {
	echo "FAIL $1: $2"
	ENG_FAILED=$((ENG_FAILED + 1))
}

# A fatal setup problem: report it and stop (the EXIT trap still cleans up).
eng_fatal() {
	eng_fail setup "$1"
	eng_finish
}

eng_finish() {
	local total
	total=$(eng_elapsed "$ENG_T0")
	echo "RESULT $ENG_NAME passed=$ENG_PASSED failed=$ENG_FAILED seconds=$total"
	[ "$ENG_FAILED" = 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------- packages

# eng_need PACKAGE...: apt-get install the packages that are not installed.
# Waits for the dpkg lock (other jobs on the machine may be installing too) and
# makes sure no service gets started by a package's postinst.
eng_need() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	local t0 rc policy=/usr/sbin/policy-rc.d made_policy=""
	t0=$(date +%s.%N)
	eng_log "installing ${missing[*]}"
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
	fi
	local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >"$ENG_TMP/apt.log" 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q update >>"$ENG_TMP/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >>"$ENG_TMP/apt.log" 2>&1
		rc=$?
	fi
	[ -n "$made_policy" ] && rm -f "$policy"
	if [ $rc != 0 ]; then
		eng_fatal "apt-get install ${missing[*]} failed: $(tail -n 3 "$ENG_TMP/apt.log" | tr '\n' ' ')"
	fi
	eng_log "installed ${missing[*]} in $(eng_elapsed "$t0")s"
}

# ------------------------------------------------------------------ images

# eng_rootfs_tar FILE: a tarball of a busybox root filesystem (static busybox).
eng_rootfs_tar() {
	local dir=$ENG_TMP/rootfs
	rm -rf "$dir"
	"$ENG_REPO/scripts/busybox-rootfs.sh" "$dir" || eng_fatal "busybox-rootfs.sh failed"
	tar -C "$dir" -cf "$1" . || eng_fatal "could not tar the rootfs"
}

# eng_ctr_image NAME ROOTFS_DIR CONFIG: the image made by oci_layout_tar
# (oci-layout.sh), imported with "${CTR[@]}" (the caller's ctr with address
# and namespace).
eng_ctr_image() {
	local name=$1 dir=$ENG_TMP/image-${1##*/}
	oci_layout_tar "$name" "$2" "$3" "$dir" || eng_fatal "could not make the image layout of $name from $2"
	eng_run "${CTR[@]}" image import "$dir.tar"
	[ "$RC" = 0 ] || eng_fatal "ctr image import $name: $(eng_why)"
}

# --------------------------------------------------------- running commands

# eng_run CMD...: run CMD with a time limit; sets OUT (stdout), ERR (stderr), RC.
eng_run() {
	local o=$ENG_TMP/.out e=$ENG_TMP/.err
	timeout -k 5 "$ENG_TIMEOUT" "$@" >"$o" 2>"$e" </dev/null
	RC=$?
	OUT=$(tr -d '\0' <"$o")
	ERR=$(tr -d '\0' <"$e")
	return 0
}

# One line describing the last eng_run, for a FAIL message.
eng_why() {
	local s="exit $RC"
	[ "$RC" = 124 ] && s="timed out after ${ENG_TIMEOUT}s"
	[ -n "$OUT" ] && s="$s; stdout: $(eng_oneline "$OUT")"
	[ -n "$ERR" ] && s="$s; stderr: $(eng_oneline "$ERR")"
	echo "$s"
}

# Squash text onto one line and keep its end (errors come last), ~600 chars.
eng_oneline() {
	local s
	s=$(printf '%s' "$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | tr '\r\n\t' '   ' | tr -s ' ')
	[ ${#s} -gt 600 ] && s="...${s: -600}"
	printf '%s' "$s"
}

# eng_expect CHECK WANT_RC WANT_TEXT CMD...: PASS when CMD exits WANT_RC and
# its stdout contains WANT_TEXT (empty: anything).
eng_expect() {
	local check=$1 want_rc=$2 want_text=$3
	shift 3
	eng_run "$@"
	if [ "$RC" != "$want_rc" ]; then
		eng_fail "$check" "want exit $want_rc; $(eng_why)"
	elif [ -n "$want_text" ] && ! grep -qF -- "$want_text" <<<"$OUT"; then
		eng_fail "$check" "want \"$want_text\" in stdout; $(eng_why)"
	else
		eng_pass "$check"
	fi
}

# eng_expect_state CHECK NAME STATE CMD...: CMD succeeds and, within 10 s, the
# engine reports NAME in STATE (through the script's state_of/state_is).
eng_expect_state() {
	local check=$1 name=$2 want=$3
	shift 3
	eng_run "$@"
	if [ "$RC" != 0 ]; then
		eng_fail "$check" "$(eng_why)"
	elif ! eng_wait_for 10 state_is "$name" "$want"; then
		eng_fail "$check" "state is '$(state_of "$name")', want $want"
	else
		eng_pass "$check"
	fi
}

# eng_runtime_state ID [ROOT]: the container really runs on the runtime under
# test, which reads its state (from ROOT, or its default state directory).
eng_runtime_state() {
	local id=$1 root=(${2:+--root "$2"})
	eng_run "$RUNTIME" "${root[@]}" state "$id"
	if [ "$RC" = 0 ] && grep -Eq '"status": ?"running"' <<<"$OUT"; then
		eng_pass runtime-state
	else
		eng_fail runtime-state "$RUNTIME ${root[*]} state $id; $(eng_why)"
	fi
}

# eng_tutorial ENGINE IMAGE [VAR=VALUE...]: runs the tutorial's section 7
# (docs/examples/07-engines.sh) for ENGINE against this script's daemon, with
# the variables given, and checks what the text claims: the program is pid 1,
# and ps run by exec sees `sleep` as pid 1.
eng_tutorial() {
	local engine=$1 image=$2
	shift 2
	eng_run env HULL="$RUNTIME" "$@" "$ENG_REPO/docs/examples/07-engines.sh" "$image" "$engine"
	if [ "$RC" = 0 ] && grep -q "^$engine: I am pid 1\$" <<<"$OUT" && grep -Eq '^ *1 sleep$' <<<"$OUT"; then
		eng_pass tutorial
	else
		eng_fail tutorial "docs/examples/07-engines.sh $image $engine; $(eng_why)"
	fi
}

# eng_wait_for SECONDS CMD...: retry CMD every 0.2 s until it succeeds.
eng_wait_for() {
	local deadline
	deadline=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# ------------------------------------------------------------------ daemons

# eng_alive PID: the process exists and is not a zombie (PID 1 here reaps slowly).
eng_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# eng_stop_pid PID NAME: SIGTERM, up to 15 s, then SIGKILL.
eng_stop_pid() {
	local pid=$1 name=$2 i
	[ -n "$pid" ] || return 0
	eng_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 75); do
		eng_alive "$pid" || return 0
		sleep 0.2
	done
	eng_log "$name (pid $pid) ignored SIGTERM, killing it"
	kill -KILL "$pid" 2>/dev/null
	for i in $(seq 25); do
		eng_alive "$pid" || return 0
		sleep 0.2
	done
}

# eng_wait_socket PATH PID NAME: wait (20 s) for a daemon's socket to appear.
eng_wait_socket() {
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		eng_alive "$2" || break
		sleep 0.2
	done
	return 1
}

# eng_start_containerd DIR: a private containerd (CRI off) in its own mount
# namespace, so that none of its mounts can outlive it on the host. Sets
# CTRD_SOCK and CTRD_PID. A DIR/config.toml written beforehand is used as it
# is (its grpc address must be DIR/containerd.sock).
eng_start_containerd() {
	local dir=$1
	mkdir -p "$dir"
	[ -e "$dir/config.toml" ] || cat >"$dir/config.toml" <<-EOF
		version = 2
		root = "$dir/root"
		state = "$dir/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$dir/containerd.sock"
		[ttrpc]
		  address = "$dir/containerd.sock.ttrpc"
		[debug]
		  address = "$dir/debug.sock"
		[metrics]
		  address = ""
	EOF
	CTRD_SOCK=$dir/containerd.sock
	unshare --mount --propagation private containerd --config "$dir/config.toml" \
		>"$dir/containerd.log" 2>&1 &
	CTRD_PID=$!
	eng_defer "eng_stop_pid $CTRD_PID containerd"
	eng_wait_socket "$CTRD_SOCK" "$CTRD_PID" ||
		eng_fatal "containerd did not start: $(tail -n 5 "$dir/containerd.log" | tr '\n' ' ')"
	eng_log "containerd pid $CTRD_PID, socket $CTRD_SOCK"
}

# eng_podman_conf DIR: private containers.conf and storage.conf under DIR
# (overlay storage, cgroupfs, file events and locks), exported for podman.
# This host's hard RLIMIT_NOFILE is below podman's default of 1048576 for
# root, and without CAP_SYS_RESOURCE no runtime can raise a limit past the
# hard one: containers get the host's hard limits instead.
eng_podman_conf() {
	local dir=$1 nofile nproc pid_max
	nofile=$(ulimit -Hn)
	nproc=$(ulimit -Hu)
	pid_max=$(cat /proc/sys/kernel/pid_max)
	[ "$nofile" = unlimited ] && nofile=1048576
	if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
	mkdir -p "$dir"
	cat >"$dir/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

		[network]
		network_config_dir = "$dir/networks"

		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		events_logfile_path = "$dir/events.log"
		tmp_dir = "$dir/tmp"
		lock_type = "file"
	EOF
	cat >"$dir/storage.conf" <<-EOF
		[storage]
		driver = "overlay"
		graphroot = "$dir/storage"
		runroot = "$dir/run"
	EOF
	export CONTAINERS_CONF=$dir/containers.conf
	export CONTAINERS_STORAGE_CONF=$dir/storage.conf
}

# eng_start_dockerd DIR CGROUP_PARENT NAME=RUNTIME...: a private dockerd
# (after eng_start_containerd, on that containerd and in its mount namespace:
# dockerd mounts the containers' rootfs, and the shim that containerd starts
# must see it), with no networking of its own (no iptables, no bridge) and
# the runtimes registered under their names (`docker run --runtime NAME`).
# Exports DOCKER_HOST and DOCKER_CONFIG; sets DOCKERD_PID and DOCKER, the
# client that matches this dockerd (a newer one may be earlier on PATH).
eng_start_dockerd() {
	local dir=$1 parent=$2 rt runtimes=()
	shift 2
	for rt in "$@"; do runtimes+=(--add-runtime "$rt"); done
	# dockerd 20.10 always writes its trust key to /etc/docker/key.json and
	# makes /run/docker/plugins; take them away again when this run made them.
	[ -e /etc/docker/key.json ] || eng_defer "rm -f /etc/docker/key.json"
	[ -e /run/docker ] || eng_defer "rmdir /run/docker/plugins /run/docker"
	mkdir -p "$dir/client"
	# podman reads DOCKER_CONFIG too (for registry logins): give it a file.
	echo '{}' >"$dir/client/config.json"
	echo '{}' >"$dir/daemon.json"
	nsenter --target "$CTRD_PID" --mount \
		dockerd --config-file "$dir/daemon.json" \
		--containerd "$CTRD_SOCK" \
		--data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
		--host "unix://$dir/docker.sock" \
		--iptables=false --ip6tables=false --ip-masq=false --bridge=none \
		--storage-driver overlay2 --cgroup-parent "$parent" \
		"${runtimes[@]}" \
		>"$dir/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	eng_defer "eng_stop_pid $DOCKERD_PID dockerd"
	export DOCKER_HOST=unix://$dir/docker.sock
	export DOCKER_CONFIG=$dir/client
	DOCKER=(/usr/bin/docker)
	# shellcheck disable=SC2016   # expanded when the deferred snippet runs
	eng_defer 'timeout 30 /usr/bin/docker rm --force $(timeout 10 /usr/bin/docker ps --all --quiet)'
	if ! eng_wait_socket "$dir/docker.sock" "$DOCKERD_PID" ||
		! eng_wait_for 20 "${DOCKER[@]}" version; then
		eng_fatal "dockerd did not start: $(tail -n 5 "$dir/dockerd.log" | tr '\n' ' ')"
	fi
	eng_log "dockerd pid $DOCKERD_PID, socket $dir/docker.sock"
}

# ----------------------------------------------------------------- teardown

# Kill the processes that are in any of the script's cgroups (thawing frozen
# ones first, or SIGKILL would wait forever), then remove those cgroups.
eng_sweep_cgroups() {
	local rel dirs=() d i
	eng_sweep_plain_cgroup_dirs
	for rel in "${ENG_CGROUPS[@]}"; do
		for d in /sys/fs/cgroup/*/"$rel" /sys/fs/cgroup/"$rel"; do
			if [ ! -e "$d/cgroup.procs" ]; then continue; fi
			mapfile -t -O ${#dirs[@]} dirs < <(find "$d" -depth -type d)
		done
	done
	[ ${#dirs[@]} = 0 ] && return 0
	for d in "${dirs[@]}"; do
		[ -e "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		[ -e "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
		xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
	done
	for d in "${dirs[@]}"; do
		for i in $(seq 25); do
			rmdir "$d" 2>/dev/null && break
			[ -d "$d" ] || break
			xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
			sleep 0.2
		done
		[ -d "$d" ] && eng_log "could not remove cgroup $d"
	done
}

# podman (cgroupfs on v1) makes its conmon cgroup with mkdir -p in every v1
# controller it knows, also where this host mounts none (hugetlb, net_cls,
# net_prio, perf_event): plain directories on the cgroup tmpfs, each with a
# plain `tasks` file, that rmdir cannot remove. Remove ours, and such a
# controller directory too if it was not there when the script began.
eng_sweep_plain_cgroup_dirs() {
	local top rel
	for top in /sys/fs/cgroup/*/; do
		top=${top%/}
		mountpoint -q "$top" && continue
		for rel in "${ENG_CGROUPS[@]}"; do
			[ -n "$rel" ] && [ -e "$top/$rel" ] && rm -rf "${top:?}/${rel:?}"
		done
		grep -qxF "${top##*/}" <<<"$ENG_CG_TOP_BEFORE" || rmdir "$top" 2>/dev/null
	done
	return 0
}

# Processes whose command line mentions the work dir: shims, conmons, daemons.
eng_sweep_processes() {
	local p pids=() argv=()
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		mapfile -d "" argv 2>/dev/null <"/proc/$p/cmdline" || continue
		[[ "${argv[*]}" == *"$ENG_TMP"* ]] && pids+=("$p")
	done
	[ ${#pids[@]} = 0 ] && return 0
	eng_log "killing leftover processes ${pids[*]}"
	kill -KILL "${pids[@]}" 2>/dev/null
	sleep 0.5
}

eng_sweep_mounts() {
	local m
	[ -n "$ENG_TMP" ] || return 0
	findmnt -rn -o TARGET | grep -F -- "$ENG_TMP" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
			eng_log "could not unmount $m"
	done
}

eng_teardown() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	for ((i = ${#ENG_DEFERRED[@]} - 1; i >= 0; i--)); do
		eval "${ENG_DEFERRED[$i]}" >/dev/null 2>&1
	done
	if [ -n "$ENG_TMP" ] && [ -d "$ENG_TMP" ]; then
		eng_sweep_processes
		eng_sweep_cgroups
		eng_sweep_mounts
		if [ -n "${ENG_KEEP:-}" ]; then
			eng_log "kept $ENG_TMP (ENG_KEEP is set)"
		else
			rm -rf --one-file-system "$ENG_TMP"
		fi
	else
		eng_sweep_cgroups
	fi
	exit $rc
}
