#!/bin/sh
# The demo: a busybox container that shows it is PID 1 of its own process
# tree and has its own hostname.
set -eu
hull=${HULL:-target/release/hull}
work=target/demo
rm -rf "$work"
mkdir -p "$work/bundle"
scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$hull" spec --bundle "$work/bundle"
# Not a terminal (so it runs anywhere), and a script to run.
sed -i 's/"terminal": true/"terminal": false/' "$work/bundle/config.json"
sed -i 's|"sh"$|"sh", "-c", "echo \\"inside: my pid is $$, hostname $(hostname)\\"; ps -o pid,comm; echo; echo host hostname: $HOSTNAME_OUTSIDE"|' "$work/bundle/config.json"
sed -i "s|\"TERM=xterm\"|\"TERM=xterm\", \"HOSTNAME_OUTSIDE=$(hostname)\"|" "$work/bundle/config.json"
echo "\$ hull run --bundle $work/bundle demo"
"$hull" --root "$work/state" run --bundle "$work/bundle" "demo-$$"
