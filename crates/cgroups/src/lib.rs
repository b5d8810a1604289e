//! hull's cgroup manager, usable on its own: detection of the host's layout
//! (v1, v2 or hybrid) from the mount table, and one [`CgroupManager`] trait
//! with a v1 and a v2 implementation (limits, placement, freeze, stats,
//! destroy). It knows nothing of containers' mounts: the container's view of
//! /sys/fs/cgroup is libcontainer's `rootfs::cgroup_mount`.
//!
//! Hybrid hosts (v1 controllers plus a cgroup2 `unified` mount, like this
//! machine) get the v1 manager for resources; the process is placed in the
//! matching cgroup2 directory too, so tools that look at cgroup2 find it.

pub mod bpf;
pub mod stats;
pub mod v1;
pub mod v2;

use std::io::Read;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use stats::Stats;

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{op} {}: {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("write {value:?} to {}: {source}", path.display())]
    Write { path: PathBuf, value: String, source: std::io::Error },
    #[error("linux.resources.{field}: the {controller} cgroup controller is not available on this host")]
    NoController { field: &'static str, controller: &'static str },
    #[error("linux.resources.{field}: {msg}")]
    Invalid { field: &'static str, msg: String },
    #[error("no cgroup filesystem is mounted under {CGROUP_ROOT}")]
    NoCgroupFs,
    #[error("--systemd-cgroup: hull manages cgroups through cgroupfs only; this host has no systemd to delegate to")]
    Systemd,
    #[error("{0}")]
    Bpf(String),
    #[error("pids limit of {max} reached (EAGAIN): the container may not start another process")]
    PidsLimit { max: u64 },
}

impl CgroupError {
    /// Did the kernel refuse for lack of permission (an unprivileged user
    /// without a delegated cgroup)?
    pub fn is_permission_denied(&self) -> bool {
        let errno = match self {
            CgroupError::Io { source, .. } | CgroupError::Write { source, .. } => source.raw_os_error(),
            _ => None,
        };
        matches!(errno, Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS))
    }
}

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

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io { op, path: path.to_path_buf(), source }
}

/// Writes one value to one cgroup file.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|source| CgroupError::Write { path, value: value.to_string(), source })
}

pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    let mut s = String::new();
    std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut s)).map_err(io_err("read", &path))?;
    Ok(s)
}

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
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(io_err("read", Path::new("/proc/self/mountinfo")))?;
    parse_layout(&text)
}

pub fn parse_layout(mountinfo: &str) -> Result<Layout, CgroupError> {
    let mut hierarchies = Vec::new();
    let mut v2 = None;
    for line in mountinfo.lines() {
        // id parent maj:min root mount-point options [optional...] - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let _source = r.next();
        let super_opts = r.next().unwrap_or("");
        let mount_point = PathBuf::from(unescape(left.split(' ').nth(4).unwrap_or("")));
        if !mount_point.starts_with(CGROUP_ROOT) {
            continue;
        }
        if fstype == "cgroup2" {
            v2.get_or_insert(mount_point);
            continue;
        }
        let controllers: Vec<String> = super_opts
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

/// mountinfo escapes space, tab, newline and backslash as octal.
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    V2 { dir: PathBuf },
}

/// What a cgroup manager does for hull.
pub trait CgroupManager {
    /// Makes the container's directories.
    fn create(&self) -> Result<(), CgroupError>;
    /// Writes the limits.
    fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
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
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// Removes the directories (waiting briefly while the kernel still sees tasks).
    fn destroy(&self) -> Result<(), CgroupError>;
    fn state(&self) -> CgroupState;
}

/// Our own cgroup (as /proc/self/cgroup says) in the hierarchy with `key`
/// (a controller name, or "" for cgroup2).
fn own_cgroup(key: &str) -> PathBuf {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        if (key.is_empty() && ctrls.is_empty()) || (!key.is_empty() && ctrls.split(',').any(|c| c == key)) {
            return PathBuf::from(path);
        }
    }
    PathBuf::from("/")
}

/// The container's cgroup path inside a hierarchy: absolute cgroupsPath as
/// given, relative ones under hull's own cgroup, `/hull/<id>` by default.
fn container_path(cgroups_path: Option<&Path>, id: &str, key: &str) -> PathBuf {
    match cgroups_path {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => own_cgroup(key).join(p),
        None => PathBuf::from("/hull").join(id),
    }
}

fn join_under(mount_point: &Path, cg: &Path) -> PathBuf {
    mount_point.join(cg.strip_prefix("/").unwrap_or(cg))
}

/// A manager for a new container.
pub fn new_manager(
    layout: &Layout,
    cgroups_path: Option<&Path>,
    id: &str,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    Ok(match layout {
        Layout::V2 { root } => {
            let dir = join_under(root, &container_path(cgroups_path, id, ""));
            Box::new(v2::V2Manager::new(dir, root.clone()))
        }
        Layout::V1 { hierarchies, unified } => {
            let dirs = hierarchies
                .iter()
                .map(|h| {
                    let key = h.controllers.first().map(String::as_str).unwrap_or("");
                    (h.clone(), join_under(&h.mount_point, &container_path(cgroups_path, id, key)))
                })
                .collect();
            let unified = unified.as_ref().map(|u| join_under(u, &container_path(cgroups_path, id, "")));
            Box::new(v1::V1Manager::new(dirs, unified))
        }
    })
}

/// A manager for an existing container, from its saved state.
pub fn from_state(state: &CgroupState) -> Box<dyn CgroupManager> {
    match state {
        CgroupState::V2 { dir } => {
            let root = dir
                .ancestors()
                .find(|a| a == &Path::new(CGROUP_ROOT))
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(CGROUP_ROOT));
            Box::new(v2::V2Manager::existing(dir.clone(), root))
        }
        CgroupState::V1 { dirs, unified } => Box::new(v1::V1Manager::new(dirs.clone(), unified.clone())),
    }
}

/// mkdir -p. The `hull` parent of the default path stays when its last
/// container goes, as the engines' parents (`/default`, `kubepods`) do under
/// runc: making and removing it in every hierarchy for each container would
/// add two dozen cgroup mkdir/rmdir calls to every lifecycle.
pub(crate) fn make_dir(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))
}

/// rmdir that waits a little while the kernel finishes tearing down exiting
/// tasks (EBUSY right after a SIGKILL is normal).
pub(crate) fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let mut delay = std::time::Duration::from_micros(200);
    for _ in 0..40 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(io_err("remove", dir)(e)),
        }
    }
    std::fs::remove_dir(dir).map_err(io_err("remove", dir))
}

pub(crate) fn read_pids(file: &Path) -> Result<Vec<i32>, CgroupError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("read", file)(e)),
    };
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Refuses `--systemd-cgroup` with one clear line.
pub fn check_systemd_flag(systemd: bool) -> Result<(), CgroupError> {
    if systemd {
        Err(CgroupError::Systemd)
    } else {
        Ok(())
    }
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
        assert_eq!(container_path(None, "abc", ""), Path::new("/hull/abc"));
        assert_eq!(container_path(Some(Path::new("/a/b")), "abc", ""), Path::new("/a/b"));
        assert_eq!(
            join_under(Path::new("/sys/fs/cgroup/memory"), Path::new("/a/b")),
            Path::new("/sys/fs/cgroup/memory/a/b")
        );
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
