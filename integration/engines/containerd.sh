#!/bin/bash
# containerd 1.6 + ctr, with the runtime under test behind the runc v2 shim.
#
# Usage: integration/engines/containerd.sh [RUNTIME]   (default: target/release/hull)
#
# Starts a private containerd (CRI plugin off, own root/state/sockets, own
# mount namespace), imports a busybox image built from a tarball, and drives
# the shim's calls into the runtime: create/start/delete through `ctr run`,
# exec, ps, pause/resume, kill, and the cgroup reads behind `task metrics`.

# Container commands are single-quoted on purpose (SC2016); some functions
# only run through eng_defer / eng_wait_for (SC2317).
# shellcheck disable=SC2016,SC2317
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_setup containerd "$@"
eng_need busybox-static containerd

NS=eng-ctr-$$                       # containerd namespace, also the cgroup parent
IMAGE=docker.io/library/eng-bb:latest
RUNTIME_ROOT=/run/containerd/runc/$NS   # where the shim keeps the runtime's state
eng_own_cgroup "/$NS"
eng_defer "rm -rf '$RUNTIME_ROOT'"

eng_start_containerd "$ENG_TMP/containerd"

CTR=(ctr --address "$CTRD_SOCK" --namespace "$NS")
# `ctr run` with the runtime under test as the shim's runc binary.
CTR_RUN=("${CTR[@]}" run --runtime io.containerd.runc.v2 --runc-binary "$RUNTIME")

# On the way out: stop and delete whatever containers are left, then the
# namespace, all before containerd itself is stopped.
ctr_cleanup() {
	local id
	for id in $("${CTR[@]}" container ls -q); do
		timeout 10 "${CTR[@]}" task kill -s SIGKILL "$id"
		timeout 10 "${CTR[@]}" task rm -f "$id"
		timeout 10 "${CTR[@]}" container rm "$id"
	done
	timeout 10 "${CTR[@]}" image rm "$IMAGE"
	timeout 10 "${CTR[@]}" namespace rm "$NS"
}
eng_defer ctr_cleanup

# ------------------------------------------------------------------- image

"$ENG_REPO/scripts/busybox-rootfs.sh" "$ENG_TMP/rootfs" || eng_fatal "busybox-rootfs.sh failed"
eng_ctr_image "$IMAGE" "$ENG_TMP/rootfs" '{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}'

# Status column of `ctr task ls` for a task (RUNNING, PAUSED, STOPPED...).
task_status() { "${CTR[@]}" task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { "${CTR[@]}" task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
status_is() { [ "$(task_status "$1")" = "$2" ]; }

# ------------------------------------------------------------------ checks

# A foreground container: its output comes back and its exit code is ctr's.
eng_expect run-rm 7 "hello from $NS" \
	"${CTR_RUN[@]}" --rm "$IMAGE" "$NS-fg" sh -c "echo hello from $NS; exit 7"

# A detached task that stays up for the checks below (sleep ignores SIGTERM
# as PID 1, so it only goes away with SIGKILL).
ID=$NS-bg
eng_run "${CTR_RUN[@]}" -d "$IMAGE" "$ID" sleep 600
if [ "$RC" != 0 ]; then
	eng_fail run-detached "$(eng_why)"
elif ! eng_wait_for 10 status_is "$ID" RUNNING; then
	eng_fail run-detached "task status is '$(task_status "$ID")', want RUNNING"
else
	eng_pass run-detached
fi

# The task really runs on the runtime under test: it can read its state.
eng_runtime_state "$ID" "$RUNTIME_ROOT"

# exec: output and exit code of a second process in the running container.
eng_expect exec 3 "exec in $ID" \
	"${CTR[@]}" task exec --exec-id eng-exec1 "$ID" sh -c "echo exec in $ID; exit 3"

# ps: the runtime's `ps` lists the task's init process.
pid=$(task_pid "$ID")
eng_run "${CTR[@]}" task ps "$ID"
if [ "$RC" != 0 ]; then
	eng_fail ps "$(eng_why)"
elif [ -z "$pid" ] || ! awk 'NR > 1 { print $1 }' <<<"$OUT" | grep -qx -- "$pid"; then
	eng_fail ps "init pid '$pid' not listed; $(eng_why)"
else
	eng_pass ps
fi

# pause / resume, seen through the task status.
state_of() { task_status "$1"; }
state_is() { status_is "$1" "$2"; }
eng_expect_state pause "$ID" PAUSED "${CTR[@]}" task pause "$ID"
eng_expect_state resume "$ID" RUNNING "${CTR[@]}" task resume "$ID"

# metrics: the shim reads the container's cgroup (v1: memory.usage_in_bytes,
# v2: memory.usage) and pids.current.
eng_run "${CTR[@]}" task metrics "$ID"
if [ "$RC" != 0 ]; then
	eng_fail metrics "$(eng_why)"
elif ! grep -q '^memory\.usage' <<<"$OUT" || ! grep -q '^pids\.current' <<<"$OUT"; then
	eng_fail metrics "no memory.usage / pids.current rows; $(eng_why)"
else
	eng_pass metrics
fi

# kill: SIGKILL stops the task.
eng_run "${CTR[@]}" task kill -s SIGKILL "$ID"
if [ "$RC" != 0 ]; then
	eng_fail kill "$(eng_why)"
elif ! eng_wait_for 10 status_is "$ID" STOPPED; then
	eng_fail kill "task status is '$(task_status "$ID")', want STOPPED"
else
	eng_pass kill
fi

# delete: `ctr task rm` reports the exit status (137 = 128 + SIGKILL); task
# and container go away, and with them the runtime's state and the cgroups.
eng_run "${CTR[@]}" task rm "$ID"
if [ "$RC" != 0 ]; then
	eng_fail delete "ctr task rm: $(eng_why)"
elif ! grep -q 'exit code 137' <<<"$ERR"; then
	eng_fail delete "ctr task rm did not report exit code 137; $(eng_why)"
else
	eng_run "${CTR[@]}" container rm "$ID"
	left=""
	for path in "$RUNTIME_ROOT/$ID" /sys/fs/cgroup/*/"$NS/$ID" /sys/fs/cgroup/"$NS/$ID"; do
		[ -e "$path" ] && left="$left $path"
	done
	if [ "$RC" != 0 ]; then
		eng_fail delete "ctr container rm: $(eng_why)"
	elif "${CTR[@]}" container ls -q | grep -qx -- "$ID"; then
		eng_fail delete "container still listed"
	elif [ -n "$left" ]; then
		eng_fail delete "left behind: $left"
	else
		eng_pass delete
	fi
fi

# The tutorial's section 7, as a reader would type it (ctr reads the
# address and namespace from the environment).
eng_tutorial containerd "$IMAGE" CONTAINERD_ADDRESS="$CTRD_SOCK" CONTAINERD_NAMESPACE="$NS"

eng_finish
