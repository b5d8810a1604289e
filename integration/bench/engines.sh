#!/bin/bash
# Engine-level benchmark: what a user waits for with hull, crun or runc as
# the runtime of containerd (ctr), podman, Docker and containerd's CRI.
#
#   integration/bench/engines.sh [HULL]      (default target/release/hull)
#
# Workloads, each timed with hyperfine (whole commands) in rounds whose
# runtime order rotates (lib.sh): `ctr run --rm`, `podman run --rm`,
# `docker run --rm` of `true`, and `exec true` through each engine into a
# sleeping container; then CRI pod starts (RunPodSandbox + CreateContainer +
# StartContainer of a one-container pod, timed by cri-ctl, PODS per runtime,
# taking turns). Then the same commands again, fewer times (SHARE_RUNS), with
# each runtime replaced by rt-timer (rt-timer.rs), which logs every call the
# engine makes into it: which calls, and how much of the wall time is spent
# inside the runtime.
#
# crun refuses hybrid cgroup hosts, so everything runs in a private mount
# namespace where /sys/fs/cgroup/unified is unmounted (as bench.sh does):
# containerd, dockerd, podman and all three runtimes see the same cgroup v1
# tree. Results: target/bench/engines.json. Environment: ROUNDS and PER_ROUND
# (lib.sh), PODS (30), SHARE_RUNS (5).

# shellcheck disable=SC2317   # functions run through eng_defer
if [ -z "${BENCH_IN_MOUNT_NS:-}" ]; then
	BENCH_IN_MOUNT_NS=1 exec unshare --mount --propagation private bash "${BASH_SOURCE[0]}" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi

# shellcheck source=../engines/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../engines/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export ENG_TIMEOUT=120   # engine commands under load can be slow
eng_setup bench-engines "$@"
eng_need busybox-static containerd podman docker.io crun runc hyperfine

RESULTS=$ENG_REPO/target/bench
mkdir -p "$RESULTS"
PODS=${PODS:-30}
SHARE_RUNS=${SHARE_RUNS:-5}
TAG=bench-eng-$$
NS=$TAG                          # containerd namespace for ctr
eng_own_cgroup "/$NS"
eng_own_cgroup "/$TAG-podman"
eng_own_cgroup "/$TAG-docker"
eng_own_cgroup "/$TAG-cri"
W=$ENG_TMP/w                     # the rt-timer stand-ins
declare -A REAL=([hull]=$RUNTIME [crun]=$(command -v crun) [runc]=$(command -v runc))
declare -A WRAP
bench_rt_timer "$ENG_REPO/target/bench/rt-timer" || eng_fatal "rustc of rt-timer.rs failed"
for r in hull crun runc; do WRAP[$r]=$(bench_wrap "$W" "$r" "${REAL[$r]}"); done
# The runtime names engines know them by: plain for the timed runs, -w for
# the stand-ins.
runtime_path() { case $1 in *-w) echo "${WRAP[${1%-w}]}" ;; *) echo "${REAL[$1]}" ;; esac; }
ALL=(hull crun runc hull-w crun-w runc-w)

# ---------------------------------------------------------------- daemons

# What lives under /run in production lives on tmpfs here too: the runtimes'
# state roots, containerd's state, dockerd's exec root, podman's run root.
# (On this machine's ext4, removing a runtime's state directory could wait
# hundreds of milliseconds for the journal.) Mounted before containerd starts,
# so its mount namespace (and dockerd's, the same) has them; eng_teardown
# unmounts them.
RUN=$ENG_TMP/run
for m in "$RUN" "$ENG_TMP/docker/exec" "$ENG_TMP/podman/run" "$ENG_TMP/podman/tmp"; do
	mkdir -p "$m"
	mount -t tmpfs -o mode=0755 bench-run "$m" || eng_fatal "mount a tmpfs on $m"
done

# containerd with the CRI plugin on (host-network pods need no CNI) and a
# runtime handler per runtime, each with its own state root.
D=$ENG_TMP/containerd
mkdir -p "$D" "$ENG_TMP/cni" "$ENG_TMP/pods"
{
	eng_cri_config_head "$D" "$RUN/containerd" "$D/containerd.sock" docker.io/library/bench-pause:latest
	cat <<-EOF
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    conf_dir = "$ENG_TMP/cni"
		  [plugins."io.containerd.grpc.v1.cri".containerd]
		    snapshotter = "overlayfs"
	EOF
	for h in "${ALL[@]}"; do
		cat <<-EOF
			    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$h]
			      runtime_type = "io.containerd.runc.v2"
			      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$h.options]
			        BinaryName = "$(runtime_path "$h")"
			        Root = "$RUN/rt-$h"
			        SystemdCgroup = false
		EOF
	done
} >"$D/config.toml"
eng_start_containerd "$D"
CTR=(ctr --address "$CTRD_SOCK" --namespace "$NS")
ctr_cleanup() {
	local ns id
	for ns in "$NS" k8s.io; do
		for id in $(ctr --address "$CTRD_SOCK" --namespace "$ns" container ls -q); do
			timeout 10 ctr --address "$CTRD_SOCK" --namespace "$ns" task kill -s SIGKILL "$id"
			timeout 10 ctr --address "$CTRD_SOCK" --namespace "$ns" task rm -f "$id"
			timeout 10 ctr --address "$CTRD_SOCK" --namespace "$ns" container rm "$id"
		done
	done
}
eng_defer ctr_cleanup

