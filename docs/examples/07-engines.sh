#!/bin/bash
# The same busybox container through podman, docker and containerd, with hull
# as their runtime, and an exec into it. `just test-engines` runs each part
# against its private daemon and storage (integration/engines/*.sh, check
# "tutorial") and checks the pid 1 lines.
#
# Usage: 07-engines.sh IMAGE [podman] [docker] [containerd]   (default: all)
#        IMAGE: a busybox image the engines have, e.g.
#        docker.io/library/busybox:latest; dockerd started with
#        --add-runtime hull=/path/to/hull, or "runtimes" in daemon.json
set -euo pipefail
hull=$(readlink -f "${HULL:-$(dirname "$0")/../../target/release/hull}")
image=$1
shift
engines=" ${*:-podman docker containerd} "

if [[ $engines == *" podman "* ]]; then
	echo "== podman: no daemon; conmon calls the runtime given by path"
	podman --runtime "$hull" run --rm "$image" sh -c 'echo "podman: I am pid $$"'
	podman --runtime "$hull" run -d --name "docs-$$" "$image" sleep 600
	podman --runtime "$hull" exec "docs-$$" ps -o pid,comm
	podman --runtime "$hull" rm --force "docs-$$"
fi

if [[ $engines == *" docker "* ]]; then
	echo "== docker: dockerd -> containerd -> the runc shim, which calls hull"
	docker run --runtime hull --network none --rm "$image" sh -c 'echo "docker: I am pid $$"'
	docker run --runtime hull --network none -d --name "docs-$$" "$image" sleep 600
	docker exec "docs-$$" ps -o pid,comm
	docker rm --force "docs-$$"
fi

if [[ $engines == *" containerd "* ]]; then
	echo "== containerd: ctr with the runc v2 shim, hull as its runc binary"
	ctr run --runtime io.containerd.runc.v2 --runc-binary "$hull" --rm "$image" "docs-$$-a" \
		sh -c 'echo "containerd: I am pid $$"'
	ctr run --runtime io.containerd.runc.v2 --runc-binary "$hull" -d "$image" "docs-$$" sleep 600
	ctr task exec --exec-id ps "docs-$$" ps -o pid,comm
	ctr task kill --signal SIGKILL "docs-$$"
	ctr task rm "docs-$$" || true # reports the exit status, 137
	ctr container rm "docs-$$"
fi
