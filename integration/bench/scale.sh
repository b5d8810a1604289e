#!/bin/bash
# Scale: N sleeping busybox containers alive at once (cgroupfs), per runtime.
#
#   integration/bench/scale.sh [N] [HULL]     (defaults: 500, target/release/hull)
#
# For hull, crun and runc in turn (each starting from an empty state root):
# create + start N containers one after the other, timing every create and
# start; at checkpoints (every N/10 containers) time `list`, and `state`,
# `ps --format json` and `events --stats` of the first container (median of
# REPEAT calls each); the host's memory (/proc/meminfo, and the slab caches
# that grew most) before, with all N alive, and after; then delete -f of all
# of them, timed. Between runtimes the machine is given time to settle (the
# kernel tears network namespaces down in a worker, long after delete).
#
# crun refuses hybrid cgroup hosts: as bench.sh, this runs in a private mount
# namespace with /sys/fs/cgroup/unified unmounted. Results:
# target/bench/scale.json. Environment: REPEAT (5), RUNTIMES ("hull crun runc").
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
n=${1:-500}
hull=$(realpath "${2:-target/release/hull}")
[ -x "$hull" ] || { echo "scale: no hull at $hull (just build)" >&2; exit 1; }
[ "$n" -ge 10 ] || { echo "scale: N must be at least 10" >&2; exit 1; }

if [ "${HULL_BENCH_INNER:-}" != 1 ]; then
	scripts/deps.sh runc crun
	export HULL_BENCH_INNER=1
	exec unshare -m --propagation private "$0" "$n" "$hull"
fi
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
# shellcheck source=lib.sh
source integration/bench/lib.sh

