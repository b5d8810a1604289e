#!/bin/bash
# A busy loop held at 20 % of one CPU: a quota of 20 ms of CPU time every 100 ms.
. "$(dirname "$0")/lib.sh"
bundle cpu
edit cpu '
c["process"]["args"] = ["sh", "-c", "while :; do :; done"]
c["linux"]["resources"]["cpu"] = {"quota": 20000, "period": 100000}'
hull create --bundle "$work/cpu" "cpu-$$"
hull start "cpu-$$"

# hull wrote the limit into the container's cgroup (v1 here; on cgroup v2 it is cpu.max).
grep . /sys/fs/cgroup/cpu/hull/"cpu-$$"/cpu.cfs_{period,quota}_us 2>/dev/null ||
	cat /sys/fs/cgroup/hull/"cpu-$$"/cpu.max

# CPU time the cgroup used (nanoseconds) over 2 s of wall time.
sleep 0.3
used0=$(hull events --stats "cpu-$$" | json data.cpu.usage.total) t0=$(date +%s%N)
sleep 2
used1=$(hull events --stats "cpu-$$" | json data.cpu.usage.total) t1=$(date +%s%N)
echo "used $(((used1 - used0) / 1000000)) ms of CPU in $(((t1 - t0) / 1000000)) ms:" \
	"$(((used1 - used0) * 100 / (t1 - t0))) % of one CPU"
hull events --stats "cpu-$$" | pick data.cpu.throttling.periods data.cpu.throttling.throttledPeriods
hull delete --force "cpu-$$"
