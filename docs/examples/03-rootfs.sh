#!/bin/bash
# The root filesystem: pivot_root into the bundle, a read-only root, masked paths.
. "$(dirname "$0")/lib.sh"
bundle box

echo "== the host's / and the bundle's rootfs/"
ls / | paste -sd' '
ls "$work/box/rootfs" | paste -sd' '
touch "$work/only-on-the-host"

echo "== inside: / is the bundle's rootfs (pivot_root), the host's files are gone"
export prog='
ls / | paste -sd" "
awk "\$5 == \"/\" { print \"/ is mounted from\", \$4 }" /proc/self/mountinfo
ls '"$work"'/only-on-the-host
touch /new-file
echo written > /dev/shm/scratch && echo "/dev/shm (a tmpfs) is writable"
echo "/proc/timer_list: $(wc -l < /proc/timer_list) lines; /sys/firmware: [$(ls /sys/firmware)]"
echo other > /proc/sys/kernel/hostname'
edit box 'c["process"]["args"] = ["sh", "-c", os.environ["prog"]]'
hull run --bundle "$work/box" "rootfs-$$" || echo "exit status $?"
echo "on the host: /proc/timer_list: $(wc -l < /proc/timer_list) lines; /sys/firmware: [$(ls /sys/firmware | paste -sd' ')]"

echo "== with root.readonly false, a file written in / lands in the bundle"
edit box 'c["root"]["readonly"] = False'
edit box 'c["process"]["args"] = ["sh", "-c", "echo hello > /new-file"]'
hull run --bundle "$work/box" "rootfs-rw-$$"
cat "$work/box/rootfs/new-file"
