//! cgroup v2: one directory in the unified hierarchy, with every controller
//! the ancestors can delegate. The limits are written by the controllers'
//! files (`controllers/`), in the order below.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oci_spec::runtime::LinuxResources;

use crate::controllers::{blkio, cpu, cpuset, devices, freezer, hugetlb, memory, network, pids, rdma, unified};
use crate::error::{io_err, CgroupError};
use crate::fs::{make_dir, pids_in_tree, read_file, read_pids, remove_tree, write_file};
use crate::stats::{self, Stats};
use crate::{CgroupManager, CgroupState};

pub struct V2Manager {
    dir: PathBuf,
    root: PathBuf,
    fd: OnceLock<OwnedFd>,
}

impl V2Manager {
    pub fn new(dir: PathBuf, root: PathBuf) -> V2Manager {
        V2Manager { dir, root, fd: OnceLock::new() }
    }

    /// The container's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup2 mount it is under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir_fd(&self) -> Result<&OwnedFd, CgroupError> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        let f = std::fs::File::open(&self.dir).map_err(io_err("open", &self.dir))?;
        Ok(self.fd.get_or_init(|| f.into()))
    }

    /// Enables in every ancestor's subtree_control the controllers it offers,
    /// so that the container's directory gets all of them.
    fn enable_controllers(&self) -> Result<(), CgroupError> {
        let mut chain: Vec<&Path> = self.dir.ancestors().skip(1).take_while(|a| a.starts_with(&self.root)).collect();
        chain.reverse();
        for d in chain {
            // A non-root cgroup with processes of its own (hull's, for a
            // relative cgroupsPath) refuses domain controllers, and taking the
            // threaded ones (cpu, cpuset, pids) would make it a thread root:
            // the container's cgroup below would become "domain invalid" and
            // clone3 into it fail with EOPNOTSUPP. Stop delegating there.
            if d != self.root && !read_pids(&d.join("cgroup.procs"))?.is_empty() {
                break;
            }
            let available = read_file(d, "cgroup.controllers")?;
            let enabled = read_file(d, "cgroup.subtree_control")?;
            let missing: Vec<String> = available
                .split_whitespace()
                .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
                .map(|c| format!("+{c}"))
                .collect();
            if !missing.is_empty() {
                // Best effort per controller: one that cannot be delegated here
                // (e.g. threaded-only) must not stop the others.
                if write_file(d, "cgroup.subtree_control", &missing.join(" ")).is_err() {
                    for m in &missing {
                        let _ = write_file(d, "cgroup.subtree_control", m);
                    }
                }
            }
        }
        Ok(())
    }
}

impl CgroupManager for V2Manager {
    fn create(&self) -> Result<(), CgroupError> {
        make_dir(&self.dir)?;
        self.enable_controllers()?;
        self.dir_fd()?;
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let d = &self.dir;
        if let Some(c) = r.cpu() {
            cpu::apply_v2(d, c)?;
            cpuset::apply_v2(d, c)?;
        }
        if let Some(m) = r.memory() {
            memory::apply_v2(d, m)?;
        }
        if let Some(p) = r.pids() {
            pids::apply_v2(d, p)?;
        }
        if let Some(b) = r.block_io() {
            blkio::apply_v2(d, b)?;
        }
        if let Some(h) = r.hugepage_limits() {
            hugetlb::apply_v2(d, h)?;
        }
        if let Some(n) = r.network() {
            network::apply_v2(n)?;
        }
        if let Some(rd) = r.rdma() {
            rdma::apply_v2(d, rd)?;
        }
        if let Some(u) = r.unified() {
            unified::apply_v2(d, u)?;
        }
        if let Some(devs) = r.devices() {
            devices::apply_v2(self.dir_fd()?, devs)?;
        }
        Ok(())
    }

    fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        self.fd.get().map(|f| f.as_fd())
    }

    fn fully_placed_by_clone(&self) -> bool {
        true
    }

    fn open_for_clone(&self, create: bool) -> Result<(), CgroupError> {
        if create {
            return self.create();
        }
        self.dir_fd().map(|_| ())
    }

    fn join_self(&self) -> Result<(), CgroupError> {
        write_file(&self.dir, "cgroup.procs", "0")
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        write_file(&self.dir, "cgroup.procs", &pid.to_string())
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        pids_in_tree(&self.dir)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze_v2(&self.dir)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw_v2(&self.dir)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        Ok(freezer::is_frozen_v2(&self.dir))
    }

    fn frozen_on_path(&self) -> Option<PathBuf> {
        freezer::frozen_on_path_v2(&self.root, &self.dir)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        stats::v2(&self.dir)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        remove_tree(&self.dir)
    }

    fn state(&self) -> CgroupState {
        CgroupState::V2 { dir: self.dir.clone(), systemd: None }
    }
}
