//! cgroup v1: one directory per hierarchy (plus, on a hybrid host, the
//! cgroup2 twin the process is cloned into). The limits are written by the
//! controllers' files (`controllers/`), in the order below.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oci_spec::runtime::LinuxResources;

use crate::controllers::{blkio, cpu, cpuset, devices, freezer, hugetlb, memory, network, pids, rdma, unified};
use crate::error::{io_err, CgroupError};
use crate::fs::{make_dir, pids_in_tree, remove_tree, write_file};
use crate::stats::{self, Stats};
use crate::{CgroupManager, CgroupState, Hierarchy, CGROUP_ROOT};

pub struct V1Manager {
    dirs: Vec<(Hierarchy, PathBuf)>,
    unified: Option<PathBuf>,
    unified_fd: OnceLock<OwnedFd>,
}

impl V1Manager {
    pub fn new(dirs: Vec<(Hierarchy, PathBuf)>, unified: Option<PathBuf>) -> V1Manager {
        V1Manager { dirs, unified, unified_fd: OnceLock::new() }
    }

    /// The container's directory in the hierarchy that has `controller`.
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs.iter().find(|(h, _)| h.has(controller)).map(|(_, d)| d.as_path())
    }

    /// The same, for a limit in `linux.resources.<field>` that needs it.
    pub(crate) fn need(&self, controller: &'static str, field: &'static str) -> Result<&Path, CgroupError> {
        self.dir(controller).ok_or(CgroupError::NoController { field, controller })
    }
}

impl CgroupManager for V1Manager {
    fn create(&self) -> Result<(), CgroupError> {
        for (h, dir) in &self.dirs {
            make_dir(dir)?;
            if h.has("cpuset") {
                cpuset::init_v1(dir, &h.mount_point)?;
            }
        }
        if let Some(u) = &self.unified {
            make_dir(u)?;
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(c) = r.cpu() {
            cpu::apply_v1(self, c)?;
            cpuset::apply_v1(self, c)?;
        }
        if let Some(m) = r.memory() {
            memory::apply_v1(self, m)?;
        }
        if let Some(p) = r.pids() {
            pids::apply_v1(self, p)?;
        }
        if let Some(b) = r.block_io() {
            blkio::apply_v1(self, b)?;
        }
        if let Some(h) = r.hugepage_limits() {
            hugetlb::apply_v1(self, h)?;
        }
        if let Some(n) = r.network() {
            network::apply_v1(self, n)?;
        }
        if let Some(rd) = r.rdma() {
            rdma::apply_v1(self, rd)?;
        }
        if let Some(u) = r.unified() {
            unified::apply_v1(u)?;
        }
        if let (Some(devs), Some(d)) = (r.devices(), self.dir("devices")) {
            devices::apply_v1(d, devs)?;
        }
        Ok(())
    }

    fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        self.unified_fd.get().map(|f| f.as_fd())
    }

    fn fully_placed_by_clone(&self) -> bool {
        false
    }

    fn open_for_clone(&self, create: bool) -> Result<(), CgroupError> {
        let Some(u) = &self.unified else { return Ok(()) };
        if self.unified_fd.get().is_some() {
            return Ok(());
        }
        if create {
            make_dir(u)?;
        }
        let f = std::fs::File::open(u).map_err(io_err("open", u))?;
        let _ = self.unified_fd.set(f.into());
        Ok(())
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for (_, dir) in &self.dirs {
            write_file(dir, "cgroup.procs", &pid)?;
        }
        if let Some(u) = &self.unified {
            write_file(u, "cgroup.procs", &pid)?;
        }
        pids::check_v1_limit(self)
    }

    fn join_self(&self) -> Result<(), CgroupError> {
        for (_, dir) in &self.dirs {
            write_file(dir, "tasks", "0")?;
        }
        if let Some(u) = &self.unified {
            if self.unified_fd.get().is_none() {
                write_file(u, "cgroup.procs", "0")?;
            }
        }
        pids::check_v1_limit(self)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = ["pids", "freezer", "memory", "cpu"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        match dir {
            // Sub-cgroups too: a container may make its own and move processes there.
            Some(d) => pids_in_tree(d),
            None => Ok(Vec::new()),
        }
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze_v1(self.need("freezer", "freezer")?)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw_v1(self.need("freezer", "freezer")?)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        Ok(self.dir("freezer").is_some_and(freezer::is_frozen_v1))
    }

    fn frozen_on_path(&self) -> Option<PathBuf> {
        let v1 = self.dirs.iter().find(|(h, _)| h.has("freezer"));
        // A hybrid host's cgroup2 twin freezes too: the child is cloned into it.
        let twin = self.unified.as_ref().and_then(|u| freezer::frozen_on_path_v2(Path::new(CGROUP_ROOT), u));
        v1.and_then(|(h, d)| freezer::frozen_on_path_v1(&h.mount_point, d)).or(twin)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        stats::v1(self)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for dir in self.dirs.iter().map(|(_, d)| d).chain(&self.unified) {
            if let Err(e) = remove_tree(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn state(&self) -> CgroupState {
        CgroupState::V1 { dirs: self.dirs.clone(), unified: self.unified.clone() }
    }
}
