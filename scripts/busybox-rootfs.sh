#!/bin/sh
# Builds a minimal busybox root filesystem in DIR (static busybox + applet links).
# Usage: [BUSYBOX=/path/to/busybox] scripts/busybox-rootfs.sh DIR
# (busybox's own sh answers `command -v busybox` with a bare applet name: set BUSYBOX there)
set -eu
dir=$1
bb=${BUSYBOX:-$(command -v busybox)}
mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc" "$dir/root"
cp "$bb" "$dir/bin/busybox"
for a in $("$dir/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$dir/etc/passwd"
printf 'root:x:0:\n' > "$dir/etc/group"