out=$repo/target/bench
work=$(mktemp -d /tmp/hull-scale.XXXXXX)
runtimes=${RUNTIMES:-hull crun runc}
repeat=${REPEAT:-5}
path_of() { case $1 in hull) echo "$hull" ;; crun) command -v crun ;; runc) command -v runc ;; esac; }
cleanup() {
	local r c
	for r in $runtimes; do
		for c in $("$(path_of "$r")" --root "$work/state/$r" list -q 2>/dev/null); do
			"$(path_of "$r")" --root "$work/state/$r" delete -f "$c" >/dev/null 2>&1 || true
		done
	done
	umount "$work/state" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out" "$work/state"
mount -t tmpfs -o mode=0700 scale-state "$work/state"

scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$hull" spec --bundle "$work/bundle"
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sleep", "1000000"/' "$work/bundle/config.json"

now_ms() { echo "${EPOCHREALTIME/./}"; }
# timed CMD...: milliseconds CMD took (its output discarded; fails with it).
timed() {
	local t0 t1
	t0=${EPOCHREALTIME/./}
	"$@" >/dev/null || return 1
	t1=${EPOCHREALTIME/./}
	echo "$(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000)))"
}
# median_of K CMD...: median milliseconds of K calls (a failing call: "nan").
median_of() {
	local k=$1 i v=()
	shift
	for ((i = 0; i < k; i++)); do v+=("$(timed "$@" 2>/dev/null || echo nan)"); done
	# A call that failed makes the whole measurement "nan".
	if [[ " ${v[*]} " == *" nan "* ]]; then echo nan; return; fi
	printf '%s\n' "${v[@]}" | sort -g | sed -n "$(((k + 1) / 2))p"
}
meminfo() { cat /proc/meminfo; }
# The slab caches as "name bytes" lines.
slabs() { awk 'NR > 2 { print $1, $3 * $4 }' /proc/slabinfo; }
# settle: wait (up to 60 s) until Slab changes by less than 1 MiB in 2 s.
settle() {
	local a b i
	for ((i = 0; i < 30; i++)); do
		a=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
		sleep 2
		b=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
		[ $((a > b ? a - b : b - a)) -lt 1024 ] && return 0
	done
}

checkpoints=" 1 "
for ((i = 1; i <= 10; i++)); do checkpoints+="$((n * i / 10)) "; done

for r in $runtimes; do
	p=$(path_of "$r")
	root=$work/state/$r
	d=$work/$r
	mkdir -p "$d"
	bench_log "scale: $r, settling"
	settle
	meminfo >"$d/mem0"
	slabs >"$d/slab0"
	bench_log "scale: $r, creating $n containers"
	: >"$d/creates"
	: >"$d/checks"
	for ((i = 1; i <= n; i++)); do
		c=$(timed "$p" --root "$root" create --bundle "$work/bundle" "s$i")
		s=$(timed "$p" --root "$root" start "s$i")
		echo "$i $c $s $(bench_load)" >>"$d/creates"
		if [[ $checkpoints == *" $i "* ]]; then
			echo "$i $(median_of 3 "$p" --root "$root" list) $(median_of "$repeat" "$p" --root "$root" state s1)" \
				"$(median_of "$repeat" "$p" --root "$root" ps --format json s1)" \
				"$(median_of 3 "$p" --root "$root" events --stats s1)" \
				"$(bench_load)" >>"$d/checks"
		fi
	done
	alive=$("$p" --root "$root" list -q | wc -l)
	# The runtime's own processes left running (hull, crun and runc leave
	# none): any process whose command line names this state root.
	left=$(pgrep -c -f -- "--root $root" || true)
	settle
	meminfo >"$d/mem1"
	slabs >"$d/slab1"
	bench_log "scale: $r, deleting $n containers"
	t0=$(now_ms)
	for ((i = 1; i <= n; i++)); do "$p" --root "$root" delete -f "s$i"; done
	t1=$(now_ms)
	echo "$alive $left $(((t1 - t0) / 1000)) $(bench_load)" >"$d/summary"
	settle
	meminfo >"$d/mem2"
done

# shellcheck disable=SC2086   # one argument per runtime
"$BENCH_PY" - "$work" "$out/scale.json" "$n" $runtimes <<'PY'
import json, statistics, sys
work, dest, n, runtimes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
res = {"n": n, "runtimes": {}}
def num(x):
    return None if x == "nan" else float(x)
for r in runtimes:
    d = f"{work}/{r}"
    creates = [l.split() for l in open(f"{d}/creates")]
    c = [float(x[1]) for x in creates]
    s = [float(x[2]) for x in creates]
    checks = [l.split() for l in open(f"{d}/checks")]
    alive, left, delete_ms, load = open(f"{d}/summary").read().split()
    mem = [{l.split(":")[0]: int(l.split()[1]) for l in open(f"{d}/mem{i}")} for i in range(3)]
    slab0 = dict((l.split()[0], int(l.split()[1])) for l in open(f"{d}/slab0"))
    slab1 = dict((l.split()[0], int(l.split()[1])) for l in open(f"{d}/slab1"))
    grew = sorted(((slab1[k] - slab0.get(k, 0), k) for k in slab1), reverse=True)[:8]
    # Least-squares slope of create time over the container count.
    xs = list(range(1, len(c) + 1))
    mx, my = statistics.mean(xs), statistics.mean(c)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, c)) / sum((x - mx) ** 2 for x in xs)
    kb = lambda k: (mem[1].get(k, 0) - mem[0].get(k, 0)) / n
    res["runtimes"][r] = {
        "create_ms": c, "start_ms": s,
        "loads": [float(x[3]) for x in creates],
        # The first and the last tenth of the creates: single creates vary
        # by tens of percent on a busy machine.
        "create_first_ms": statistics.median(c[:max(1, n // 10)]),
        "create_last_ms": statistics.median(c[-max(1, n // 10):]),
        "create_slope_ms_per_100": slope * 100,
        "checkpoints": [{"alive": int(x[0]), "list_ms": num(x[1]), "state_ms": num(x[2]), "ps_ms": num(x[3]),
                         "events_stats_ms": num(x[4]), "load": float(x[5])} for x in checks],
        "alive": int(alive), "runtime_processes_left": int(left),
        "delete_all_ms": float(delete_ms), "delete_load": float(load),
        "per_container_kib": {k: kb(k) for k in ("MemAvailable", "Slab", "SUnreclaim", "SReclaimable", "KernelStack",
                                                  "PageTables", "Percpu", "AnonPages", "Shmem")},
        "slab_growth_per_container_bytes": {k: v / n for v, k in grew},
        "memory_returned_kib": {k: mem[2].get(k, 0) - mem[0].get(k, 0) for k in ("MemAvailable", "Slab", "Percpu")},
    }
json.dump(res, open(dest, "w"), indent=1)
print(f"{'':<28}" + "".join(f"{r:>10}" for r in runtimes))
def row(label, f, fmt="{:.2f}"):
    vals = []
    for r in runtimes:
        try:
            v = f(res["runtimes"][r])
            vals.append("n/a" if v is None else fmt.format(v))
        except (KeyError, TypeError):
            vals.append("n/a")
    print(f"{label:<28}" + "".join(f"{v:>10}" for v in vals))
row(f"create, first {n // 10} (ms)", lambda d: d["create_first_ms"])
row(f"create, last {n // 10} (ms)", lambda d: d["create_last_ms"])
row("create slope (ms/100)", lambda d: d["create_slope_ms_per_100"])
row(f"list of {n} (ms)", lambda d: d["checkpoints"][-1]["list_ms"])
row("list of 1 (ms)", lambda d: d["checkpoints"][0]["list_ms"])
row(f"state, {n} alive (ms)", lambda d: d["checkpoints"][-1]["state_ms"])
row("state, 1 alive (ms)", lambda d: d["checkpoints"][0]["state_ms"])
row(f"ps, {n} alive (ms)", lambda d: d["checkpoints"][-1]["ps_ms"])
row(f"events --stats, {n} alive", lambda d: d["checkpoints"][-1]["events_stats_ms"])
row(f"delete all {n} (s)", lambda d: d["delete_all_ms"] / 1000)
row("kernel KiB/container (slab)", lambda d: d["per_container_kib"]["Slab"], "{:.0f}")
row("MemAvailable KiB/container", lambda d: -d["per_container_kib"]["MemAvailable"], "{:.0f}")
row("runtime processes left", lambda d: d["runtime_processes_left"], "{:.0f}")
print(f"written: {dest}")
PY
