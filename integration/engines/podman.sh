#!/bin/bash
# podman 4.3 (through conmon) with the runtime under test as its OCI runtime.
#
# Usage: integration/engines/podman.sh [RUNTIME]   (default: target/release/hull)
#
# podman has no daemon; it gets private containers.conf / storage.conf files
# (overlay storage, cgroupfs, file events and locks, all under a temp dir) and
# the whole script runs in its own mount namespace, so that no overlay or shm
# mount can be left on the host. Checks: run --rm, run -it through a pty,
# run -d + exec + ps + top + pause/unpause + stop + rm, --memory and
# --pids-limit enforcement.

# Container commands are single-quoted on purpose (SC2016); some functions
# only run through eng_defer / eng_wait_for (SC2317).
# shellcheck disable=SC2016,SC2317

if [ -z "${ENG_IN_MOUNT_NS:-}" ]; then
	ENG_IN_MOUNT_NS=1 exec unshare --mount --propagation private bash "${BASH_SOURCE[0]}" "$@"
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_setup podman "$@"
eng_need busybox-static podman bsdutils

TAG=eng-pod-$$
CGROUP_PARENT=/$TAG
IMAGE=localhost/eng-bb:latest
eng_own_cgroup "$CGROUP_PARENT"
# The tutorial's commands (check "tutorial") use podman's default parent,
# libpod_parent (with conmon under it): sweep it too if this run makes it.
if [ ! -e /sys/fs/cgroup/cpu/libpod_parent ] && [ ! -e /sys/fs/cgroup/libpod_parent ]; then
	eng_own_cgroup /libpod_parent
fi

# podman (containers/image) keeps a blob-info cache in a fixed place; remove
# it again if this run is what created it.
BLOB_CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb
if [ ! -e "$BLOB_CACHE" ]; then
	eng_defer "rm -f $BLOB_CACHE; rmdir /var/lib/containers/cache /var/lib/containers"
fi

# ----------------------------------------------------------- configuration

eng_podman_conf "$ENG_TMP/podman"

PODMAN=(podman --runtime "$RUNTIME")
RUN=("${PODMAN[@]}" run --network none --cgroup-parent "$CGROUP_PARENT")

eng_defer "timeout 30 podman rm --all --force --time 0"

eng_rootfs_tar "$ENG_TMP/rootfs.tar"
eng_run podman import "$ENG_TMP/rootfs.tar" "$IMAGE"
[ "$RC" = 0 ] || eng_fatal "podman import: $(eng_why)"

state_of() { podman inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }

# ------------------------------------------------------------------ checks

eng_expect run-rm 5 "hello from $TAG" \
	"${RUN[@]}" --rm "$IMAGE" sh -c "echo hello from $TAG; exit 5"

# run -it: podman needs a terminal, so give it one with script(1). Its stdin
# is a FIFO that stays open (EOF on stdin would race with the attach) and
# that carries one line, which must arrive through the container's terminal.
check_tty() {
	local fifo=$ENG_TMP/tty-input feeder
	mkfifo "$fifo"
	(
		sleep 1
		echo ping
		exec sleep 60
	) >"$fifo" &
	feeder=$!
	local inner
	inner="$(printf '%q ' "${RUN[@]}" -it --rm "$IMAGE") sh -c 'tty; read -r line; echo \"got \$line\"; exit 3'"
	timeout -k 5 "$ENG_TIMEOUT" script -qec "$inner" /dev/null <"$fifo" >"$ENG_TMP/tty.out" 2>&1
	RC=$?
	kill "$feeder" 2>/dev/null
	wait "$feeder" 2>/dev/null
	OUT=$(tr -d '\r\0' <"$ENG_TMP/tty.out")
	ERR=""
	if [ "$RC" != 3 ]; then
		eng_fail run-tty "want exit 3; $(eng_why)"
	elif ! grep -qx '/dev/pts/0' <<<"$OUT"; then
		eng_fail run-tty "tty did not print /dev/pts/0; $(eng_why)"
	elif ! grep -qx 'got ping' <<<"$OUT"; then
		eng_fail run-tty "input did not come through the terminal; $(eng_why)"
	else
		eng_pass run-tty
	fi
}
check_tty

# A detached container for exec / ps / top / pause / stop / rm.
NAME=$TAG-bg
eng_run "${RUN[@]}" -d --name "$NAME" "$IMAGE" sleep 600
if [ "$RC" != 0 ]; then
	eng_fail run-detached "$(eng_why)"
elif ! eng_wait_for 10 state_is "$NAME" running; then
	eng_fail run-detached "state is '$(state_of "$NAME")', want running"
else
	eng_pass run-detached
fi

# The container really runs on the runtime under test (conmon passes no
# --root, so the runtime's default state dir): it can read its state.
id=$(podman inspect --format '{{.Id}}' "$NAME" 2>/dev/null)
eng_runtime_state "${id:-$NAME}"

eng_expect exec 4 "exec in $NAME" \
	"${PODMAN[@]}" exec "$NAME" sh -c "echo exec in $NAME; exit 4"

# ps asks the runtime for the container's state.
eng_run "${PODMAN[@]}" ps --format '{{.Names}} {{.Status}}'
if [ "$RC" = 0 ] && grep -q "^$NAME Up" <<<"$OUT"; then
	eng_pass ps
else
	eng_fail ps "want a line \"$NAME Up...\"; $(eng_why)"
fi

eng_expect top 0 "sleep 600" "${PODMAN[@]}" top "$NAME" pid args

eng_expect_state pause "$NAME" paused "${PODMAN[@]}" pause "$NAME"
eng_expect_state unpause "$NAME" running "${PODMAN[@]}" unpause "$NAME"
# stop: SIGTERM is ignored by sleep as PID 1, so this is SIGKILL after 2 s.
eng_expect_state stop "$NAME" exited "${PODMAN[@]}" stop --time 2 "$NAME"

eng_run "${PODMAN[@]}" rm "$NAME"
if [ "$RC" != 0 ]; then
	eng_fail rm "$(eng_why)"
elif podman ps --all --format '{{.Names}}' | grep -qx -- "$NAME"; then
	eng_fail rm "container still listed by ps --all"
else
	eng_pass rm
fi

# --memory 64m: a shell that builds a 256 MB string gets OOM-killed (137).
eng_run "${RUN[@]}" --rm --memory 64m "$IMAGE" \
	sh -c 'x=$(head -c 256000000 /dev/zero | tr "\0" a); echo survived ${#x}'
if [ "$RC" = 137 ] && ! grep -q survived <<<"$OUT"; then
	eng_pass memory-limit
else
	eng_fail memory-limit "want exit 137 (OOM kill); $(eng_why)"
fi

# --pids-limit 10: the shell (1 pid) cannot start 20 sleeps.
eng_run "${RUN[@]}" --rm --pids-limit 10 "$IMAGE" \
	sh -c 'for i in $(seq 20); do sleep 30 & echo started $i; done'
if ! grep -qx 'started 1' <<<"$OUT"; then
	eng_fail pids-limit "container did not run; $(eng_why)"
elif grep -qx 'started 20' <<<"$OUT"; then
	eng_fail pids-limit "all 20 sleeps started; $(eng_why)"
else
	eng_pass pids-limit
fi

# The tutorial's section 7, as a reader would type it.
eng_tutorial podman "$IMAGE"

eng_finish
