//! The container's `/sys/fs/cgroup`: the `cgroup` entry of `mounts`.
//!
//! On v1, a tmpfs with one directory per hierarchy — a fresh `cgroup` mount
//! rooted at the namespace when the container has a cgroup namespace, else a
//! bind of its host directory — plus symlinks for co-mounted controllers; on
//! v2 a `cgroup2` mount or a bind. Where the container's cgroups are comes from
//! the cgroup manager's [`CgroupState`]; how they are mounted is decided here.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::mounts::proc_fd_path;
use super::{cpath, resolve_in_root, Create, MountEntry, RootfsError};
use crate::cgroups::CgroupState;
use crate::sys;

/// What the container sees at its `cgroup` mount.
#[derive(Debug, Clone, Default)]
pub struct MountView {
    /// Pure v2: the container's directory on the host.
    pub v2_dir: Option<PathBuf>,
    /// v1: (subdirectory name, mount options, the container's host directory).
    pub v1: Vec<(String, String, PathBuf)>,
    /// The container has its own cgroup namespace: mount fresh cgroup
    /// filesystems (rooted at the namespace) instead of binding host directories.
    pub cgroupns: bool,
}

impl MountView {
    /// The view of the container whose cgroups `state` describes.
    pub fn new(state: &CgroupState, cgroupns: bool) -> MountView {
        match state {
            CgroupState::V2 { dir, .. } => MountView { v2_dir: Some(dir.clone()), v1: Vec::new(), cgroupns },
            CgroupState::V1 { dirs, .. } => MountView {
                v2_dir: None,
                v1: dirs
                    .iter()
                    .map(|(h, d)| {
                        let name =
                            h.mount_point.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        (name, h.mount_options(), d.clone())
                    })
                    .collect(),
                cgroupns,
            },
        }
    }
}

fn merr(op: &'static str, dest: &Path) -> impl FnOnce(Errno) -> RootfsError {
    let d = dest.to_path_buf();
    move |errno: Errno| RootfsError::Mount { op, what: "cgroup".into(), destination: d, errno }
}

/// Binds the host directory `src` onto `target` (nosuid, nodev, noexec, and
/// read-only when `ro`) with the new mount API.
fn bind(src: &Path, target: &OwnedFd, dest: &Path, ro: bool) -> Result<(), RootfsError> {
    let csrc = cpath(src);
    let tree = sys::open_tree(libc::AT_FDCWD, &csrc, libc::OPEN_TREE_CLONE).map_err(merr("bind", dest))?;
    let mut set = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC;
    if ro {
        set |= libc::MOUNT_ATTR_RDONLY;
    }
    sys::mount_setattr(tree.as_raw_fd(), c"", libc::AT_EMPTY_PATH as u32, set, 0, 0)
        .map_err(merr("set attributes of", dest))?;
    sys::attach_tree(tree.as_raw_fd(), target.as_raw_fd()).map_err(merr("bind", dest))
}

/// Mounts the container's cgroup tree at the `cgroup` mount's destination.
pub fn mount_into(root: &OwnedFd, m: &MountEntry, view: &MountView) -> Result<(), RootfsError> {
    let flags = m.flags & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME);
    let ro = m.flags.contains(MsFlags::MS_RDONLY);
    let ro_flag = if ro { MsFlags::MS_RDONLY } else { MsFlags::empty() };

    if let Some(dir) = &view.v2_dir {
        let target = resolve_in_root(root, &m.destination, Create::Dir)?;
        if view.cgroupns {
            let path = proc_fd_path(&target);
            return nix::mount::mount(Some("cgroup2"), path.as_c_str(), Some("cgroup2"), flags | ro_flag, None::<&str>)
                .map_err(merr("mount", &m.destination));
        }
        return bind(dir, &target, &m.destination, ro);
    }
    mount_v1_tree(root, m, view, flags, ro)
}

/// v1: a tmpfs holding one directory per hierarchy.
fn mount_v1_tree(
    root: &OwnedFd,
    m: &MountEntry,
    view: &MountView,
    flags: MsFlags,
    ro: bool,
) -> Result<(), RootfsError> {
    let ro_flag = if ro { MsFlags::MS_RDONLY } else { MsFlags::empty() };
    let target = resolve_in_root(root, &m.destination, Create::Dir)?;
    let path = proc_fd_path(&target);
    nix::mount::mount(Some("tmpfs"), path.as_c_str(), Some("tmpfs"), flags, Some("mode=755"))
        .map_err(merr("mount tmpfs for", &m.destination))?;
    // The new tmpfs itself: every hierarchy directory is made right in it
    // (a fresh tmpfs holds no symlinks to worry about).
    let top = resolve_in_root(root, &m.destination, Create::Nothing)?;
    for (name, options, host_dir) in &view.v1 {
        let dest = m.destination.join(name);
        let cname = sys::cstring(name.as_str());
        match nix::sys::stat::mkdirat(
            Some(top.as_raw_fd()),
            cname.as_c_str(),
            nix::sys::stat::Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(errno) => return Err(merr("mkdir", &dest)(errno)),
        }
        let sub =
            sys::openat2(top.as_raw_fd(), &cname, libc::O_PATH, 0, libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS)
                .map_err(merr("open", &dest))?;
        if view.cgroupns {
            let p = proc_fd_path(&sub);
            nix::mount::mount(Some("cgroup"), p.as_c_str(), Some("cgroup"), flags | ro_flag, Some(options.as_str()))
                .map_err(merr("mount", &dest))?;
        } else {
            bind(host_dir, &sub, &dest, ro)?;
        }
        // Co-mounted controllers (cpu,cpuacct) also answer to each name.
        for c in options.split(',').filter(|c| *c != "none" && !c.starts_with("name=") && *c != name) {
            let link = m.destination.join(c);
            let n = sys::cstring(c.as_bytes());
            match nix::unistd::symlinkat(cname.as_c_str(), Some(top.as_raw_fd()), n.as_c_str()) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => return Err(merr("symlink", &link)(errno)),
            }
        }
    }
    if ro {
        sys::mount_setattr(top.as_raw_fd(), c"", libc::AT_EMPTY_PATH as u32, libc::MOUNT_ATTR_RDONLY, 0, 0)
            .map_err(merr("make read-only", &m.destination))?;
    }
    Ok(())
}
