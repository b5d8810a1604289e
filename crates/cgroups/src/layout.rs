//! The host's cgroup layout (v1, v2 or hybrid), read from the mount table,
//! and where a container's cgroup goes in each hierarchy.

use std::path::{Path, PathBuf};

use procfs_core::ProcessCGroup;
use serde::{Deserialize, Serialize};

use crate::error::{io_err, CgroupError};
use crate::mountinfo;

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One cgroup v1 hierarchy as mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Controllers bound to it (`["cpu", "cpuacct"]`, or `["name=systemd"]`).
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
    /// The option string that mounts this hierarchy again (`cpu,cpuacct`, `none,name=systemd`).
    pub fn mount_options(&self) -> String {
        let mut s = self.controllers.join(",");
        if self.controllers.iter().all(|c| c.starts_with("name=")) {
            s.insert_str(0, "none,");
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Pure cgroup v2, mounted at `root`.
    V2 { root: PathBuf },
    /// v1 hierarchies, plus the cgroup2 mount of a hybrid host.
    V1 { hierarchies: Vec<Hierarchy>, unified: Option<PathBuf> },
}

const V1_CONTROLLERS: [&str; 15] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// Reads the layout from /proc/self/mountinfo.
pub fn detect() -> Result<Layout, CgroupError> {
    let text = mountinfo::read_self().map_err(io_err("read", Path::new("/proc/self/mountinfo")))?;
    parse_layout(&text)
}

pub fn parse_layout(text: &str) -> Result<Layout, CgroupError> {
    let mut hierarchies = Vec::new();
    let mut v2 = None;
    for m in mountinfo::parse(text) {
        if m.fstype != "cgroup" && m.fstype != "cgroup2" {
            continue;
        }
        let mount_point = m.mount_point();
        if !mount_point.starts_with(CGROUP_ROOT) {
            continue;
        }
        if m.fstype == "cgroup2" {
            v2.get_or_insert(mount_point);
            continue;
        }
        let controllers: Vec<String> = m
            .super_options
            .split(',')
            .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
            .map(str::to_string)
            .collect();
        if !controllers.is_empty() && !hierarchies.iter().any(|h: &Hierarchy| h.controllers == controllers) {
            hierarchies.push(Hierarchy { controllers, mount_point });
        }
    }
    match (hierarchies.is_empty(), v2) {
        (true, Some(root)) => Ok(Layout::V2 { root }),
        (true, None) => Err(CgroupError::NoCgroupFs),
        (false, unified) => Ok(Layout::V1 { hierarchies, unified }),
    }
}

/// The cgroups of process `pid` (0: ourselves), one per hierarchy, as
/// /proc/<pid>/cgroup lists them (parsed by procfs-core).
pub(crate) fn cgroups_of(pid: i32) -> Vec<ProcessCGroup> {
    use procfs_core::FromRead;
    let file = if pid == 0 { "/proc/self/cgroup".to_string() } else { format!("/proc/{pid}/cgroup") };
    let groups = std::fs::File::open(file).ok().and_then(|f| procfs_core::ProcessCGroups::from_read(f).ok());
    groups.map(|g| g.0).unwrap_or_default()
}

/// The path in the hierarchy with `key` (a controller name, or "" for cgroup2).
pub(crate) fn path_in(groups: &[ProcessCGroup], key: &str) -> Option<PathBuf> {
    let wanted = |g: &&ProcessCGroup| match key {
        "" => g.controllers.is_empty(),
        _ => g.controllers.iter().any(|c| c == key),
    };
    groups.iter().find(wanted).map(|g| PathBuf::from(&g.pathname))
}

/// The container's cgroup path inside a hierarchy: absolute cgroupsPath as
/// given, relative ones under hull's own cgroup (`own`: `cgroups_of(0)`),
/// `/hull/<id>` by default.
pub(crate) fn container_path(cgroups_path: Option<&Path>, id: &str, key: &str, own: &[ProcessCGroup]) -> PathBuf {
    match cgroups_path {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => path_in(own, key).unwrap_or_else(|| PathBuf::from("/")).join(p),
        None => PathBuf::from("/hull").join(id),
    }
}

pub(crate) fn join_under(mount_point: &Path, cg: &Path) -> PathBuf {
    mount_point.join(cg.strip_prefix("/").unwrap_or(cg))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 1 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_layout() {
        let l = parse_layout(HYBRID).unwrap();
        let Layout::V1 { hierarchies, unified } = l else { panic!("not v1") };
        assert_eq!(unified.as_deref(), Some(Path::new("/sys/fs/cgroup/unified")));
        assert_eq!(hierarchies.len(), 3);
        assert_eq!(hierarchies[0].mount_options(), "none,name=systemd");
        assert_eq!(hierarchies[1].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(hierarchies[1].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
    }

    #[test]
    fn pure_v2_layout() {
        let l = parse_layout("30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n").unwrap();
        assert_eq!(l, Layout::V2 { root: PathBuf::from("/sys/fs/cgroup") });
    }

    #[test]
    fn no_cgroups_is_an_error() {
        assert!(parse_layout("1 0 0:1 / / rw - ext4 /dev/vda rw\n").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(container_path(None, "abc", "", &[]), Path::new("/hull/abc"));
        assert_eq!(container_path(Some(Path::new("/a/b")), "abc", "", &[]), Path::new("/a/b"));
        assert_eq!(
            join_under(Path::new("/sys/fs/cgroup/memory"), Path::new("/a/b")),
            Path::new("/sys/fs/cgroup/memory/a/b")
        );
    }

    #[test]
    fn relative_cgroups_path_goes_under_our_own_cgroup_in_each_hierarchy() {
        use procfs_core::FromRead;
        let text = "12:cpu,cpuacct:/ours/cpu\n1:name=systemd:/user.slice/s\n0::/user.slice/u\n";
        let own = procfs_core::ProcessCGroups::from_read(text.as_bytes()).unwrap().0;
        let rel = Some(Path::new("sub/c1"));
        assert_eq!(container_path(rel, "c1", "cpuacct", &own), Path::new("/ours/cpu/sub/c1"));
        assert_eq!(container_path(rel, "c1", "name=systemd", &own), Path::new("/user.slice/s/sub/c1"));
        assert_eq!(container_path(rel, "c1", "", &own), Path::new("/user.slice/u/sub/c1"));
        assert_eq!(container_path(rel, "c1", "memory", &own), Path::new("/sub/c1"));
    }
}
