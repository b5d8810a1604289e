#!/bin/bash
# A program that allocates 10 MB every half second, in a container limited to
# 100 MB of memory and no swap (memory+swap = memory). The shell around it
# stays, so the container still runs after the kill.
. "$(dirname "$0")/lib.sh"
bundle mem
export prog='awk "BEGIN {
	chunk = sprintf(\"%10485760s\", \"\")
	for (i = 1; ; i++) { keep[i] = chunk; print i * 10, \"MB\"; system(\"sleep 0.5\") }
}"; echo "awk exited with $? (128 + SIGKILL)"; sleep 60'
edit mem '
c["process"]["args"] = ["sh", "-c", os.environ["prog"]]
c["linux"]["resources"]["memory"] = {"limit": 100 << 20, "swap": 100 << 20}'
hull create --bundle "$work/mem" "mem-$$"
hull start "mem-$$"
# Usage every --interval, and an "oom" event as soon as the kernel kills
# (hull events ends at its next write, once grep has gone).
(hull events --interval 100ms "mem-$$" || true) | grep -m 1 '"type":"oom"'
hull events --stats "mem-$$" | pick data.memory.usage.limit data.memory.usage.max data.memory.swap.limit
hull delete --force "mem-$$"
