#!/bin/bash
# Runs the examples of docs/tutorial.md and checks that they print what the
# tutorial says they print; then checks that each left nothing behind
# (containers, cgroups, mounts, links, temp dirs) and that the tutorial's
# code blocks are still the scripts, verbatim.
#
# Usage: docs/examples/run-all.sh [--update] [EXAMPLE...]   (as root)
#   EXAMPLE   only these (e.g. 05-cpu.sh); default: every NN-*.sh but 07
#   --update  when all pass, rewrite tutorial.md's blocks: the scripts, and
#             the output of this run
# Environment: HULL, the binary under test (default: target/release/hull).

set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export HULL=${HULL:-$repo/target/release/hull}
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
LIMIT=${DOCS_LIMIT:-60} # seconds for one example

update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
if [ "$(id -u)" != 0 ]; then
	echo "run-all: the examples make namespaces, cgroups and links: run as root" >&2
	exit 1
fi
if [ ! -x "$HULL" ]; then
	echo "run-all: $HULL is not built (just build)" >&2
	exit 1
fi
examples=()
if [ $# -gt 0 ]; then
	examples=("$@")
else
	for f in "$here"/[0-9][0-9]-*.sh; do
		[[ $f == */07-* ]] || examples+=("${f##*/}")
	done
fi

out=$(mktemp -d /tmp/hull-docs-out.XXXXXX)
pid=
watchdog=
trap 'rm -rf "$out"' EXIT
# Examples run in sessions of their own: pass an interrupt on (their traps clean up).
interrupted() {
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
	if [ -n "$pid" ]; then
		kill -TERM -- "-$pid" 2>/dev/null
		wait "$pid"
	fi
	echo "run-all: interrupted"
	exit 130
}
trap interrupted INT TERM

# ------------------------------------------------------------ assertions

fail() {
	echo "  FAIL: $*"
	bad=1
}
# has REGEX: a line of the output is REGEX (extended, the whole line).
has() { grep -Eqx -- "$1" "$out/$name.out" || fail "no line /$1/"; }
lacks() { ! grep -Eqx -- "$1" "$out/$name.out" || fail "a line /$1/"; }
# val REGEX: \1 of the first line that is REGEX.
val() { sed -nE "s/^$1\$/\\1/p" "$out/$name.out" | head -n 1; }
# count REGEX: how many lines are REGEX.
count() { grep -Ecx -- "$1" "$out/$name.out"; }
# after REGEX: the output from the line after the first line that is REGEX.
after() { awk -v re="^($1)\$" 'found { print } $0 ~ re { found = 1 }' "$out/$name.out"; }
# between A B: the lines after the first line that is A, up to the next that is B.
between() { after "$1" | awk -v re="^($2)\$" '$0 ~ re { exit } { print }'; }
# in_range LABEL VALUE LOW HIGH
in_range() {
	if ! [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
		fail "$1 is '$2', want $3..$4"
	fi
}
equal() { [ "$2" = "$3" ] || fail "$1: '$2' != '$3'"; }

# ------------------------------------------------------------ the checks

check_01-pid1.sh() {
	has 'I am pid [0-9]{2,}, my parent is pid [0-9]+'
	has 'I am pid 1, my parent is pid 0'
	# Inside: only the shell (pid 1) and ps.
	local inside
	inside=$(between 'I am pid 1, my parent is pid 0' 'done' | tail -n +2 | awk '{ print $1 }' | paste -sd' ')
	equal "pids the container sees" "$inside" "1 2"
	has ' +1 sh'
	local pid
	pid=$(val '  "pid": ([0-9]+),')
	has "NSpid:	$pid	1"
	has " *$pid sleep"
	has ' +1 sleep'
}

check_02-namespaces.sh() {
	local host rows label want got
	host=$(hostname)
	rows=(
		"-;-;[0-9]{2,};[0-9]{2,};$host;lo,.+;uid 0;/hull/ns-[0-9]+-1"
		"uts;uts;[0-9]{2,};[0-9]{2,};box;lo,.+;uid 0;/hull/.+"
		"pid;pid uts;1;[0-9]{2,};box;lo,.+;uid 0;/hull/.+"
		"mount;mnt pid uts;1;1;box;lo,.+;uid 0;/hull/.+"
		"ipc;ipc mnt pid uts;1;1;box;lo,.+;uid 0;/hull/.+"
		"network;ipc mnt net pid uts;1;1;box;lo;uid 0;/hull/.+"
		"user;ipc mnt net pid user uts;1;1;box;lo;uid 100000;/hull/.+"
		"cgroup;cgroup ipc mnt net pid user uts;1;1;box;lo;uid 100000;/"
	)
	for want in "${rows[@]}"; do
		label=${want%%;*}
		got=$(awk -F'|' -v l="$label" '{ for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
			$1 == l { $1 = $1; print; exit }' OFS=';' "$out/$name.out")
		[[ $got =~ ^$want$ ]] || fail "row '$label' is '$got', want /$want/"
	done
	local n
	for n in cgroup ipc mnt net pid user uts; do
		got=$(awk -v n="$n" '$1 == n && $2 == "host" { print ($3 != $5) ? "differs" : "same" }' "$out/$name.out")
		equal "the $n namespace of the last container" "$got" differs
	done
	has 'uid=0\(root\) gid=0\(root\)'
	has 'Uid:	100000	100000	100000	100000'
	has '100000 +[0-9]+ sleep'
}

check_03-rootfs.sh() {
	local host_root bundle_root inside
	host_root=$(sed -n 2p "$out/$name.out")
	bundle_root=$(sed -n 3p "$out/$name.out")
	inside=$(between '== inside: .*' 'x' | head -n 1)
	equal "ls / inside" "$inside" "$bundle_root"
	[ "$inside" != "$host_root" ] || fail "the container sees the host's /"
	has '/ is mounted from /tmp/hull-docs\.[^/]+/box/rootfs'
	has 'ls: /tmp/hull-docs\.[^/]+/only-on-the-host: No such file or directory'
	has 'touch: /new-file: Read-only file system'
	has '/dev/shm \(a tmpfs\) is writable'
	has '/proc/timer_list: 0 lines; /sys/firmware: \[\]'
	has "sh: can't create /proc/sys/kernel/hostname: Read-only file system"
	has 'exit status 1'
	has 'on the host: /proc/timer_list: [1-9][0-9]* lines; /sys/firmware: \[.+\]'
	equal "the file written with a writable root" "$(tail -n 1 "$out/$name.out")" hello
}

check_04-layers.sh() {
	has '/ is overlay'
	has 'hello: built into the app layer'
	has 'hello: changed in the container'
	local upper
	upper=$(between '== the upper dir holds every change:' '.*whiteout.*' | paste -sd' ')
	equal "the upper dir" "$upper" "c--------- ./bin/vi -rw-r--r-- ./etc/motd -rw-r--r-- ./root/notes"
	has 'upper/bin/vi: a character special file 0:0, the whiteout of a deleted file'
	equal "the lower layers" "$(between '== the lower layers are untouched:' '== config.json .*' | paste -sd' ')" \
		"built into the app layer lrwxrwxrwx bin/vi -> busybox"
	equal "the overlay mounted by config.json" "$(after '== config.json .*' | paste -sd' ')" \
		"bin etc ./etc/motd written in /srv built into the app layer"
}

check_05-cpu.sh() {
	has '.*cpu.cfs_quota_us:20000|20000 100000'
	local used wall
	used=$(val 'used ([0-9]+) ms of CPU in [0-9]+ ms: .*')
	wall=$(val 'used [0-9]+ ms of CPU in ([0-9]+) ms: .*')
	in_range "wall time (ms)" "$wall" 1900 4000
	in_range "CPU share (%)" "$(awk -v u="${used:-0}" -v w="${wall:-1}" 'BEGIN { printf "%.1f", 100 * u / w }')" 15 25
	in_range "throttled periods" "$(val 'data.cpu.throttling.throttledPeriods = ([0-9]+)')" 1 1000
}

check_05-memory.sh() {
	has '10 MB'
	has '80 MB'
	lacks '(1[0-9]{2,}|[2-9][0-9]{2,}) MB'
	has 'awk exited with 137 \(128 \+ SIGKILL\)'
	has '\{"type":"oom","id":"mem-[0-9]+"\}'
	has 'data.memory.usage.limit = 104857600'
	in_range "peak usage (MB)" "$(($(val 'data.memory.usage.max = ([0-9]+)') >> 20))" 90 100
}

check_05-pids.sh() {
	has 'data.pids.current = 20'
	has 'data.pids.limit = 20'
	in_range "refused forks (pids.events max)" "$(val 'max ([0-9]+)')" 1 100000
	has 'hull: pids limit of 20 reached \(EAGAIN\): .*'
	has 'exec failed: .*'
	has 'after delete: 0 containers'
}

check_06-network.sh() {
	local host
	host=$(val '== the host: (.*)')
	[[ $host == "lo "* ]] || fail "the host's interfaces: '$host'"
	# (Other tests may add or remove links meanwhile: compare lo and eth*.)
	local hostmode w
	hostmode=$(after '== host mode: .*' | head -n 1)
	for w in $host; do
		[[ $w != lo && $w != eth* ]] || [[ " $hostmode " == *" $w "* ]] || fail "host mode lacks $w: '$hostmode'"
	done
	[[ $hostmode == "lo "* ]] || fail "host mode: '$hostmode'"
	equal "none" "$(between '== none: .*' '== container mode: .*' | paste -sd' ')" "lo 127.0.0.1/8"
	local a b
	a=$(val 'A: (.*)')
	b=$(val 'B: (.*)')
	[[ $a =~ ^net:\[[0-9]+\]\ lo\ in-a1\ in-a0$ ]] || fail "A's namespace: '$a'"
	equal "B's namespace and interfaces" "$b" "$a"
	has 'hello from A over localhost'
}

check_06-bridge.sh() {
	has 'eth0 198\.18\.[0-9]+\.2/24'
	has '64 bytes from 198\.18\.[0-9]+\.1: .*'
	has 'hd-v[0-9]+'
	has '64 bytes from 198\.18\.[0-9]+\.2: .*'
	has 'after delete: the veth is gone'
}

# ------------------------------------------------------------ leaks

# The /tmp/hull-docs.* dirs that were not there before the example ran.
new_tmp_dirs() {
	local d
	for d in /tmp/hull-docs.*; do
		[ -e "$d" ] && ! grep -qxF "$d" "$out/tmp-before" && echo "$d"
	done
	return 0
}

# What an example with script pid $1 could leave behind: its containers'
# cgroups (ids end in -PID or -PID-N), links named after it, its temp dir
# (any new /tmp/hull-docs.*), mounts there.
leftovers() {
	find /sys/fs/cgroup -maxdepth 3 -type d \( -name "*-$1" -o -name "*-$1-*" \) 2>/dev/null
	ip -o link 2>/dev/null | awk -F': ' -v p="$1" '$2 ~ "^hd-[a-z]+" p "(@|$)" { print "link " $2 }'
	new_tmp_dirs
	grep -F /tmp/hull-docs. /proc/self/mountinfo | awk '{ print "mount " $5 }'
}

# After a failure: remove what leftovers() found, as lib.sh's trap would have.
sweep() {
	local dir id link
	for dir in $(new_tmp_dirs); do
		for id in $("$HULL" --root "$dir/state" list -q 2>/dev/null); do
			"$HULL" --root "$dir/state" delete --force "$id" 2>/dev/null
		done
		grep -F " $dir/" /proc/self/mountinfo | awk '{ print $5 }' | sort -r | xargs -r -n 1 umount -l
		rm -rf "$dir"
	done
	for link in $(ip -o link | awk -F': ' -v p="$1" '$2 ~ "^hd-[a-z]+" p "(@|$)" { sub(/@.*/, "", $2); print $2 }'); do
		ip link del "$link"
	done
	find /sys/fs/cgroup -maxdepth 3 -depth -type d \( -name "*-$1" -o -name "*-$1-*" \) -exec rmdir {} + 2>/dev/null
}

# ------------------------------------------------------------ run

passed=0
failed=0
t_all=$(date +%s.%N)
for name in "${examples[@]}"; do
	if ! [ -f "$here/$name" ] || ! declare -F "check_$name" >/dev/null; then
		echo "FAIL $name: no such example (or no checks for it in run-all.sh)"
		failed=$((failed + 1))
		continue
	fi
	printf '%s\n' /tmp/hull-docs.* >"$out/tmp-before"
	t0=$(date +%s.%N)
	# Its own process group, so that a hung example can be stopped whole:
	# TERM (the example's trap cleans up), KILL 5 s later (then sweep).
	setsid "$here/$name" >"$out/$name.out" 2>&1 &
	pid=$!
	(
		trap 'kill "$s"; exit' TERM
		sleep "$LIMIT" &
		s=$!
		wait "$s" || exit
		kill -TERM -- "-$pid"
		sleep 5 &
		s=$!
		wait "$s" || exit
		kill -KILL -- "-$pid"
	) >/dev/null 2>&1 &
	watchdog=$!
	wait "$pid"
	rc=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	bad=0
	[ "$rc" = 0 ] || fail "exit status $rc$([ "$rc" = 143 ] && echo " (killed after ${LIMIT}s)")"
	"check_$name"
	left=$(leftovers "$pid")
	if [ -n "$left" ]; then
		fail "left behind: $(echo "$left" | paste -sd' ')"
		sweep "$pid"
	fi
	if [ "$bad" = 0 ]; then
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name (${secs}s); its output:"
		sed 's/^/  | /' "$out/$name.out"
		failed=$((failed + 1))
	fi
done

if bash -n "$here/07-engines.sh"; then
	echo "SKIP 07-engines.sh (syntax checked; \`just test-engines\` runs it against each engine's private daemon)"
else
	echo "FAIL 07-engines.sh: syntax error"
	failed=$((failed + 1))
fi

if [ "$update" = 1 ]; then
	if [ "$failed" = 0 ]; then
		"$PYTHON" "$here/sync-tutorial.py" update "$out" && echo "updated docs/tutorial.md"
	else
		echo "not updating docs/tutorial.md: something failed"
	fi
fi
if "$PYTHON" "$here/sync-tutorial.py" check; then
	echo "PASS tutorial.md shows every example verbatim"
	passed=$((passed + 1))
else
	echo "FAIL tutorial.md and docs/examples/ differ"
	failed=$((failed + 1))
fi

secs=$(awk -v a="$t_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "run-all: $passed passed, $failed failed in ${secs}s"
[ "$failed" = 0 ]
