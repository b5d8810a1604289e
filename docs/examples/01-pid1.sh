#!/bin/bash
# A process on the host vs. the same program in a container.
. "$(dirname "$0")/lib.sh"
export prog='echo "I am pid $$, my parent is pid $PPID"; busybox ps -o pid,comm; echo done'

echo "== on the host"
busybox sh -c "$prog" | sed -n 1,5p
echo "... $(busybox ps -o pid= | wc -l) processes in all"

echo "== the same program in a container"
bundle box
edit box 'c["process"]["args"] = ["sh", "-c", os.environ["prog"]]'
hull run --bundle "$work/box" "pid1-$$"

echo "== the host's view of a container"
edit box 'c["process"]["args"] = ["sleep", "60"]'
hull create --bundle "$work/box" "pid1-sleep-$$"
hull start "pid1-sleep-$$"
hull state "pid1-sleep-$$"
pid=$(hull state "pid1-sleep-$$" | json pid)
grep NSpid "/proc/$pid/status"
ps -o pid,comm -p "$pid"
hull exec "pid1-sleep-$$" ps -o pid,comm
hull delete --force "pid1-sleep-$$"
