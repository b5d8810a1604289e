#!/bin/bash
# Kubernetes' path: containerd's CRI plugin runs pods on the runtime under test.
#
# Usage: integration/cri/run.sh [RUNTIME]   (default: target/release/hull)
#        ENG_KEEP=1 integration/cri/run.sh ...   keeps the work dir (logs, configs)
#
# Sets up a private containerd 1.6 (Debian's) with the CRI plugin on and the
# runc v2 shim's binary (runtime option BinaryName) set to RUNTIME, under a
# runtime handler "cri-test" (what a RuntimeClass names); a pause image and a
# busybox image made from static busybox and imported into the k8s.io
# namespace; a CNI bridge network (Debian's containernetworking-plugins:
# bridge + host-local IPAM; containerd adds the loopback plugin itself).
# Then runs the CRI client of tests/cri.rs (a cargo project of its own, built
# into target/cri) that makes a kubelet's calls and checks their effect on
# the host. Every check prints PASS or FAIL; the exit status is non-zero when
# any failed.
#
# Everything is private and removed on exit: the work dir (/tmp/eng-cri.*:
# containerd's root, state, sockets, runtime root, CNI config and IP leases,
# pod logs, the kubelet dir), the cgroup parent /cri-PID, the bridge
# cri-brPID, containerd's mount namespace (rootfs, /dev/shm, netns and the
# kubelet dir's mounts live only there).

# shellcheck disable=SC2317   # functions run through eng_defer
# shellcheck source=../engines/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../engines/lib.sh"
eng_setup cri "$@"
HERE=$ENG_REPO/integration/cri
eng_need busybox-static containerd containernetworking-plugins protobuf-compiler iproute2

ID=cri-$$
CGROUP_PARENT=/$ID                 # the pods' cgroups go below it
BRIDGE=cri-br$$
NET=$ID-net                        # CNI network name
HANDLER=cri-test                   # runtime handler (RuntimeClass handler)
PAUSE_IMAGE=docker.io/library/cri-pause:latest
IMAGE=docker.io/library/cri-busybox:latest
D=$ENG_TMP/containerd
SOCK=$D/containerd.sock
RUNTIME_ROOT=$D/runtime/k8s.io     # the shim passes --root <Root>/<namespace>
CNI_CONF=$ENG_TMP/cni/net.d
IPAM_DIR=$ENG_TMP/cni/ipam
LOG_DIR=$ENG_TMP/pods
CNI_CACHE=/var/lib/cni/results     # libcni's cache, not configurable in containerd 1.6
eng_own_cgroup "$CGROUP_PARENT"
mkdir -p "$D" "$CNI_CONF" "$IPAM_DIR" "$LOG_DIR"

# ------------------------------------------------------- the CRI client

# Built first: a cold build (tonic, prost, the CRI types) takes a minute or
# two, later runs reuse target/cri.
t0=$(date +%s.%N)
export CARGO_TARGET_DIR=${CRI_TARGET_DIR:-$ENG_REPO/target/cri}
if ! (cd "$HERE" && cargo build --locked --tests --quiet) >"$ENG_TMP/cargo.log" 2>&1; then
	eng_fatal "cargo build of the CRI client failed: $(tail -n 15 "$ENG_TMP/cargo.log" | tr '\n' ' ')"
fi
eng_log "CRI client built in $(eng_elapsed "$t0")s ($CARGO_TARGET_DIR)"

# ----------------------------------------------------------- network

# A /24 that no route of the host uses yet.
SUBNET=""
for i in $(seq 0 63); do
	cand="10.$((200 + ($$ + i) % 50)).$((($$ / 50 + i) % 256))"
	if ! ip route | grep -q "^$cand\."; then
		SUBNET=$cand
		break
	fi
done
[ -n "$SUBNET" ] || eng_fatal "no free 10.x.y.0/24 for the pod network"
# No gateway and no masquerading: the plugin then changes nothing on the host
# but the bridge itself (isGateway would switch on ip_forward).
cat >"$CNI_CONF/10-$NET.conflist" <<-EOF
	{
	  "cniVersion": "0.4.0",
	  "name": "$NET",
	  "plugins": [
	    {
	      "type": "bridge",
	      "bridge": "$BRIDGE",
	      "isGateway": false,
	      "ipMasq": false,
	      "ipam": {
	        "type": "host-local",
	        "ranges": [[{ "subnet": "$SUBNET.0/24" }]],
	        "dataDir": "$IPAM_DIR"
	      }
	    }
	  ]
	}
EOF
eng_defer "ip link del '$BRIDGE'"
[ -d /var/lib/cni ] || eng_defer "rmdir $CNI_CACHE /var/lib/cni"
eng_defer "rm -f $CNI_CACHE/$NET-*"

# --------------------------------------------------------- containerd

{
	eng_cri_config_head "$D" "$D/state" "$SOCK" "$PAUSE_IMAGE"
	cat <<-EOF
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    snapshotter = "overlayfs"
	    default_runtime_name = "$HANDLER"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$HANDLER]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$HANDLER.options]
	        BinaryName = "$RUNTIME"
	        Root = "$D/runtime"
	        SystemdCgroup = false
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$CNI_CONF"
	    max_conf_num = 1
	EOF
} >"$D/config.toml"

