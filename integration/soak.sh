#!/bin/bash
# Soak: N lifecycles, J at a time, mixing run, create/start/kill/delete, exec
# and pause/resume; then checks that nothing leaked.
#
#   integration/soak.sh [N] [J] [HULL]     (defaults: 1000 8 target/release/hull)
#
# Compared before and after: cgroup directories under every hierarchy's hull/
# parent, entries in --root, mounts in /proc/self/mountinfo, zombie
# processes, and the open descriptors of a long-running `hull events`.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
j=${2:-8}
hull=$(realpath "${3:-target/release/hull}")
work=$(mktemp -d /tmp/hull-soak.XXXXXX)
root=$work/root
events_pid=
cleanup() {
	[ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null || true
	for c in $("$hull" --root "$root" list -q 2>/dev/null); do "$hull" --root "$root" delete -f "$c" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT

scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$hull" spec --bundle "$work/bundle"
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sh", "-c", "exit 0"/' "$work/bundle/config.json"
mkdir -p "$work/long"
sed 's/"sh", "-c", "exit 0"/"sleep", "1000"/; s|"path": "rootfs"|"path": "'"$work"'/bundle/rootfs"|' "$work/bundle/config.json" > "$work/long/config.json"

cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path '*/hull/*' 2>/dev/null | wc -l; }
zombies() { ps -eo stat= | grep -c '^Z' || true; }
mounts() { wc -l < /proc/self/mountinfo; }
entries() { ls -A "$root" 2>/dev/null | wc -l; }

# A long-running hull process to watch for descriptor leaks.
"$hull" --root "$root" run -d --bundle "$work/long" watched
"$hull" --root "$root" events --interval 100ms watched > /dev/null &
events_pid=$!
sleep 0.3
fds() { ls /proc/"$events_pid"/fd | wc -l; }

before="cgroups=$(cgroups) entries=$(entries) mounts=$(mounts) fds=$(fds)"
zombies_before=$(zombies)

cat > "$work/one.sh" <<SH
#!/bin/sh
h=$hull; r=$root; b=$work/bundle; l=$work/long; i=\$1; id=soak\$i
case \$((i % 4)) in
0) \$h --root \$r run --bundle \$b \$id > /dev/null ;;
1) \$h --root \$r create --bundle \$b \$id > /dev/null && \$h --root \$r start \$id &&
   \$h --root \$r kill \$id KILL 2>/dev/null; \$h --root \$r delete -f \$id ;;
2) \$h --root \$r run -d --bundle \$l \$id > /dev/null && \$h --root \$r exec \$id true &&
   \$h --root \$r delete -f \$id ;;
3) \$h --root \$r run -d --bundle \$l \$id > /dev/null && \$h --root \$r pause \$id && \$h --root \$r resume \$id &&
   \$h --root \$r delete -f \$id ;;
esac || { echo "FAIL \$i"; \$h --root \$r delete -f \$id > /dev/null 2>&1; exit 1; }
SH
chmod +x "$work/one.sh"

t0=$(date +%s.%N)
failures=$(seq "$n" | xargs -P "$j" -I{} "$work/one.sh" {} 2>"$work/errors" | grep -c FAIL || true)
t1=$(date +%s.%N)
sleep 0.5 # let the kernel finish tearing down the last namespaces

after="cgroups=$(cgroups) entries=$(entries) mounts=$(mounts) fds=$(fds)"
# Exited inits are reparented to PID 1, which reaps slowly on these
# machines: give it a few seconds before counting zombies.
for _ in $(seq 50); do [ "$(zombies)" -le "$zombies_before" ] && break; sleep 0.1; done
zombies_after=$(zombies)
printf 'soak: %d lifecycles, %d at a time, %.1f s, %d failed\n' "$n" "$j" "$(echo "$t1 - $t0" | bc)" "$failures"
echo "soak: before $before zombies=$zombies_before"
echo "soak: after  $after zombies=$zombies_after"
status=0
if [ "$failures" != 0 ]; then echo "soak: FAIL: $failures lifecycles failed; first errors:"; head -5 "$work/errors"; status=1; fi
if [ "$before" != "$after" ]; then echo "soak: FAIL: something leaked"; status=1; fi
if [ "$zombies_after" -gt "$zombies_before" ]; then echo "soak: FAIL: zombies left"; status=1; fi
[ $status = 0 ] && echo "soak: PASS"
exit $status
