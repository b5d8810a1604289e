#!/bin/bash
# A program that allocates 10 MB every half second, in a container limited to
# 100 MB of memory and no swap (memory+swap = memory).
. "$(dirname "$0")/lib.sh"
bundle mem
export prog='awk "BEGIN {
	chunk = sprintf(\"%10485760s\", \"\")
	for (i = 1; ; i++) { keep[i] = chunk; print i * 10, \"MB\"; system(\"sleep 0.5\") }
}"'
edit mem '
c["process"]["args"] = ["sh", "-c", os.environ["prog"]]
c["linux"]["resources"]["memory"] = {"limit": 100 << 20, "swap": 100 << 20}'
hull run --keep --bundle "$work/mem" "mem-$$" || echo "hull run exited with $? (128 + SIGKILL)"
hull events --stats "mem-$$" |
	pick data.memory.usage.limit data.memory.usage.max data.memory.swap.limit data.memory.oomKill
hull delete "mem-$$"
