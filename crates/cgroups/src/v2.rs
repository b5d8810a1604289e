//! cgroup v2: one directory in the unified hierarchy.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use super::stats::{self, Stats};
use super::{bpf, read_file, remove_dir, write_file, CgroupError, CgroupManager, CgroupState};

pub struct V2Manager {
    dir: PathBuf,
    root: PathBuf,
    fd: OnceLock<OwnedFd>,
}

/// cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100),
/// the mapping runc and crun use so that the same config means the same thing.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// blkio weight (10..1000) to io.weight (1..10000).
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (weight.clamp(10, 1000) as u64 - 10) * 9999 / 990
}

/// OCI `swap` is memory+swap; cgroup v2 limits swap alone.
pub fn swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, CgroupError> {
    match (limit, swap) {
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some("max".into())),
        (Some(-1), Some(_)) | (None, Some(_)) => Err(CgroupError::Invalid {
            field: "memory.swap",
            msg: "a memory+swap limit needs a memory limit on cgroup v2".into(),
        }),
        (Some(l), Some(s)) if s < l => Err(CgroupError::Invalid {
            field: "memory.swap",
            msg: format!("memory+swap limit {s} is below the memory limit {l}"),
        }),
        (Some(l), Some(s)) => Ok(Some((s - l).to_string())),
    }
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

impl V2Manager {
    pub fn new(dir: PathBuf, root: PathBuf) -> V2Manager {
        V2Manager { dir, root, fd: OnceLock::new() }
    }