docker_runtimes=()
for h in "${ALL[@]}"; do docker_runtimes+=("bench-$h=$(runtime_path "$h")"); done
eng_start_dockerd "$ENG_TMP/docker" "/$TAG-docker" "${docker_runtimes[@]}"

eng_podman_conf "$ENG_TMP/podman"
eng_defer "timeout 60 podman rm --all --force --time 0"

# ----------------------------------------------------------------- images

t0=$(date +%s.%N)
"$ENG_REPO/scripts/busybox-rootfs.sh" "$ENG_TMP/rootfs" || eng_fatal "busybox-rootfs.sh failed"
PATH_ENV='"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]'
IMAGE=docker.io/library/bench-bb:latest
eng_ctr_image "$IMAGE" "$ENG_TMP/rootfs" "{$PATH_ENV,\"Cmd\":[\"sh\"]}"
CTR=(ctr --address "$CTRD_SOCK" --namespace k8s.io)
eng_ctr_image "$IMAGE" "$ENG_TMP/rootfs" "{$PATH_ENV,\"Cmd\":[\"sh\"]}"
pause=$ENG_TMP/pause-rootfs
mkdir -p "$pause/bin" "$pause/dev" "$pause/proc" "$pause/sys" "$pause/etc"
cp "$(command -v busybox)" "$pause/bin/busybox"
ln -s busybox "$pause/bin/sleep"
eng_ctr_image docker.io/library/bench-pause:latest "$pause" "{$PATH_ENV,\"Entrypoint\":[\"/bin/sleep\",\"2147483647\"]}"
CTR=(ctr --address "$CTRD_SOCK" --namespace "$NS")
tar -C "$ENG_TMP/rootfs" -cf "$ENG_TMP/rootfs.tar" .
eng_run "${DOCKER[@]}" import "$ENG_TMP/rootfs.tar" bench-bb:latest
[ "$RC" = 0 ] || eng_fatal "docker import: $(eng_why)"
eng_run podman import "$ENG_TMP/rootfs.tar" localhost/bench-bb:latest
[ "$RC" = 0 ] || eng_fatal "podman import: $(eng_why)"
eng_log "images imported in $(eng_elapsed "$t0")s"

export CRI_SOCK=$CTRD_SOCK CRI_IMAGE=$IMAGE
CRI_CTL=$ENG_REPO/target/cri/debug/cri-ctl
t0=$(date +%s.%N)
if ! (cd "$ENG_REPO/integration/cri" && CARGO_TARGET_DIR=$ENG_REPO/target/cri \
	cargo build --locked --quiet --bin cri-ctl) >"$ENG_TMP/cargo.log" 2>&1; then
	eng_fatal "cargo build of cri-ctl failed: $(tail -n 15 "$ENG_TMP/cargo.log" | tr '\n' ' ')"
fi
eng_log "cri-ctl built in $(eng_elapsed "$t0")s"

# ------------------------------------------------------------- workloads

# The command of WORKLOAD with runtime R (a name of ALL).
cmd_of() {
	local w=$1 r=$2 p
	p=$(runtime_path "$r")
	case $w in
	ctr-run) echo "ctr --address $CTRD_SOCK --namespace $NS run --rm --runtime io.containerd.runc.v2 --runc-binary $p --runc-root $RUN/ctr-root-$r $IMAGE bench-run-$r true" ;;
	podman-run) echo "podman --runtime $p run --rm --network none --cgroup-parent /$TAG-podman localhost/bench-bb:latest true" ;;
	docker-run) echo "/usr/bin/docker run --rm --runtime bench-$r --network none bench-bb:latest true" ;;
	ctr-exec) echo "ctr --address $CTRD_SOCK --namespace $NS task exec --exec-id bench-exec bench-sleep-$r true" ;;
	podman-exec) echo "podman exec bench-sleep-$r true" ;;
	docker-exec) echo "/usr/bin/docker exec bench-sleep-$r true" ;;
	esac
}

# Sleeping containers for the exec workloads, one per engine and runtime.
start_sleepers() {
	local r p
	for r in "$@"; do
		p=$(runtime_path "$r")
		eng_run "${CTR[@]}" run -d --runtime io.containerd.runc.v2 --runc-binary "$p" \
			--runc-root "$RUN/ctr-root-$r" "$IMAGE" "bench-sleep-$r" sleep 100000
		[ "$RC" = 0 ] || eng_fatal "ctr run -d with $r: $(eng_why)"
		eng_run podman --runtime "$p" run -d --name "bench-sleep-$r" --network none \
			--cgroup-parent "/$TAG-podman" localhost/bench-bb:latest sleep 100000
		[ "$RC" = 0 ] || eng_fatal "podman run -d with $r: $(eng_why)"
		eng_run "${DOCKER[@]}" run -d --name "bench-sleep-$r" --runtime "bench-$r" --network none \
			bench-bb:latest sleep 100000
		[ "$RC" = 0 ] || eng_fatal "docker run -d with $r: $(eng_why)"
	done
}

