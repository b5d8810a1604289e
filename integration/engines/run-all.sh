#!/bin/bash
# Runs the containerd, podman and docker scripts one after the other against
# one runtime, then prints a summary table. Exits non-zero if any check failed
# (or a script died without reporting).
#
# Usage: integration/engines/run-all.sh [RUNTIME]   (default: target/release/hull)
#        ENGINES="podman docker" integration/engines/run-all.sh /usr/sbin/runc

set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runtime=${1:-$(cd "$here/../.." && pwd)/target/release/hull}
engines=${ENGINES:-containerd podman docker}

log=$(mktemp /tmp/eng-run-all.XXXXXX)
trap 'rm -f "$log"' EXIT

rows=()
status=0
for engine in $engines; do
	echo "=== $engine: $here/$engine.sh $runtime"
	t0=$(date +%s.%N)
	"$here/$engine.sh" "$runtime" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	secs=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }')
	passed=$(grep -c '^PASS ' "$log")
	failed=$(grep -c '^FAIL ' "$log")
	failures=$(sed -n 's/^FAIL \([^:]*\):.*/\1/p' "$log" | tr '\n' ' ')
	if [ "$rc" != 0 ]; then
		status=1
		[ "$failed" = 0 ] && failures="(exited $rc without a FAIL line)"
	fi
	rows+=("$(printf '%-11s %6s %6s %8s  %s' "$engine" "$passed" "$failed" "$secs" "${failures:--}")")
	echo
done

echo "=== summary for $runtime"
printf '%-11s %6s %6s %8s  %s\n' engine passed failed seconds "failed checks"
printf '%s\n' "${rows[@]}"
exit $status