    pub fn existing(dir: PathBuf, root: PathBuf) -> V2Manager {
        V2Manager::new(dir, root)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn dir_fd(&self) -> Result<&OwnedFd, CgroupError> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        let f = std::fs::File::open(&self.dir).map_err(super::io_err("open", &self.dir))?;
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
            if d != self.root && !super::read_pids(&d.join("cgroup.procs"))?.is_empty() {
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

    fn has_file(&self, f: &str) -> bool {
        self.dir.join(f).exists()
    }
}

impl CgroupManager for V2Manager {
    fn create(&self) -> Result<(), CgroupError> {
        super::make_dir(&self.dir)?;
        self.enable_controllers()?;
        self.dir_fd()?;
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let d = &self.dir;
        let need = |file: &str, field: &'static str, controller: &'static str| -> Result<(), CgroupError> {
            if self.has_file(file) {
                Ok(())
            } else {
                Err(CgroupError::NoController { field, controller })
            }
        };
        if let Some(cpu) = r.cpu() {
            if let Some(s) = cpu.shares().filter(|s| *s > 0) {
                need("cpu.weight", "cpu.shares", "cpu")?;
                write_file(d, "cpu.weight", &shares_to_weight(s).to_string())?;
            }
            if cpu.quota().is_some() || cpu.period().is_some() {
                need("cpu.max", "cpu.quota", "cpu")?;
                let current = read_file(d, "cpu.max").unwrap_or_default();
                let mut it = current.split_whitespace();
                let (cur_q, cur_p) =
                    (it.next().unwrap_or("max").to_string(), it.next().unwrap_or("100000").to_string());
                let q = match cpu.quota() {
                    Some(q) if q > 0 => q.to_string(),
                    Some(_) => "max".into(),
                    None => cur_q,
                };
                let p = cpu.period().filter(|p| *p > 0).map(|p| p.to_string()).unwrap_or(cur_p);
                write_file(d, "cpu.max", &format!("{q} {p}"))?;
            }
            if let Some(b) = cpu.burst() {
                write_file(d, "cpu.max.burst", &b.to_string())?;
            }
            if let Some(i) = cpu.idle() {
                write_file(d, "cpu.idle", &i.to_string())?;
            }
            if cpu.realtime_runtime().is_some_and(|v| v != 0) || cpu.realtime_period().is_some_and(|v| v != 0) {
                return Err(CgroupError::Invalid {
                    field: "cpu.realtimeRuntime",
                    msg: "realtime scheduling limits do not exist on cgroup v2".into(),
                });
            }
            if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
                need("cpuset.cpus", "cpu.cpus", "cpuset")?;
                write_file(d, "cpuset.cpus", c)?;
            }
            if let Some(m) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
                need("cpuset.mems", "cpu.mems", "cpuset")?;
                write_file(d, "cpuset.mems", m)?;
            }
        }
        if let Some(mem) = r.memory() {
            need("memory.max", "memory", "memory")?;
            if let Some(swap) = swap_max(mem.limit(), mem.swap())? {
                need("memory.swap.max", "memory.swap", "memory (swap accounting)")?;
                write_file(d, "memory.swap.max", &swap)?;
            }
            if let Some(l) = mem.limit() {
                write_file(d, "memory.max", &max_or(l))?;
            }
            if let Some(res) = mem.reservation() {
                write_file(d, "memory.low", &max_or(res))?;
            }
            if mem.swappiness().is_some_and(|s| s != 0 && s != 60) {
                return Err(CgroupError::Invalid {
                    field: "memory.swappiness",
                    msg: "per-cgroup swappiness does not exist on cgroup v2".into(),
                });
            }
            if mem.disable_oom_killer() == Some(true) {
                return Err(CgroupError::Invalid {
                    field: "memory.disableOOMKiller",
                    msg: "cgroup v2 cannot disable the OOM killer".into(),
                });
            }
        }
        if let Some(pids) = r.pids() {
            need("pids.max", "pids", "pids")?;
            write_file(d, "pids.max", &if pids.limit() > 0 { pids.limit().to_string() } else { "max".into() })?;
        }
        if let Some(b) = r.block_io() {
            if let Some(w) = b.weight().filter(|w| *w > 0) {
                if self.has_file("io.bfq.weight") {
                    write_file(d, "io.bfq.weight", &w.to_string())?;
                } else {
                    need("io.weight", "blockIO.weight", "io")?;
                    write_file(d, "io.weight", &blkio_weight_to_io(w).to_string())?;
                }
            }
            for wd in b.weight_device().iter().flatten() {
                if let Some(w) = wd.weight() {
                    let (file, v) = if self.has_file("io.bfq.weight") {
                        ("io.bfq.weight", w as u64)
                    } else {
                        ("io.weight", blkio_weight_to_io(w))
                    };
                    write_file(d, file, &format!("{}:{} {v}", wd.major(), wd.minor()))?;
                }
            }
            let throttles = [
                ("rbps", b.throttle_read_bps_device()),
                ("wbps", b.throttle_write_bps_device()),
                ("riops", b.throttle_read_iops_device()),
                ("wiops", b.throttle_write_iops_device()),
            ];
            for (key, list) in throttles {
                for t in list.iter().flatten() {
                    need("io.max", "blockIO.throttle", "io")?;
                    let rate = if t.rate() == 0 { "max".to_string() } else { t.rate().to_string() };
                    write_file(d, "io.max", &format!("{}:{} {key}={rate}", t.major(), t.minor()))?;
                }
            }
        }
        for h in r.hugepage_limits().iter().flatten() {
            let file = format!("hugetlb.{}.max", h.page_size());
            if !self.has_file(&file) {
                return Err(CgroupError::NoController { field: "hugepageLimits", controller: "hugetlb" });
            }
            write_file(d, &file, &max_or(h.limit()))?;
        }
        if let Some(n) = r.network() {
            if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                return Err(CgroupError::Invalid {
                    field: "network",
                    msg: "net_cls/net_prio do not exist on cgroup v2".into(),
                });
            }
        }
        if let Some(rdma) = r.rdma() {
            for (dev, l) in rdma {
                let mut v = dev.clone();
                v.push_str(&format!(
                    " hca_handle={}",
                    l.hca_handles().map(|h| h.to_string()).unwrap_or_else(|| "max".into())
                ));
                v.push_str(&format!(
                    " hca_object={}",
                    l.hca_objects().map(|h| h.to_string()).unwrap_or_else(|| "max".into())
                ));
                need("rdma.max", "rdma", "rdma")?;
                write_file(d, "rdma.max", &v)?;
            }
        }
        if let Some(u) = r.unified() {
            for (k, v) in u {
                if k.contains('/') || k.starts_with("cgroup.") && k != "cgroup.freeze" && k != "cgroup.type" {
                    return Err(CgroupError::Invalid {
                        field: "unified",
                        msg: format!("{k:?} is not a cgroup resource file"),
                    });
                }
                write_file(d, k, v)?;
            }
        }
        if let Some(devs) = r.devices() {
            bpf::attach(self.dir_fd()?, &bpf::compile(devs))?;
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
        let mut out = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(d) = stack.pop() {
            out.extend(super::read_pids(&d.join("cgroup.procs"))?);
            if let Ok(rd) = std::fs::read_dir(&d) {
                stack.extend(
                    rd.filter_map(|e| e.ok())
                        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                        .map(|e| e.path()),
                );
            }
        }
        Ok(out)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        write_file(&self.dir, "cgroup.freeze", "1")?;
        for i in 0..2000 {
            if self.is_frozen()? {
                return Ok(());
            }
            std::thread::sleep(Duration::from_micros(if i < 10 { 100 } else { 1000 }));
        }
        let _ = write_file(&self.dir, "cgroup.freeze", "0");
        Err(CgroupError::Invalid { field: "freezer", msg: "the container did not freeze within 2 s".into() })
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        write_file(&self.dir, "cgroup.freeze", "0")
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        Ok(read_file(&self.dir, "cgroup.events").map(|s| s.lines().any(|l| l == "frozen 1")).unwrap_or(false))
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        stats::v2(&self.dir)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        // Children first (a container may have made sub-cgroups of its own).
        let mut dirs = vec![self.dir.clone()];
        let mut i = 0;
        while i < dirs.len() {
            if let Ok(rd) = std::fs::read_dir(&dirs[i]) {
                dirs.extend(
                    rd.filter_map(|e| e.ok())
                        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                        .map(|e| e.path()),
                );
            }
            i += 1;
        }
        for d in dirs.iter().rev() {
            remove_dir(d)?;
        }
        Ok(())
    }

    fn state(&self) -> CgroupState {
        CgroupState::V2 { dir: self.dir.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_conversion_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 0);
    }

    #[test]
    fn blkio_weight_conversion() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
        assert_eq!(blkio_weight_to_io(500), 4950);
    }

    #[test]
    fn swap_is_memory_plus_swap() {
        assert_eq!(swap_max(Some(100), Some(300)).unwrap().as_deref(), Some("200"));
        assert_eq!(swap_max(Some(100), Some(-1)).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(Some(100), None).unwrap(), None);
        assert!(swap_max(Some(300), Some(100)).is_err());
        assert!(swap_max(None, Some(100)).is_err());
    }
}
