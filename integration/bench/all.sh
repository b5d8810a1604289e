#!/bin/bash
# `just bench`: every benchmark, then one table of the issue's goals (ratios
# against crun, the load average each number was taken under) and the chart.
#
#   integration/bench/all.sh [full|quick] [HULL]
#
# full (5-10 minutes on this 2-core machine, by its load): bench.sh (runtime level),
# engines.sh (ctr, podman, docker, CRI), scale.sh 500; the chart goes to
# target/bench/bench.svg and docs/performance.svg (the one
# docs/performance.md shows).
# quick (3-5 minutes): fewer runs everywhere and 100 containers for the
# scale run; the chart only goes to target/bench/bench.svg.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-full}
hull=$(realpath "${2:-target/release/hull}")
t0=$(date +%s)
out=target/bench
mkdir -p "$out"
rm -f "$out"/bench.json "$out"/engines.json "$out"/scale.json
svgs=("$out/bench.svg")
case $mode in
full)
	scale_n=${SCALE_N:-500}
	svgs+=(docs/performance.svg)
	;;
quick)
	export ROUNDS=${ROUNDS:-2} PER_ROUND=${PER_ROUND:-5} PODS=${PODS:-10} SHARE_RUNS=${SHARE_RUNS:-2}
	export PARALLEL_N=${PARALLEL_N:-50} REPEAT=${REPEAT:-3}
	scale_n=${SCALE_N:-100}
	;;
*)
	echo "usage: $0 [full|quick] [HULL]" >&2
	exit 2
	;;
esac
echo "bench: $mode run, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start" >&2
integration/bench/bench.sh "$hull"
integration/bench/engines.sh "$hull" | grep -v '^PASS' || { echo "bench: engines.sh failed" >&2; exit 1; }
integration/bench/scale.sh "$scale_n" "$hull"
echo
echo "=== hull vs crun vs runc, $mode run ($(($(date +%s) - t0)) s; load $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
/usr/bin/python3 integration/bench/report.py summary "$out" "${svgs[@]}"
