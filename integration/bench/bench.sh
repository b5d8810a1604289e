#!/bin/bash
# Side-by-side benchmark of hull, crun and runc on one busybox bundle.
#
#   integration/bench/bench.sh [HULL]      (default target/release/hull)
#
# crun refuses hybrid cgroup hosts, so the whole run happens in a private
# mount namespace where /sys/fs/cgroup/unified is unmounted: all three
# runtimes see the same pure cgroup v1 view. Each workload runs the three in
# rounds whose order rotates (lib.sh), and records the load average of each
# round. Results: a table on stdout and target/bench/bench.json.
# Environment: ROUNDS (6) and PER_ROUND (10) for hyperfine, PARALLEL_N
# (lifecycles in the parallel test, 100), PARALLEL_J (8).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
hull=$(realpath "${1:-target/release/hull}")
[ -x "$hull" ] || { echo "bench: no hull at $hull (just build)" >&2; exit 1; }

if [ "${HULL_BENCH_INNER:-}" != 1 ]; then
	scripts/deps.sh runc crun hyperfine time
	export HULL_BENCH_INNER=1
	exec unshare -m --propagation private "$0" "$hull"
fi
# From here on: our own mount namespace.
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
ROUNDS=${ROUNDS:-6}
PER_ROUND=${PER_ROUND:-10}
WARMUP=${WARMUP:-2}
# shellcheck source=lib.sh
source integration/bench/lib.sh

out=$repo/target/bench
work=$(mktemp -d /tmp/hull-bench.XXXXXX)
trap 'for r in $runtimes; do for c in $("$(path_of $r)" --root "$work/state/root-$r" list -q 2>/dev/null); do "$(path_of $r)" --root "$work/state/root-$r" delete -f "$c" >/dev/null 2>&1 || true; done; done; umount "$work/state"; rm -rf "$work"' EXIT
mkdir -p "$out" "$work/bundle" "$work/state"
# State roots on a tmpfs, as in production (/run/runc, /run/crun, /run/hull):
# on this machine's ext4 every inode a runtime creates costs a bitmap scan.
mount -t tmpfs -o mode=0700 bench-state "$work/state"
runtimes="hull crun runc"
path_of() { case $1 in hull) echo "$hull" ;; crun) command -v crun ;; runc) command -v runc ;; esac; }

# The bundle: hull's default spec (pid/net/ipc/uts/mnt/cgroup namespaces,
# masked and read-only paths) running `true`, without a terminal.
scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$hull" spec --bundle "$work/bundle"
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' "$work/bundle/config.json"

