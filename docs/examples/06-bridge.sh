#!/bin/bash
# Bridge mode: a veth pair from a Linux bridge on the host into the container,
# set up by a createRuntime hook.
. "$(dirname "$0")/lib.sh"
net=198.18.$(($$ % 256))          # a /24 of the benchmarking range, for this run
bridge=hd-br$$ veth=hd-v$$

ip link add name "$bridge" type bridge
on_exit "ip link del $bridge"
on_exit "ip link del $veth"       # normally gone with the container's namespace
ip addr add "$net.1/24" dev "$bridge"
ip link set "$bridge" up

bundle web
hook=$(dirname "$(readlink -f "$0")")/bridge-hook.sh
export hook args="$bridge $veth $net.2/24"
edit web '
c["hooks"] = {"createRuntime": [{"path": os.environ["hook"], "args": ["bridge-hook.sh"] + os.environ["args"].split()}]}
for s in "bounding", "effective", "permitted": c["process"]["capabilities"][s].append("CAP_NET_RAW")  # for ping
c["process"]["args"] = ["sleep", "60"]'
hull create --bundle "$work/web" "bridge-$$"
hull start "bridge-$$"

echo "== inside: eth0, and the bridge answers"
hull exec "bridge-$$" ip -4 -o addr show eth0 | awk '{ print $2, $4 }'
hull exec "bridge-$$" ping -c 1 -W 2 "$net.1" | grep from
echo "== on the host: the bridge's port, and the container answers"
ip -o link show master "$bridge" | cut -d: -f2 | cut -d@ -f1 | tr -d " "
busybox ping -c 1 -W 2 "$net.2" | grep from
hull delete --force "bridge-$$"
# The kernel tears the namespace down in the background, with the veth pair in it.
for _ in $(seq 30); do ip link show "$veth" >/dev/null 2>&1 || break; sleep 0.1; done
echo "after delete: the veth is $(ip link show "$veth" >/dev/null 2>&1 && echo still there || echo gone)"
