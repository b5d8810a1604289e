//! /dev inside the container: the default nodes every program expects, the
//! devices config.json lists, and the usual symlinks.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::{resolve_in_root, Create, RootfsError, RootfsPlan};
use crate::sys;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl DeviceEntry {
    pub fn from_spec(d: &LinuxDevice) -> DeviceEntry {
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        DeviceEntry {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        }
    }
}

/// The nodes runc and crun always provide.
pub fn default_devices() -> Vec<DeviceEntry> {
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
        .into_iter()
        .map(|(name, major, minor)| DeviceEntry {
            path: PathBuf::from("/dev").join(name),
            kind: SFlag::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect()
}

fn dev_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> RootfsError + 'a {
    move |errno| RootfsError::Path { op, path: path.to_path_buf(), errno }
}

fn split(path: &Path) -> (&Path, &std::ffi::OsStr) {
    (path.parent().unwrap_or(Path::new("/")), path.file_name().unwrap_or_default())
}

/// Creates one node (mknod), or in a user namespace bind-mounts the host's.
/// `dev` is the container's /dev, already resolved, for the common case.
fn create_device(root: &OwnedFd, d: &DeviceEntry, bind: bool, dev: Option<&OwnedFd>) -> Result<(), RootfsError> {
    if bind {
        let target = super::file_target(root, &d.path)?;
        let src = sys::cstring(d.path.as_os_str().as_bytes());
        let tree = sys::open_tree(libc::AT_FDCWD, &src, libc::OPEN_TREE_CLONE).map_err(|errno| match errno {
            Errno::ENOENT => RootfsError::NoHostDevice { path: d.path.clone() },
            _ => dev_err("bind device", &d.path)(errno),
        })?;
        return sys::attach_tree(tree.as_raw_fd(), target.as_raw_fd()).map_err(dev_err("bind device", &d.path));
    }
    let (parent, name) = split(&d.path);
    let resolved;
    let dir = match dev {
        Some(fd) if parent == Path::new("/dev") => fd,
        _ => {
            resolved = resolve_in_root(root, parent, Create::Dir)?;
            &resolved
        }
    };
    let cname = sys::cstring(name.as_bytes());
    let dev = nix::sys::stat::makedev(d.major, d.minor);
    let mode = Mode::from_bits_truncate(d.mode);
    let mk = || nix::sys::stat::mknodat(Some(dir.as_raw_fd()), cname.as_c_str(), d.kind, mode, dev);
    match mk() {
        Ok(()) => {}
        Err(Errno::EEXIST) => {
            // A config device replaces whatever the image had at that path.
            nix::unistd::unlinkat(Some(dir.as_raw_fd()), cname.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)
                .map_err(dev_err("replace", &d.path))?;
            mk().map_err(dev_err("mknod", &d.path))?;
        }
        Err(errno) => return Err(RootfsError::Path { op: "mknod", path: d.path.clone(), errno }),
    }
    if d.uid != 0 || d.gid != 0 {
        nix::unistd::fchownat(
            Some(dir.as_raw_fd()),
            cname.as_c_str(),
            Some(d.uid.into()),
            Some(d.gid.into()),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(dev_err("chown", &d.path))?;
    }
    Ok(())
}

pub fn create_devices(root: &OwnedFd, devices: &[DeviceEntry], bind: bool) -> Result<(), RootfsError> {
    for d in devices {
        create_device(root, d, bind, None)?;
    }
    Ok(())
}

/// Default devices (unless config.json redefines the path), config devices,
/// and the /dev symlinks.
pub fn populate_dev(root: &OwnedFd, plan: &RootfsPlan) -> Result<(), RootfsError> {
    let dev = resolve_in_root(root, Path::new("/dev"), Create::Dir)?;
    for d in default_devices() {
        if !plan.devices.iter().any(|s| s.path == d.path) {
            create_device(root, &d, plan.bind_devices, Some(&dev))?;
        }
    }
    for d in &plan.devices {
        create_device(root, d, plan.bind_devices, Some(&dev))?;
    }
    let mut links: Vec<(&str, &str)> = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        let t = sys::cstring(target);
        let n = sys::cstring(name);
        match nix::unistd::symlinkat(t.as_c_str(), Some(dev.as_raw_fd()), n.as_c_str()) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(errno) => {
                return Err(RootfsError::Path { op: "symlink", path: PathBuf::from("/dev").join(name), errno })
            }
        }
    }
    Ok(())
}
