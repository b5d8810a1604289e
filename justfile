# hull's tasks. `just demo` and `just test` are the two commands of the README.

set shell := ["bash", "-euo", "pipefail", "-c"]

target := "x86_64-unknown-linux-gnu"

# The release binary: static-pie (no dynamic loader at each of the three
# process starts of a container's lifecycle), copied to target/release/hull.
# Its relative relocations are packed (DT_RELR, glibc 2.36 and binutils 2.38
# or later): 4 KiB instead of 280 KiB read at every start, 380-450 KiB less
# peak RSS per command.
build:
    RUSTFLAGS="-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs" cargo build --release -p hull --target {{target}}
    mkdir -p target/release
    cp -f target/{{target}}/release/hull target/release/hull

# A busybox container showing its PID 1 view and its own hostname.
demo: build
    scripts/deps.sh
    scripts/demo.sh

# Every test: lint, unit, real containers on this host, pure cgroup v2 in a
# VM, the production-like systemd host in a VM (systemd cgroup driver,
# engines in their default configuration, AppArmor), containerd/podman/docker
# running busybox through hull, the Debian package installed and run by
# Docker, the tutorial's examples, and pods through containerd's CRI plugin.
test: lint build
    scripts/deps.sh uidmap criu
    cargo build -p hull
    cargo test --workspace
    just soak 200
    just test-cgroup2
    just test-systemd
    just test-engines
    just test-package
    just test-docs
    just test-cri
    just clean-cgroups

# hull keeps the `hull` parent cgroup of the default path (as engines keep
# theirs); after the suite, remove it where no container is left under it.
# Also the empty plain directories (not cgroup mounts) that podman's mkdir -p
# leaves on the cgroup tmpfs for v1 controllers this host does not mount.
clean-cgroups:
    for d in /sys/fs/cgroup/*/hull /sys/fs/cgroup/hull; do [ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true; done
    for d in /sys/fs/cgroup/*/; do mountpoint -q "$d" || rmdir "$d" 2>/dev/null || true; done

# Unit tests only (no root needed).
unit:
    cargo test --workspace --lib

# The cgroup v2 suite inside a qemu VM booted with cgroup_no_v1=all.
test-cgroup2: build
    integration/cgroup2/run.sh

# The production-like host: a Debian 12 VM (systemd as PID 1, pure cgroup
# v2, AppArmor; image built once and cached in /var/tmp/hull-systemd-vm)
# running integration/systemd-vm/tests.sh with hull: the systemd cgroup
# driver, cgroupfs under systemd, podman/Docker/containerd/CRI in their
# default configuration, AppArmor. Sections may be named (e.g. `just
# test-systemd systemd-driver`).
test-systemd *sections: build
    integration/systemd-vm/run.sh -r hull {{sections}}

# The same suite with the guest's Debian runc as the runtime: the proof that
# its checks are real (every one passes with runc).
test-systemd-runc *sections:
    integration/systemd-vm/run.sh -r runc {{sections}}

# Checkpoint/restore with CRIU (docs/checkpoint.md) in the systemd VM:
# this host's kernel is one CRIU cannot handle. `-runc`: the same checks
# with the guest's Debian runc.
test-criu: build
    integration/systemd-vm/run.sh -r hull criu

test-criu-runc:
    integration/systemd-vm/run.sh -r runc criu

# containerd + ctr, podman, dockerd with hull as their runtime.
test-engines: build
    integration/engines/run-all.sh "$PWD/target/release/hull"

# docs/tutorial.md's examples, run and checked against what the text says.
test-docs: build
    scripts/deps.sh iproute2 util-linux python3
    docs/examples/run-all.sh

# Kubernetes' path: containerd's CRI plugin runs pods on hull, driven by a
# CRI client (integration/cri, its own cargo project built into target/cri).
test-cri: build
    integration/cri/run.sh "$PWD/target/release/hull"

# Formatting and clippy, warnings are errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# hull vs crun vs runc, side by side in one run: the runtime level (lifecycle,
# run, exec, parallel lifecycles, peak RSS), the engines (ctr, podman, docker
# run --rm and exec, CRI pod starts; the runtime's share of each), 500
# containers alive; one table of the goals, the chart docs/performance.svg.
# 5-10 minutes here; `just bench quick` (3-5) leaves the docs alone.
bench mode="full": build
    integration/bench/all.sh {{mode}} "$PWD/target/release/hull"

# Only the runtime level (integration/bench/bench.sh).
bench-runtime: build
    integration/bench/bench.sh "$PWD/target/release/hull"

# Only the engines: ctr, podman, docker and CRI with each runtime.
bench-engines: build
    integration/bench/engines.sh "$PWD/target/release/hull"

# Only the scale run: n sleeping containers alive, per runtime.
bench-scale n="500": build
    integration/bench/scale.sh {{n}} "$PWD/target/release/hull"

# 1000 mixed lifecycles at 8-way concurrency, then leak checks (CI runs 200).
soak n="1000": build
    integration/soak.sh {{n}} 8 "$PWD/target/release/hull"

# Fuzz the config loader and the sync-channel decoder (stable Rust: no sanitizer).
fuzz secs="180":
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
    cd fuzz && mkdir -p corpus/config corpus/sync_message
    cd fuzz && cargo fuzz run --sanitizer none config corpus/config seeds/config -- -max_total_time={{secs}} -max_len=8192
    cd fuzz && cargo fuzz run --sanitizer none sync_message corpus/sync_message seeds/sync_message -- -max_total_time={{secs}}

# Man pages (hull.1, hull-<command>.1) and bash/zsh/fish completions in target/man.
man:
    cargo run -q -p hull --bin hull-man -- target/man

# A Debian package in target/debian: /usr/bin/hull (the static release
# build), man pages, completions, /usr/share/doc/hull/README.Debian.
package: build man
    scripts/package.sh

# Installs the package on this machine, runs Docker with
# --add-runtime hull=/usr/bin/hull from it, purges it again.
test-package: build man
    scripts/test-package.sh "$(scripts/package.sh)"
