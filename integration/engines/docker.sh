#!/bin/bash
# docker.io 20.10 with the runtime under test registered as `--runtime hull`.
#
# Usage: integration/engines/docker.sh [RUNTIME]   (default: target/release/hull)
#
# Starts a private containerd (own mount namespace) and a private dockerd in
# that same mount namespace (dockerd mounts the container's rootfs, and the
# shim that containerd starts must see it), with no networking of its own
# (no iptables, no bridge). Checks: run --rm, run -d + exec + ps + top +
# pause/unpause + stop + rm, --memory enforcement.

# Container commands are single-quoted on purpose (SC2016); some functions
# only run through eng_defer / eng_wait_for (SC2317).
# shellcheck disable=SC2016,SC2317
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_setup docker "$@"
eng_need busybox-static containerd docker.io

TAG=eng-dock-$$
IMAGE=eng-bb:latest
CGROUP_PARENT=/$TAG
eng_own_cgroup "$CGROUP_PARENT"

eng_start_containerd "$ENG_TMP/containerd"
D=$ENG_TMP/docker
eng_start_dockerd "$D" "$CGROUP_PARENT" "hull=$RUNTIME"

eng_rootfs_tar "$ENG_TMP/rootfs.tar"
eng_run "${DOCKER[@]}" import "$ENG_TMP/rootfs.tar" "$IMAGE"
[ "$RC" = 0 ] || eng_fatal "docker import: $(eng_why)"

RUN=("${DOCKER[@]}" run --runtime hull --network none)
state_of() { "${DOCKER[@]}" inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }

# ------------------------------------------------------------------ checks

eng_expect run-rm 6 "hello from $TAG" \
	"${RUN[@]}" --rm "$IMAGE" sh -c "echo hello from $TAG; exit 6"

NAME=$TAG-bg
eng_run "${RUN[@]}" -d --name "$NAME" "$IMAGE" sleep 600
if [ "$RC" != 0 ]; then
	eng_fail run-detached "$(eng_why)"
elif ! eng_wait_for 10 state_is "$NAME" running; then
	eng_fail run-detached "state is '$(state_of "$NAME")', want running"
else
	eng_pass run-detached
fi

# The container really runs on the runtime under test: it can read its
# state from the shim's runtime root.
id=$("${DOCKER[@]}" inspect --format '{{.Id}}' "$NAME" 2>/dev/null)
eng_runtime_state "${id:-$NAME}" "$D/exec/runtime-runc/moby"

eng_expect exec 4 "exec in $NAME" \
	"${DOCKER[@]}" exec "$NAME" sh -c "echo exec in $NAME; exit 4"

eng_run "${DOCKER[@]}" ps --format '{{.Names}} {{.Status}}'
if [ "$RC" = 0 ] && grep -q "^$NAME Up" <<<"$OUT"; then
	eng_pass ps
else
	eng_fail ps "want a line \"$NAME Up...\"; $(eng_why)"
fi

# top goes through the shim to the runtime's `ps`.
eng_expect top 0 "sleep 600" "${DOCKER[@]}" top "$NAME"

eng_expect_state pause "$NAME" paused "${DOCKER[@]}" pause "$NAME"
eng_expect_state unpause "$NAME" running "${DOCKER[@]}" unpause "$NAME"
# stop: SIGTERM is ignored by sleep as PID 1, so this is SIGKILL after 2 s.
eng_expect_state stop "$NAME" exited "${DOCKER[@]}" stop --time 2 "$NAME"

eng_run "${DOCKER[@]}" rm "$NAME"
if [ "$RC" != 0 ]; then
	eng_fail rm "$(eng_why)"
elif "${DOCKER[@]}" ps --all --format '{{.Names}}' | grep -qx -- "$NAME"; then
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

# The tutorial's section 7, as a reader would type it.
eng_tutorial docker "$IMAGE"

eng_finish
