# shellcheck shell=bash
# Helpers shared by the benchmark scripts in this directory. Source it.
#
# Measuring on a shared, loaded machine: every workload runs its runtimes in
# rounds (ROUNDS rounds of PER_ROUND runs each, the order of the runtimes
# rotating from round to round), so a load that drifts over minutes hits each
# runtime alike; the 1-minute load average is recorded before every round and
# goes into the results next to the numbers it was taken under.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_DIR/../.." && pwd)
# Debian's python3 (the standard library is all the scripts need).
BENCH_PY=/usr/bin/python3

ROUNDS=${ROUNDS:-4}
PER_ROUND=${PER_ROUND:-5}
WARMUP=${WARMUP:-1}

bench_load() { cut -d' ' -f1 /proc/loadavg; }

bench_log() { printf 'bench: %s (load %s)\n' "$*" "$(bench_load)" >&2; }

# bench_hf OUT NAME=COMMAND...: hyperfine over ROUNDS rounds, runtimes
# rotating; writes OUT (JSON: every run's time per name, loads per round).
bench_hf() {
	local out=$1 n r k i
	shift
	local names=() cmds=() a
	for a in "$@"; do
		names+=("${a%%=*}")
		cmds+=("${a#*=}")
	done
	n=${#names[@]}
	local parts=()
	for ((r = 0; r < ROUNDS; r++)); do
		local args=()
		for ((k = 0; k < n; k++)); do
			i=$(((r + k) % n))
			args+=(--command-name "${names[$i]}" "${cmds[$i]}")
		done
		if ! hyperfine -N --style none --warmup "$WARMUP" --runs "$PER_ROUND" \
			--export-json "$out.r$r" "${args[@]}" >/dev/null 2>"$out.err"; then
			echo "bench: hyperfine failed:" >&2
			tail -n 5 "$out.err" >&2
			return 1
		fi
		parts+=("$out.r$r" "$(bench_load)")
	done
	"$BENCH_PY" "$BENCH_DIR/report.py" merge "$out" "${parts[@]}"
	rm -f "$out".r* "$out.err"
}

# bench_rt_timer DEST: builds integration/bench/rt-timer.rs (plain rustc,
# static) into DEST unless it is up to date.
bench_rt_timer() {
	local src=$BENCH_DIR/rt-timer.rs dest=$1
	[ "$dest" -nt "$src" ] && return 0
	mkdir -p "$(dirname "$dest")"
	(cd "$BENCH_REPO" && rustc --edition 2021 -O -C target-feature=+crt-static "$src" -o "$dest")
}

# bench_wrap DIR NAME REAL: DIR/NAME/NAME is a stand-in for the runtime REAL
# that logs each call to DIR/NAME/calls.log (see rt-timer.rs); prints its path.
bench_wrap() {
	local dir=$1/$2
	mkdir -p "$dir"
	cp "$BENCH_REPO/target/bench/rt-timer" "$dir/$2"
	ln -sfn "$3" "$dir/real"
	: >"$dir/calls.log"
	echo "$dir/$2"
}
