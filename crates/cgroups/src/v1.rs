//! cgroup v1: one directory per hierarchy.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

use super::stats::{self, Stats};
use super::{io_err, read_file, write_file, CgroupError, CgroupManager, CgroupState, Hierarchy};

pub struct V1Manager {
    dirs: Vec<(Hierarchy, PathBuf)>,
    unified: Option<PathBuf>,
    unified_fd: OnceLock<OwnedFd>,
}

impl V1Manager {
    pub fn new(dirs: Vec<(Hierarchy, PathBuf)>, unified: Option<PathBuf>) -> V1Manager {
        V1Manager { dirs, unified, unified_fd: OnceLock::new() }
    }

    /// pids.max only stops fork on v1, not a migration: check after one.
    fn check_pids_limit(&self) -> Result<(), CgroupError> {
        if let Some(d) = self.dir("pids") {
            if let Ok(Ok(max)) = read_file(d, "pids.max").map(|s| s.trim().parse::<u64>()) {
                let current: u64 = read_file(d, "pids.current")?.trim().parse().unwrap_or(0);
                if current > max {
                    return Err(CgroupError::PidsLimit { max });
                }
            }
        }
        Ok(())
    }

    /// The container's directory in the hierarchy that has `controller`.
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs.iter().find(|(h, _)| h.has(controller)).map(|(_, d)| d.as_path())
    }

    fn need(&self, controller: &'static str, field: &'static str) -> Result<&Path, CgroupError> {
        self.dir(controller).ok_or(CgroupError::NoController { field, controller })
    }

    /// A fresh cpuset cgroup has empty cpus/mems and refuses tasks: copy them
    /// down from the nearest ancestor that has them. Ancestors hull makes get
    /// cgroup.clone_children, so next time the kernel copies them at mkdir.
    fn init_cpuset(dir: &Path, mount_point: &Path) -> Result<(), CgroupError> {
        // Usually the kernel already copied them (clone_children on the parent):
        // check the directory itself, since a parent made concurrently may
        // have had none yet to copy.
        let filled = |f: &str| read_file(dir, f).is_ok_and(|s| !s.trim().is_empty());
        if filled("cpuset.cpus") && filled("cpuset.mems") {
            return Ok(());
        }
        let mut chain: Vec<&Path> =
            dir.ancestors().take_while(|a| a.starts_with(mount_point) && *a != mount_point).collect();
        chain.reverse();
        let last = chain.len().saturating_sub(1);
        for (i, d) in chain.into_iter().enumerate() {
            if i < last {
                let _ = write_file(d, "cgroup.clone_children", "1");
            }
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if read_file(d, file)?.trim().is_empty() {
                    let parent = d.parent().unwrap_or(mount_point);
                    let v = read_file(parent, file)?;
                    write_file(d, file, v.trim())?;
                }
            }
        }
        Ok(())
    }

    fn apply_devices(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
        for r in rules {
            let file = if r.allow() { "devices.allow" } else { "devices.deny" };
            write_file(dir, file, &device_rule(r))?;
        }
        Ok(())
    }
}

/// `c 1:3 rwm`, `a *:* rwm`.
pub fn device_rule(r: &LinuxDeviceCgroup) -> String {
    let kind = match r.typ() {
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => "c",
        Some(LinuxDeviceType::B) => "b",
        Some(LinuxDeviceType::P) => "p",
        Some(LinuxDeviceType::A) | None => "a",
    };
    let num = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n.to_string()).unwrap_or_else(|| "*".into());
    let access = r.access().clone().filter(|a| !a.is_empty()).unwrap_or_else(|| "rwm".into());
    format!("{kind} {}:{} {access}", num(r.major()), num(r.minor()))
}

