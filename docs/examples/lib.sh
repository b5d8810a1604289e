# shellcheck shell=bash
# Sourced by every example: a private state root, busybox bundles, and a
# cleanup that runs however the example ends.
#
#   hull ...            the hull under test, with this example's own --root
#   bundle NAME         a busybox bundle: $work/NAME/{config.json,rootfs/}
#   edit NAME 'PY'      edit NAME's config.json: Python statements on `c` (os imported)
#   pick PATH...        print fields of the JSON on stdin (a.b.c, one a line)
#   json PATH           print one field of the JSON on stdin, bare
#   on_exit 'CMD'       run CMD at exit (newest first), e.g. to delete a bridge
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HULL=${HULL:-$repo/target/release/hull}
work=$(mktemp -d /tmp/hull-docs.XXXXXX)
chmod 755 "$work"
exits=()

PYTHON=$(command -v /usr/bin/python3 || command -v python3)

hull() { "$HULL" --root "$work/state" "$@"; }

on_exit() { exits=("$1" "${exits[@]}"); }

cleanup() {
	local cmd id mnt
	for id in $(hull list -q 2>/dev/null); do hull delete --force "$id" 2>/dev/null || true; done
	for cmd in "${exits[@]}"; do eval "$cmd" >/dev/null 2>&1 || true; done
	# Mounts a container without a mount namespace left on the host.
	awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A busybox root filesystem, built once and copied for each bundle.
rootfs_template() {
	local t=$repo/target/docs-rootfs
	if [ ! -x "$t/bin/sh" ]; then
		rm -rf "$t.$$"
		"$repo/scripts/busybox-rootfs.sh" "$t.$$"
		mv -T "$t.$$" "$t" 2>/dev/null || rm -rf "$t.$$"
	fi
	echo "$t"
}

bundle() {
	mkdir -p "$work/$1"
	cp -a "$(rootfs_template)" "$work/$1/rootfs"
	hull spec --bundle "$work/$1"
	edit "$1" 'c["process"]["terminal"] = False'
}

edit() {
	"$PYTHON" - "$work/$1/config.json" "$2" <<-'EOF'
		import json, os, sys
		path, code = sys.argv[1], sys.argv[2]
		c = json.load(open(path))
		exec(code)
		json.dump(c, open(path, "w"), indent=2)
	EOF
}

pick() {
	"$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
for path in sys.argv[1:]:
    x = v
    for k in path.split("."):
        x = x[int(k)] if isinstance(x, list) else x[k]
    print(path, "=", json.dumps(x))' "$@"
}

json() {
	pick "$1" | sed 's/^[^=]* = //; s/^"\(.*\)"$/\1/'
}
