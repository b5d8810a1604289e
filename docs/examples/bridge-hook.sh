#!/bin/sh
# A createRuntime hook: the job of an engine's network plugin (CNI's bridge).
# hull runs it on the host after the container's namespaces exist, before
# pivot_root, with the container's state JSON on stdin and an empty environment.
# Usage (hooks.createRuntime[].args): bridge-hook.sh BRIDGE VETH ADDRESS/PREFIX
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
bridge=$1 veth=$2 address=$3
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')   # the container's init, from the state
netns=/proc/$pid/ns/net

ip link add name "$veth" type veth peer name "$veth-c"
ip link set "$veth" master "$bridge" up
ip link set "$veth-c" netns "$pid"              # into the container's namespace: $netns
nsenter --net="$netns" ip link set "$veth-c" name eth0
nsenter --net="$netns" ip addr add "$address" dev eth0
nsenter --net="$netns" ip link set eth0 up
