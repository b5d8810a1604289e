//! hull's library: everything that touches the kernel to turn an OCI bundle
//! into a running container. The `hull` binary is a thin CLI over
//! [`container`].

pub mod container;
pub mod criu;
pub mod hooks;
pub mod namespaces;
pub mod netdev;
pub mod process;
pub mod procfs;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sys;
pub mod terminal;
pub mod trace;

/// The cgroup manager lives in its own crate (`crates/cgroups`), usable
/// without the rest of hull; re-exported so `crate::cgroups::…` reads as before.
pub use hull_cgroups as cgroups;

/// The runtime-spec version hull implements: in state JSON, `features`, the
/// state a seccomp agent receives.
pub const OCI_VERSION: &str = "1.2.0";

/// Something went wrong that must not fail the command (a poststart hook,
/// …): a `tracing` warning, which the CLI prints as `hull: warning: …` (and
/// writes to `--log`).
pub fn warn(msg: &str) {
    tracing::warn!("{msg}");
}
