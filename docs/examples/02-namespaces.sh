#!/bin/bash
# Namespaces one at a time: the same probe, run with one more namespace each time.
. "$(dirname "$0")/lib.sh"

# The probe prints its namespaces, then: its pid, how many processes /proc
# shows, the hostname, the network interfaces, which host uid its root is,
# and its memory cgroup.
export probe='
for n in cgroup ipc mnt net pid user uts; do printf "%s " "$(readlink /proc/self/ns/$n)"; done
set -- /proc/[0-9]*
echo "| $$ | $# | $(hostname) | $(ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d " " | paste -sd,) |" \
	"$(awk "\$1 == 0 { print \$2 }" /proc/self/uid_map) | $(grep memory /proc/self/cgroup | cut -d: -f3)"'

bundle ns
# No namespaces at all: hull only chroots into the rootfs; /proc is the host's, bound in.
edit ns '
c["process"]["args"] = ["sh", "-c", os.environ["probe"]]
c["linux"]["namespaces"] = []
del c["hostname"]
c["mounts"] = [{"destination": "/proc", "type": "bind", "source": "/proc", "options": ["bind"]}]'

host_ns=$(for n in cgroup ipc mnt net pid user uts; do readlink "/proc/self/ns/$n"; done)
row='%-7s | %-31s | %5s | %5s | %-8s | %-17s | %-10s | %s\n'
printf "$row" added "namespaces not the host's" '$$' /proc hostname interfaces "root is" cgroup
step=0
for added in - uts pid mount ipc network user cgroup; do
	case $added in
	-) ;;
	uts) edit ns 'c["linux"]["namespaces"].append({"type": "uts"}); c["hostname"] = "box"' ;;
	mount) # an own mount table: now a fresh procfs can replace the host's /proc
		edit ns 'c["linux"]["namespaces"].append({"type": "mount"})
c["mounts"] = [{"destination": "/proc", "type": "proc", "source": "proc"}]' ;;
	user) # container uids 0-65535 are host uids 100000-165535
		edit ns 'c["linux"]["namespaces"].append({"type": "user"})
c["linux"]["uidMappings"] = c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' ;;
	*) edit ns "c['linux']['namespaces'].append({'type': '$added'})" ;;
	esac
	step=$((step + 1))
	out=$(hull run --bundle "$work/ns" "ns-$$-$step")
	# the names of the namespaces whose ids differ from the host's
	new=$(paste -d' ' <(echo "$host_ns") <(echo "${out%%|*}" | tr ' ' '\n' | grep .) |
		awk '$1 != $2 { sub(/:.*/, "", $1); print $1 }' | paste -sd' ')
	IFS='|' read -r _ pid procs hostname ifs root cg <<<"${out// /}"
	printf "$row" "$added" "${new:--}" "$pid" "$procs" "$hostname" "$ifs" "uid $root" "$cg"
done

echo "== all of them: the container's namespaces next to the host's"
edit ns 'c["process"]["args"] = ["sleep", "60"]'
hull create --bundle "$work/ns" "ns-$$"
hull start "ns-$$"
pid=$(hull state "ns-$$" | json pid)
for n in cgroup ipc mnt net pid user uts; do
	printf '%-6s  host %-20s  container %s\n' $n "$(readlink /proc/self/ns/$n)" "$(readlink "/proc/$pid/ns/$n")"
done
echo "== root in the container is an unprivileged user on the host"
hull exec "ns-$$" id
grep -E '^(Uid|Gid)' "/proc/$pid/status"
ps -o user,pid,comm -p "$pid"
