//! hull's cgroup manager, usable on its own: detection of the host's layout
//! (v1, v2 or hybrid) from the mount table, and one [`CgroupManager`] trait
//! with a v1, a v2 and a systemd implementation (limits, placement, freeze,
//! stats, destroy). It knows nothing of containers' mounts: the container's view of
//! /sys/fs/cgroup is libcontainer's `rootfs::cgroup_mount`.
//!
//! Hybrid hosts (v1 controllers plus a cgroup2 `unified` mount, like this
//! machine) get the v1 manager for resources; the process is placed in the
//! matching cgroup2 directory too, so tools that look at cgroup2 find it.
//!
//! Where things are:
//! - `layout.rs`: detection, [`Hierarchy`], where a container's cgroup goes;
//! - `v1.rs`, `v2.rs`: the two cgroupfs managers (directories, placement,
//!   freeze, destroy);
//! - `systemd/`: the systemd driver (`--systemd-cgroup`): a transient scope
//!   made over D-Bus (`dbus.rs`, a small blocking client), its cgroup worked
//!   on by the v2 manager;
//! - `controllers/`: one file per controller, what it writes on v1 and on v2,
//!   which systemd unit properties hold it, and what it reports in stats
//!   (`memory.rs` writes `memory.max` and asks systemd for `MemoryMax`);
//! - `stats.rs`: usage in runc's `events --stats` shape;
//! - `mountinfo.rs`: the one /proc/self/mountinfo parser (rootfs uses it too);
//! - `fs.rs`: reading and writing cgroup files; `error.rs`: [`CgroupError`].

pub mod controllers;
mod error;
mod fs;
pub mod layout;
pub mod mountinfo;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use error::CgroupError;
pub use layout::{detect, parse_layout, Hierarchy, Layout, CGROUP_ROOT};
pub use stats::Stats;

use layout::{container_path, join_under};

/// Does `resources` ask for a limit (devices rules aside)? Rootless
/// containers without a delegated cgroup may only run when it does not.
pub fn asks_for_limits(r: &LinuxResources) -> bool {
    r.memory().is_some()
        || r.cpu().is_some()
        || r.pids().is_some()
        || r.block_io().is_some()
        || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
        || r.network().is_some()
        || r.rdma().as_ref().is_some_and(|m| !m.is_empty())
        || r.unified().as_ref().is_some_and(|m| !m.is_empty())
}

/// Where a container's cgroup lives, as saved in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "version")]
pub enum CgroupState {
    #[serde(rename = "v1")]
    V1 {
        /// (hierarchy, the container's directory in it)
        dirs: Vec<(Hierarchy, PathBuf)>,
        /// The container's directory on a hybrid host's cgroup2 mount.
        unified: Option<PathBuf>,
    },
    #[serde(rename = "v2")]
    V2 {
        dir: PathBuf,
        /// The systemd unit owning the directory (`--systemd-cgroup`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        systemd: Option<systemd::SystemdUnit>,
    },
}

/// What a cgroup manager does for hull.
pub trait CgroupManager {
    /// Makes the container's directories.
    fn create(&self) -> Result<(), CgroupError>;
    /// Writes the limits.
    fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Makes the cgroup and writes the limits. `init` is the container's
    /// init once it exists (after clone3, when `fully_placed_by_clone` is
    /// false): the systemd driver needs it, as a scope is born with its
    /// first process.
    fn setup(&self, init: Option<i32>, resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let _ = init;
        self.create()?;
        if let Some(r) = resources {
            self.apply(r)?;
        }
        Ok(())
    }
    /// A cgroup2 directory to clone3 straight into (CLONE_INTO_CGROUP): the
    /// container's cgroup on v2, its `unified` twin on a hybrid host.
    fn clone_into(&self) -> Option<BorrowedFd<'_>>;
    /// Does clone_into place the process completely (pure cgroup v2)?
    fn fully_placed_by_clone(&self) -> bool;
    /// Opens the directory clone_into hands out (creating it when `create`).
    fn open_for_clone(&self, create: bool) -> Result<(), CgroupError>;
    /// Moves another process in (all hierarchies); takes the kernel's global
    /// threadgroup lock once per write, which can cost milliseconds.
    fn add_process(&self, pid: i32) -> Result<(), CgroupError>;
    /// Moves the calling (single-threaded) process in by writing "0" to each
    /// v1 hierarchy's `tasks`: a thread moving itself skips the global
    /// threadgroup lock and its RCU grace period (see cgroup_procs_write_start).
    fn join_self(&self) -> Result<(), CgroupError>;
    /// Pids of every process in the container's cgroup.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    fn freeze(&self) -> Result<(), CgroupError>;
    fn thaw(&self) -> Result<(), CgroupError>;
    fn is_frozen(&self) -> Result<bool, CgroupError>;
    /// Before create: the container's cgroup, or the ancestor of it, that is
    /// frozen already. A process placed there stops at once, and create
    /// would wait for it forever; runc refuses such a cgroup.
    fn frozen_on_path(&self) -> Option<PathBuf> {
        None
    }
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// Removes the directories (waiting briefly while the kernel still sees tasks).
    fn destroy(&self) -> Result<(), CgroupError>;
    fn state(&self) -> CgroupState;
}

/// A manager for a new container.
pub fn new_manager(
    layout: &Layout,
    cgroups_path: Option<&Path>,
    id: &str,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    // A relative cgroupsPath goes under hull's own cgroup: /proc/self/cgroup
    // is read once for every hierarchy.
    let own = if cgroups_path.is_some_and(Path::is_relative) { layout::cgroups_of(0) } else { Vec::new() };
    Ok(match layout {
        Layout::V2 { root } => {
            let dir = join_under(root, &container_path(cgroups_path, id, "", &own));
            Box::new(v2::V2Manager::new(dir, root.clone()))
        }
        Layout::V1 { hierarchies, unified } => {
            let dirs = hierarchies
                .iter()
                .map(|h| {
                    let key = h.controllers.first().map(String::as_str).unwrap_or("");
                    (h.clone(), join_under(&h.mount_point, &container_path(cgroups_path, id, key, &own)))
                })
                .collect();
            let unified = unified.as_ref().map(|u| join_under(u, &container_path(cgroups_path, id, "", &own)));
            Box::new(v1::V1Manager::new(dirs, unified))
        }
    })
}

/// A manager for an existing container, from its saved state.
pub fn from_state(state: &CgroupState) -> Box<dyn CgroupManager> {
    match state {
        CgroupState::V2 { dir, systemd } => {
            let root = dir
                .ancestors()
                .find(|a| a == &Path::new(CGROUP_ROOT))
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(CGROUP_ROOT));
            match systemd {
                Some(unit) => Box::new(systemd::from_state(dir, &root, unit)),
                None => Box::new(v2::V2Manager::new(dir.clone(), root)),
            }
        }
        CgroupState::V1 { dirs, unified } => Box::new(v1::V1Manager::new(dirs.clone(), unified.clone())),
    }
}

/// With `--systemd-cgroup`, fails before anything is made when systemd
/// cannot be reached (no bus socket), in one line saying so.
pub fn check_systemd_flag(systemd: bool) -> Result<(), CgroupError> {
    if systemd {
        systemd::check_reachable()
    } else {
        Ok(())
    }
}
