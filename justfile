# hull's tasks. `just demo` and `just test` are the two commands of the README.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build the release binary.
build:
    cargo build --release -p hull

# A busybox container showing its PID 1 view and its own hostname.
demo: build
    scripts/deps.sh
    scripts/demo.sh

# Every test: unit, integration (real containers), pure cgroup v2 in a VM.
test: lint
    scripts/deps.sh
    cargo build -p hull
    cargo test --workspace
    just test-cgroup2

# Unit tests only (no root needed).
unit:
    cargo test --workspace --lib

# The cgroup v2 suite inside a qemu VM booted with cgroup_no_v1=all.
test-cgroup2: build
    integration/cgroup2/run.sh

# Formatting and clippy, warnings are errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