# Its own mount namespace: no rootfs, /dev/shm or netns mount can outlive it.
t0=$(date +%s.%N)
unshare --mount --propagation private containerd --config "$D/config.toml" >"$D/containerd.log" 2>&1 &
CTRD_PID=$!
eng_defer "eng_stop_pid $CTRD_PID containerd"
eng_wait_socket "$SOCK" "$CTRD_PID" ||
	eng_fatal "containerd did not start: $(tail -n 5 "$D/containerd.log" | tr '\n' ' ')"
eng_log "containerd pid $CTRD_PID up in $(eng_elapsed "$t0")s, socket $SOCK"
CTR=(ctr --address "$SOCK" --namespace k8s.io)

# What the kubelet does to /var/lib/kubelet at its start (MakeRShared): a
# bind mount of itself made shared, so that Bidirectional volumes below it can
# propagate. Here a directory of the work dir, in containerd's mount namespace
# (the pods' node); whatever a failed check left mounted below it goes too.
KUBELET_DIR=$ENG_TMP/kubelet
mkdir -p "$KUBELET_DIR"
eng_defer "nsenter -t $CTRD_PID -m umount -R -l '$KUBELET_DIR'"
nsenter -t "$CTRD_PID" -m sh -c "mount --bind '$KUBELET_DIR' '$KUBELET_DIR' && mount --make-rshared '$KUBELET_DIR'" ||
	eng_fatal "could not make $KUBELET_DIR a shared mount in containerd's mount namespace"

# On the way out, whatever the checks left: kill and delete every task so the
# shims exit, drop their CNI cache entries; then containerd is stopped.
cri_cleanup() {
	local id
	for id in $("${CTR[@]}" container ls -q); do
		timeout 10 "${CTR[@]}" task kill -s SIGKILL "$id"
		timeout 10 "${CTR[@]}" task rm -f "$id"
		timeout 10 "${CTR[@]}" container rm "$id"
		rm -f "$CNI_CACHE"/*-"$id"-*
	done
}
eng_defer cri_cleanup

# ------------------------------------------------------------- images


t0=$(date +%s.%N)
PATH_ENV='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
# The pause image: static busybox's sleep, until containerd kills it.
pause=$ENG_TMP/pause-rootfs
mkdir -p "$pause/bin" "$pause/dev" "$pause/proc" "$pause/sys" "$pause/etc"
cp "$(command -v busybox)" "$pause/bin/busybox"
ln -s busybox "$pause/bin/sleep"
eng_ctr_image "$PAUSE_IMAGE" "$pause" "{$PATH_ENV,\"Entrypoint\":[\"/bin/sleep\",\"2147483647\"]}"
# The containers' image: a busybox root filesystem.
"$ENG_REPO/scripts/busybox-rootfs.sh" "$ENG_TMP/bb-rootfs" || eng_fatal "busybox-rootfs.sh failed"
eng_ctr_image "$IMAGE" "$ENG_TMP/bb-rootfs" "{$PATH_ENV,\"Cmd\":[\"sh\"]}"
eng_log "images imported in $(eng_elapsed "$t0")s"

# ------------------------------------------------------------- checks

out=$ENG_TMP/cri.out
(
	cd "$HERE" &&
		CRI_SOCK=$SOCK CRI_RUNTIME=$RUNTIME CRI_RUNTIME_ROOT=$RUNTIME_ROOT CRI_HANDLER=$HANDLER \
			CRI_CGROUP_PARENT=$CGROUP_PARENT CRI_WORKDIR=$ENG_TMP CRI_CONTAINERD_PID=$CTRD_PID \
			CRI_NETNS_DIR=$D/state/io.containerd.grpc.v1.cri/netns CRI_BRIDGE=$BRIDGE \
			CRI_SUBNET_PREFIX=$SUBNET. CRI_IPAM_DIR=$IPAM_DIR/$NET CRI_CNI_CACHE=$CNI_CACHE \
			CRI_PAUSE_IMAGE=$PAUSE_IMAGE CRI_IMAGE=$IMAGE CRI_LOG_DIR=$LOG_DIR \
			CRI_KUBELET_DIR=$KUBELET_DIR \
			timeout -k 5 600 cargo test --locked --quiet --test cri
) 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
ENG_PASSED=$((ENG_PASSED + $(grep -c '^PASS ' "$out")))
failed=$(grep -c '^FAIL ' "$out")
ENG_FAILED=$((ENG_FAILED + failed))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	eng_fail cri-client "exited $rc without a FAIL line"
fi
# On failure, what the runtime said: containerd logs the shim's errors.
if [ "$rc" != 0 ]; then
	echo "--- containerd errors (full log: $D/containerd.log, kept with ENG_KEEP=1)"
	grep -E 'level=(error|warning)' "$D/containerd.log" | tail -n 12 | cut -c1-400
fi
eng_finish
