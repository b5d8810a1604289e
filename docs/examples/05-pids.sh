#!/bin/bash
# A fork bomb in a container whose cgroup allows 20 processes.
. "$(dirname "$0")/lib.sh"
bundle bomb
export prog='bomb() { bomb & bomb & exec sleep 60; }; bomb 2>/dev/null'
edit bomb '
c["process"]["args"] = ["sh", "-c", os.environ["prog"]]
c["linux"]["resources"]["pids"] = {"limit": 20}'
hull create --bundle "$work/bomb" "bomb-$$"
hull start "bomb-$$"
sleep 1
hull events --stats "bomb-$$" | pick data.pids.current data.pids.limit
# The kernel counts the forks it refused (v1 path here; on cgroup v2: /sys/fs/cgroup/hull/ID/).
cat /sys/fs/cgroup/pids/hull/"bomb-$$"/pids.events 2>/dev/null || cat /sys/fs/cgroup/hull/"bomb-$$"/pids.events
hull exec "bomb-$$" true || echo "exec failed: not even the runtime gets a 21st process"
hull delete --force "bomb-$$"
echo "after delete: $(hull list -q | wc -l) containers"