WORKLOADS=(ctr-run podman-run docker-run ctr-exec podman-exec docker-exec)
start_sleepers hull crun runc
# Every command once with every runtime: a failure stops the bench here,
# with the engine's own words.
for w in "${WORKLOADS[@]}"; do
	for r in hull crun runc; do
		read -r -a c <<<"$(cmd_of "$w" "$r")"
		eng_run "${c[@]}"
		[ "$RC" = 0 ] || eng_fatal "$w with $r: $(eng_why)"
	done
done

for w in "${WORKLOADS[@]}"; do
	bench_log "$w: ${ROUNDS}x$PER_ROUND runs per runtime"
	args=()
	for r in hull crun runc; do args+=("$r=$(cmd_of "$w" "$r")"); done
	bench_hf "$ENG_TMP/$w.json" "${args[@]}" || eng_fatal "hyperfine of $w failed"
done

bench_log "CRI pod start: $PODS pods per runtime"
l0=$(bench_load)
"$CRI_CTL" bench-pods "$PODS" "/$TAG-cri" "$ENG_TMP/pods" hull crun runc >"$ENG_TMP/pods.jsonl" 2>"$ENG_TMP/pods.err" ||
	eng_fatal "cri-ctl bench-pods: $(tail -n 3 "$ENG_TMP/pods.err" | tr '\n' ' ')"
echo "$l0 $(bench_load)" >"$ENG_TMP/pods.load"

# --------------------------------------------- the runtime's share (rt-timer)

bench_log "runtime share: every workload again through rt-timer, $SHARE_RUNS runs each"
start_sleepers hull-w crun-w runc-w
: >"$ENG_TMP/windows"
for w in "${WORKLOADS[@]}"; do
	for ((i = 0; i < SHARE_RUNS; i++)); do
		for r in hull-w crun-w runc-w; do
			read -r -a c <<<"$(cmd_of "$w" "$r")"
			t0=$EPOCHREALTIME
			"${c[@]}" >/dev/null 2>&1 || eng_fatal "$w with $r failed"
			t1=$EPOCHREALTIME
			echo "$w ${r%-w} $t0 $t1" >>"$ENG_TMP/windows"
			# Calls the engine makes after its client returned land here.
			sleep 0.3
		done
	done
done
"$CRI_CTL" bench-pods "$SHARE_RUNS" "/$TAG-cri" "$ENG_TMP/pods" hull-w crun-w runc-w >"$ENG_TMP/pods-w.jsonl" 2>"$ENG_TMP/pods.err" ||
	eng_fatal "cri-ctl bench-pods (rt-timer): $(tail -n 3 "$ENG_TMP/pods.err" | tr '\n' ' ')"
"$BENCH_PY" -c '
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    print("cri-pod", p["handler"][:-2], p["start"], p["end"])
' "$ENG_TMP/pods-w.jsonl" >>"$ENG_TMP/windows"
"$BENCH_PY" "$BENCH_DIR/report.py" share "$ENG_TMP/share.json" "$ENG_TMP/windows" "$W" ||
	eng_fatal "report.py share failed"

# ---------------------------------------------------------------- results

"$BENCH_PY" - "$ENG_TMP" "$RESULTS/engines.json" "${WORKLOADS[@]}" <<'PY' || eng_fatal "writing engines.json failed"
import json, statistics, sys
tmp, dest, workloads = sys.argv[1], sys.argv[2], sys.argv[3:]
def pct(v, p):
    s = sorted(v)
    return s[max(0, min(len(s) - 1, -(-p * len(s) // 100) - 1))]
res = {"workloads": {}, "share": json.load(open(f"{tmp}/share.json"))}
for w in workloads:
    d = json.load(open(f"{tmp}/{w}.json"))
    res["workloads"][w] = {
        "loads": d["loads"],
        "median_ms": {r: statistics.median(t) * 1000 for r, t in d["times"].items()},
        "times_ms": {r: [x * 1000 for x in t] for r, t in d["times"].items()},
    }
pods = {}
for line in open(f"{tmp}/pods.jsonl"):
    p = json.loads(line)
    pods.setdefault(p["handler"], []).append(p)
l0, l1 = open(f"{tmp}/pods.load").read().split()
res["workloads"]["cri-pod"] = {
    "loads": [float(l0), float(l1)],
    "median_ms": {h: statistics.median(x["total_ms"] for x in v) for h, v in pods.items()},
    "p99_ms": {h: pct([x["total_ms"] for x in v], 99) for h, v in pods.items()},
    "times_ms": {h: [x["total_ms"] for x in v] for h, v in pods.items()},
    "steps_median_ms": {h: {k: statistics.median(x[k] for x in v) for k in ("run_pod_ms", "create_ms", "start_ms", "teardown_ms")} for h, v in pods.items()},
}
json.dump(res, open(dest, "w"), indent=1)
PY
eng_log "written: $RESULTS/engines.json"
eng_pass engines-bench
eng_finish
