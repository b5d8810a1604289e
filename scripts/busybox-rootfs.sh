#!/bin/sh
# Builds a minimal busybox root filesystem in DIR (static busybox + applet links).
# Usage: scripts/busybox-rootfs.sh DIR
set -eu
dir=$1
bb=$(command -v busybox)
mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc" "$dir/root"
cp "$bb" "$dir/bin/busybox"
for a in $("$dir/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$dir/etc/passwd"
printf 'root:x:0:\n' > "$dir/etc/group"