impl CgroupManager for V1Manager {
    fn create(&self) -> Result<(), CgroupError> {
        for (h, dir) in &self.dirs {
            super::make_dir(dir)?;
            if h.has("cpuset") {
                V1Manager::init_cpuset(dir, &h.mount_point)?;
            }
        }
        if let Some(u) = &self.unified {
            super::make_dir(u)?;
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(cpu) = r.cpu() {
            // Docker writes 0 for "not set" (cpu.shares, blkio weight): skip those.
            let needs_cpu = cpu.shares().is_some_and(|s| s > 0)
                || cpu.quota().is_some()
                || cpu.period().is_some()
                || cpu.realtime_period().is_some()
                || cpu.realtime_runtime().is_some()
                || cpu.idle().is_some()
                || cpu.burst().is_some();
            if needs_cpu {
                let d = self.need("cpu", "cpu")?;
                if let Some(s) = cpu.shares().filter(|s| *s > 0) {
                    write_file(d, "cpu.shares", &s.to_string())?;
                }
                // Period first: a quota is checked against the current period.
                if let Some(p) = cpu.period() {
                    write_file(d, "cpu.cfs_period_us", &p.to_string())?;
                }
                if let Some(q) = cpu.quota() {
                    write_file(d, "cpu.cfs_quota_us", &q.to_string())?;
                }
                if let Some(b) = cpu.burst() {
                    write_file(d, "cpu.cfs_burst_us", &b.to_string())?;
                }
                if let Some(p) = cpu.realtime_period() {
                    write_file(d, "cpu.rt_period_us", &p.to_string())?;
                }
                if let Some(rt) = cpu.realtime_runtime() {
                    write_file(d, "cpu.rt_runtime_us", &rt.to_string())?;
                }
                if let Some(i) = cpu.idle() {
                    write_file(d, "cpu.idle", &i.to_string())?;
                }
            }
            if cpu.cpus().is_some() || cpu.mems().is_some() {
                let d = self.need("cpuset", "cpu.cpus")?;
                if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
                    write_file(d, "cpuset.cpus", c)?;
                }
                if let Some(m) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
                    write_file(d, "cpuset.mems", m)?;
                }
            }
        }
        if let Some(mem) = r.memory() {
            let d = self.need("memory", "memory")?;
            let limit = mem.limit();
            let swap = mem.swap();
            if let Some(s) = swap {
                if s != -1 && limit.is_some_and(|l| l != -1 && s < l) {
                    return Err(CgroupError::Invalid {
                        field: "memory.swap",
                        msg: format!("memory+swap limit {s} is below the memory limit {}", limit.unwrap_or(0)),
                    });
                }
            }
            let memsw_exists = d.join("memory.memsw.limit_in_bytes").exists();
            if swap.is_some() && !memsw_exists && swap != limit {
                return Err(CgroupError::Invalid {
                    field: "memory.swap",
                    msg: "swap accounting is disabled on this host (no memory.memsw.limit_in_bytes)".into(),
                });
            }
            // memory.limit must stay <= memsw.limit at every step: raise memsw
            // first when growing, lower memory first when shrinking.
            let current_memsw: i64 = if memsw_exists && swap.is_some() {
                read_file(d, "memory.memsw.limit_in_bytes")?.trim().parse().unwrap_or(i64::MAX)
            } else {
                i64::MAX
            };
            let as_limit = |v: i64| if v == -1 { "-1".to_string() } else { v.to_string() };
            match (limit, swap.filter(|_| memsw_exists)) {
                (Some(l), Some(s)) => {
                    let l_eff = if l == -1 { i64::MAX } else { l };
                    if l_eff > current_memsw {
                        write_file(d, "memory.memsw.limit_in_bytes", &as_limit(s))?;
                        write_file(d, "memory.limit_in_bytes", &as_limit(l))?;
                    } else {
                        write_file(d, "memory.limit_in_bytes", &as_limit(l))?;
                        write_file(d, "memory.memsw.limit_in_bytes", &as_limit(s))?;
                    }
                }
                (Some(l), None) => write_file(d, "memory.limit_in_bytes", &as_limit(l))?,
                (None, Some(s)) => write_file(d, "memory.memsw.limit_in_bytes", &as_limit(s))?,
                (None, None) => {}
            }
            if let Some(res) = mem.reservation() {
                write_file(d, "memory.soft_limit_in_bytes", &as_limit(res))?;
            }
            // kernel/kernelTCP limits are gone from recent kernels: set them where they still exist.
            if let Some(k) = mem.kernel() {
                if d.join("memory.kmem.limit_in_bytes").exists() {
                    let _ = write_file(d, "memory.kmem.limit_in_bytes", &as_limit(k));
                }
            }
            if let Some(k) = mem.kernel_tcp() {
                if d.join("memory.kmem.tcp.limit_in_bytes").exists() {
                    write_file(d, "memory.kmem.tcp.limit_in_bytes", &as_limit(k))?;
                }
            }
            if let Some(s) = mem.swappiness() {
                if s > 100 {
                    return Err(CgroupError::Invalid { field: "memory.swappiness", msg: format!("{s} is above 100") });
                }
                write_file(d, "memory.swappiness", &s.to_string())?;
            }
            if mem.disable_oom_killer() == Some(true) {
                write_file(d, "memory.oom_control", "1")?;
            }
            if let Some(h) = mem.use_hierarchy() {
                let _ = write_file(d, "memory.use_hierarchy", if h { "1" } else { "0" });
            }
        }
        if let Some(pids) = r.pids() {
            let d = self.need("pids", "pids")?;
            let v = if pids.limit() > 0 { pids.limit().to_string() } else { "max".to_string() };
            write_file(d, "pids.max", &v)?;
        }
        if let Some(b) = r.block_io() {
            let any = b.weight().is_some_and(|w| w > 0)
                || b.leaf_weight().is_some_and(|w| w > 0)
                || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
                || [
                    b.throttle_read_bps_device(),
                    b.throttle_write_bps_device(),
                    b.throttle_read_iops_device(),
                    b.throttle_write_iops_device(),
                ]
                .iter()
                .any(|v| v.as_ref().is_some_and(|v| !v.is_empty()));
            if any {
                let d = self.need("blkio", "blockIO")?;
                // CFQ's blkio.weight is gone with CFQ; BFQ offers blkio.bfq.weight.
                let weight_file = if d.join("blkio.weight").exists() { "blkio.weight" } else { "blkio.bfq.weight" };
                let wants_weight = b.weight().is_some_and(|w| w > 0)
                    || b.weight_device().iter().flatten().any(|w| w.weight().is_some());
                if wants_weight && !d.join(weight_file).exists() {
                    return Err(CgroupError::Invalid {
                        field: "blockIO.weight",
                        msg: "this host has neither blkio.weight (CFQ) nor blkio.bfq.weight (the BFQ scheduler is not in use)".into(),
                    });
                }
                let wants_leaf = b.leaf_weight().is_some_and(|w| w > 0)
                    || b.weight_device().iter().flatten().any(|w| w.leaf_weight().is_some());
                if wants_leaf && !d.join("blkio.leaf_weight").exists() {
                    return Err(CgroupError::Invalid {
                        field: "blockIO.leafWeight",
                        msg: "leaf weights went away with the CFQ scheduler: this kernel has no blkio.leaf_weight"
                            .into(),
                    });
                }
                if let Some(w) = b.weight().filter(|w| *w > 0) {
                    write_file(d, weight_file, &w.to_string())?;
                }
                if let Some(w) = b.leaf_weight().filter(|w| *w > 0) {
                    write_file(d, "blkio.leaf_weight", &w.to_string())?;
                }
                for wd in b.weight_device().iter().flatten() {
                    if let Some(w) = wd.weight() {
                        let file = if weight_file == "blkio.weight" {
                            "blkio.weight_device"
                        } else {
                            "blkio.bfq.weight_device"
                        };
                        write_file(d, file, &format!("{}:{} {w}", wd.major(), wd.minor()))?;
                    }
                    if let Some(w) = wd.leaf_weight() {
                        write_file(d, "blkio.leaf_weight_device", &format!("{}:{} {w}", wd.major(), wd.minor()))?;
                    }
                }
                let throttles = [
                    ("blkio.throttle.read_bps_device", b.throttle_read_bps_device()),
                    ("blkio.throttle.write_bps_device", b.throttle_write_bps_device()),
                    ("blkio.throttle.read_iops_device", b.throttle_read_iops_device()),
                    ("blkio.throttle.write_iops_device", b.throttle_write_iops_device()),
                ];
                for (file, list) in throttles {
                    for t in list.iter().flatten() {
                        write_file(d, file, &format!("{}:{} {}", t.major(), t.minor(), t.rate()))?;
                    }
                }
            }
        }
        for h in r.hugepage_limits().iter().flatten() {
            let d = self.need("hugetlb", "hugepageLimits")?;
            write_file(d, &format!("hugetlb.{}.limit_in_bytes", h.page_size()), &h.limit().to_string())?;
        }
        if let Some(n) = r.network() {
            if let Some(c) = n.class_id() {
                write_file(self.need("net_cls", "network.classID")?, "net_cls.classid", &c.to_string())?;
            }
            for p in n.priorities().iter().flatten() {
                write_file(
                    self.need("net_prio", "network.priorities")?,
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
        if let Some(rdma) = r.rdma() {
            for (dev, l) in rdma {
                let mut v = dev.clone();
                if let Some(h) = l.hca_handles() {
                    v.push_str(&format!(" hca_handle={h}"));
                }
                if let Some(o) = l.hca_objects() {
                    v.push_str(&format!(" hca_object={o}"));
                }
                write_file(self.need("rdma", "rdma")?, "rdma.max", &v)?;
            }
        }
        if let Some(u) = r.unified() {
            if !u.is_empty() {
                return Err(CgroupError::Invalid {
                    field: "unified",
                    msg: "cgroup v2 settings given, but this host's controllers are cgroup v1".into(),
                });
            }
        }
        if let Some(devs) = r.devices() {
            if let Some(d) = self.dir("devices") {
                V1Manager::apply_devices(d, devs)?;
            }
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
            super::make_dir(u)?;
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
        self.check_pids_limit()
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
        self.check_pids_limit()
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = ["pids", "freezer", "memory", "cpu"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        match dir {
            Some(d) => super::read_pids(&d.join("cgroup.procs")),
            None => Ok(Vec::new()),
        }
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        let d = self.need("freezer", "freezer")?;
        // Writing FROZEN starts freezing; the state reads FREEZING until every
        // task stopped. Re-writing nudges tasks that were forking meanwhile.
        for i in 0..2000 {
            write_file(d, "freezer.state", "FROZEN")?;
            if read_file(d, "freezer.state")?.trim() == "FROZEN" {
                return Ok(());
            }
            std::thread::sleep(Duration::from_micros(if i < 10 { 100 } else { 1000 }));
        }
        let _ = write_file(d, "freezer.state", "THAWED");
        Err(CgroupError::Invalid { field: "freezer", msg: "the container did not freeze within 2 s".into() })
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        let d = self.need("freezer", "freezer")?;
        write_file(d, "freezer.state", "THAWED")
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.dir("freezer") {
            Some(d) => Ok(read_file(d, "freezer.state").map(|s| s.trim() == "FROZEN").unwrap_or(false)),
            None => Ok(false),
        }
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        stats::v1(self)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for (_, dir) in &self.dirs {
            if let Err(e) = super::remove_dir(dir) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(u) = &self.unified {
            if let Err(e) = super::remove_dir(u) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn state(&self) -> CgroupState {
        CgroupState::V1 { dirs: self.dirs.clone(), unified: self.unified.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn device_rules() {
        let deny_all = LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build().unwrap();
        assert_eq!(device_rule(&deny_all), "a *:* rwm");
        let null = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rw")
            .build()
            .unwrap();
        assert_eq!(device_rule(&null), "c 1:3 rw");
        let any_minor =
            LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::B).major(8).build().unwrap();
        assert_eq!(device_rule(&any_minor), "b 8:* rwm");
    }
}
