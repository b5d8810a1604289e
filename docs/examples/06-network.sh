#!/bin/bash
# Network modes: host, none, and joining another container's namespace.
. "$(dirname "$0")/lib.sh"
bundle net
export links='ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d " " | paste -sd" "'

echo "== the host: $(eval "$links")"

echo "== host mode: no network namespace in config.json"
edit net 'c["process"]["args"] = ["sh", "-c", os.environ["links"]]
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
hull run --bundle "$work/net" "net-host-$$"

echo "== none: a new, empty network namespace (hull brings lo up)"
edit net 'c["linux"]["namespaces"].append({"type": "network"})
c["process"]["args"] = ["sh", "-c", os.environ["links"] + "; ip -4 -o addr show lo | awk \"{ print \\$4 }\""]'
hull run --bundle "$work/net" "net-none-$$"

echo "== container mode: B joins the network namespace of a running container A by path"
edit net 'c["process"]["args"] = ["sh", "-c", "echo hello from A over localhost | nc -l -p 8080"]'
hull create --bundle "$work/net" "net-a-$$"
hull start "net-a-$$"
pid=$(hull state "net-a-$$" | json pid)
nsenter --net="/proc/$pid/ns/net" ip link add name in-a0 type veth peer name in-a1   # only in A's namespace
echo "A: $(readlink "/proc/$pid/ns/net") $(nsenter --net="/proc/$pid/ns/net" sh -c "$links")"
bundle net-b
export path=/proc/$pid/ns/net
edit net-b 'for n in c["linux"]["namespaces"]:
    if n["type"] == "network": n["path"] = os.environ["path"]
c["process"]["args"] = ["sh", "-c", "echo B: $(readlink /proc/self/ns/net) $(" + os.environ["links"] + "); nc 127.0.0.1 8080"]'
hull run --bundle "$work/net-b" "net-b-$$"
hull delete --force "net-a-$$"