# One lifecycle per call, unique ids from the shell's pid.
cat > "$work/lifecycle.sh" <<SH
#!/bin/sh
r=\$1; root=\$2; id=lc\$\$
"\$r" --root "\$root" create --bundle $work/bundle "\$id" >/dev/null &&
"\$r" --root "\$root" start "\$id" &&
"\$r" --root "\$root" delete -f "\$id"
SH
chmod +x "$work"/*.sh

bench_log "lifecycle create→start→delete"
args=(); for r in $runtimes; do args+=("$r=$work/lifecycle.sh $(path_of $r) $work/state/root-$r"); done
bench_hf "$work/lifecycle.json" "${args[@]}"

bench_log "run true"
# Called directly (no shell in between, as for exec): a foreground run
# deletes its container when it exits, so one id serves every run.
args=(); for r in $runtimes; do args+=("$r=$(path_of $r) --root $work/state/root-$r run --bundle $work/bundle run-$r"); done
bench_hf "$work/run.json" "${args[@]}"

bench_log "exec true"
mkdir -p "$work/sleepb"
sed 's/"true"$/"sleep", "1000"/; s|"path": "rootfs"|"path": "'"$work"'/bundle/rootfs"|' "$work/bundle/config.json" > "$work/sleepb/config.json"
args=()
for r in $runtimes; do
	"$(path_of $r)" --root "$work/state/root-$r" run -d --bundle "$work/sleepb" "ex-$r" >/dev/null
	args+=("$r=$(path_of $r) --root $work/state/root-$r exec ex-$r true")
done
bench_hf "$work/exec.json" "${args[@]}"
for r in $runtimes; do "$(path_of $r)" --root "$work/state/root-$r" delete -f "ex-$r"; done

bench_log "${PARALLEL_N:-100} lifecycles, ${PARALLEL_J:-8} at a time"
: > "$work/parallel.txt"
for r in $runtimes; do
	l0=$(bench_load)
	t0=$(date +%s.%N)
	fails=$(seq "${PARALLEL_N:-100}" | xargs -P "${PARALLEL_J:-8}" -I{} sh -c "$work/lifecycle.sh $(path_of $r) $work/state/root-$r >/dev/null 2>&1 || echo fail" | grep -c fail || true)
	t1=$(date +%s.%N)
	echo "$r $(echo "$t1 - $t0" | bc) $fails $l0" >> "$work/parallel.txt"
done

bench_log "peak RSS"
: > "$work/rss.txt"
for r in $runtimes; do
	p=$(path_of $r)
	for i in 1 2 3 4 5; do
		/usr/bin/time -f "$r create %M" "$p" --root "$work/state/root-$r" create --bundle "$work/bundle" "rss$i" >/dev/null 2>>"$work/rss.txt"
		/usr/bin/time -f "$r start %M" "$p" --root "$work/state/root-$r" start "rss$i" 2>>"$work/rss.txt"
		/usr/bin/time -f "$r delete %M" "$p" --root "$work/state/root-$r" delete -f "rss$i" 2>>"$work/rss.txt"
	done
done

"$BENCH_PY" - "$work" "$out/bench.json" "$hull" <<'PY'
import json, statistics, sys, os, shutil, subprocess
work, dest, hull = sys.argv[1:4]
names = ["hull", "crun", "runc"]
paths = {"hull": hull, "crun": shutil.which("crun"), "runc": shutil.which("runc")}
def load(f):
    return json.load(open(os.path.join(work, f)))
def medians(f):
    return {n: statistics.median(t) * 1000 for n, t in load(f)["times"].items()}
res = {"lifecycle_ms": medians("lifecycle.json"), "run_ms": medians("run.json"), "exec_ms": medians("exec.json")}
res["loads"] = {w: load(f"{w}.json")["loads"] for w in ("lifecycle", "run", "exec")}
par = {}
for line in open(os.path.join(work, "parallel.txt")):
    n, secs, fails, l0 = line.split()
    par[n] = {"seconds": float(secs), "failures": int(fails), "load": float(l0)}
res["parallel"] = par
rss = {}
for line in open(os.path.join(work, "rss.txt")):
    p = line.split()
    if len(p) == 3 and p[2].isdigit():
        rss.setdefault(p[0], {}).setdefault(p[1], []).append(int(p[2]))
res["peak_rss_kb"] = {n: {c: statistics.median(v) for c, v in d.items()} for n, d in rss.items()}
res["binary_bytes"] = {n: os.path.getsize(p) for n, p in paths.items()}
res["versions"] = {n: subprocess.run([p, "--version"], capture_output=True, text=True).stdout.splitlines()[0] for n, p in paths.items()}
json.dump(res, open(dest, "w"), indent=2)
def row(label, d, unit, fmt="{:.2f}"):
    h, c, r = d["hull"], d["crun"], d["runc"]
    print(f"{label:<26}" + "".join(f"{fmt.format(v):>10}" for v in (h, c, r)) + f"{h / c:>10.2f}{h / r:>10.2f}  {unit}")
def loads(w):
    return "  load " + "/".join(f"{x:.1f}" for x in res["loads"][w])
print(f"{'':<26}{'hull':>10}{'crun':>10}{'runc':>10}{'hull/crun':>10}{'hull/runc':>10}")
row("lifecycle (median)", res["lifecycle_ms"], "ms" + loads("lifecycle"))
row("run true (median)", res["run_ms"], "ms" + loads("run"))
row("exec true (median)", res["exec_ms"], "ms" + loads("exec"))
row(f"parallel lifecycles (total)", {n: par[n]["seconds"] for n in names}, "s  load " + "/".join(f"{par[n]['load']:.1f}" for n in names))
for cmd in ("create", "start", "delete"):
    row(f"peak RSS {cmd}", {n: res["peak_rss_kb"][n][cmd] for n in names}, "KiB", "{:.0f}")
row("binary size", {n: res["binary_bytes"][n] / 1024 for n in names}, "KiB", "{:.0f}")
print("parallel failures: " + ", ".join(f"{n} {par[n]['failures']}" for n in names))
print("versions: " + "; ".join(f"{n}: {v}" for n, v in res["versions"].items()))
print(f"written: {dest}")
PY
