//! maskedPaths and readonlyPaths, applied after pivot_root so that the paths
//! are the container's own (/proc here is the container's procfs).
//!
//! Nothing here goes by name once it is checked (CVE-2025-31133): files are
//! masked with the host's null device, opened before pivot_root and checked
//! to be 1:3 — never with the container's /dev/null, which a container
//! sharing /dev with another could turn into a symlink to, say,
//! /proc/sys/kernel/core_pattern, so that the "mask" would expose that file
//! read-write instead of hiding one. Each target is opened once and every
//! mount lands on that descriptor.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::RootfsError;
use crate::sys;

/// A detached bind mount of the host's /dev/null, made before pivot_root
/// (afterwards the host's /dev is out of reach).
pub struct NullSource {
    tree: OwnedFd,
    /// The tree has been attached once (over the first masked file): later
    /// masks clone it from there.
    used: bool,
}

/// Opens the host's /dev/null and checks that it is the null device.
pub fn open_null() -> Result<NullSource, RootfsError> {
    let null = Path::new("/dev/null");
    let (fd, is_null) = open_dev_null(libc::O_PATH)?;
    if !is_null {
        return Err(RootfsError::NotNullDevice);
    }
    let tree = sys::open_tree(fd.as_raw_fd(), c"", libc::OPEN_TREE_CLONE | libc::AT_EMPTY_PATH as u32)
        .map_err(|errno| RootfsError::Path { op: "clone a mount of", path: null.into(), errno })?;
    Ok(NullSource { tree, used: false })
}

impl NullSource {
    fn mask(&mut self, target: &OwnedFd) -> Result<(), Errno> {
        if self.used {
            return sys::bind_fd_onto_fd(self.tree.as_raw_fd(), target.as_raw_fd(), false);
        }
        sys::attach_tree(self.tree.as_raw_fd(), target.as_raw_fd())?;
        self.used = true;
        Ok(())
    }
}

/// The path inside the container (we are past pivot_root), the last
/// component not followed, magic links refused.
fn open_path(p: &Path) -> Result<Option<OwnedFd>, RootfsError> {
    let c = super::cpath(p);
    match sys::openat2(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_NOFOLLOW, 0, libc::RESOLVE_NO_MAGICLINKS) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(RootfsError::Path { op: "open", path: p.to_path_buf(), errno }),
    }
}

fn mount_err(op: &'static str, what: &str, p: &Path) -> impl FnOnce(Errno) -> RootfsError {
    let (what, destination) = (what.to_string(), p.to_path_buf());
    move |errno| RootfsError::Mount { op, what, destination, errno }
}

/// Hides each path: files get the null device bound over them, directories
/// an empty read-only tmpfs. Missing paths are fine (not every kernel has
/// every file).
pub fn mask_paths(paths: &[PathBuf], null: &mut NullSource) -> Result<(), RootfsError> {
    for p in paths {
        let Some(fd) = open_path(p)? else { continue };
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|errno| RootfsError::Path {
            op: "stat",
            path: p.clone(),
            errno,
        })?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            let tmpfs = sys::fsmount_new(c"tmpfs", &[(c"size", c"0"), (c"nr_inodes", c"1")], libc::MOUNT_ATTR_RDONLY)
                .map_err(mount_err("mask", "maskedPaths", p))?;
            sys::attach_tree(tmpfs.as_raw_fd(), fd.as_raw_fd()).map_err(mount_err("mask", "maskedPaths", p))?;
        } else {
            null.mask(&fd).map_err(mount_err("mask", "maskedPaths", p))?;
        }
    }
    Ok(())
}

/// Makes each path (and everything mounted below it) read-only: a
/// recursive bind of it, made read-only while still detached, then put over
/// it.
pub fn readonly_paths(paths: &[PathBuf]) -> Result<(), RootfsError> {
    for p in paths {
        let Some(fd) = open_path(p)? else { continue };
        let flags = libc::OPEN_TREE_CLONE | (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as u32;
        let tree = sys::open_tree(fd.as_raw_fd(), c"", flags).map_err(mount_err("bind", "readonlyPaths", p))?;
        sys::mount_setattr(
            tree.as_raw_fd(),
            c"",
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as u32,
            libc::MOUNT_ATTR_RDONLY,
            0,
            0,
        )
        .map_err(mount_err("make read-only", "readonlyPaths", p))?;
        sys::attach_tree(tree.as_raw_fd(), fd.as_raw_fd()).map_err(mount_err("bind", "readonlyPaths", p))?;
    }
    Ok(())
}

/// runc's reOpenDevNull: stdin, stdout or stderr that is the host's null
/// device (a caller's `</dev/null`) becomes the container's own /dev/null,
/// so that no descriptor of the container leads to a mount outside it —
/// CRIU cannot checkpoint one ("Can't lookup mount"). Called after
/// pivot_root, with the /dev hull made; that /dev/null is checked to be
/// the null device before it is used.
pub fn reopen_dev_null() -> Result<(), RootfsError> {
    let null = Path::new("/dev/null");
    let (fd, is_null) = open_dev_null(libc::O_RDWR | libc::O_CLOEXEC)?;
    if !is_null {
        return Err(RootfsError::ContainerNullDevice);
    }
    for stdio in 0..3 {
        let theirs = nix::sys::stat::fstat(stdio);
        // Even the same device inode through another mount is the host's.
        if theirs.is_ok_and(|t| is_null_device(&t)) {
            nix::unistd::dup3(fd.as_raw_fd(), stdio, nix::fcntl::OFlag::empty())
                .map_err(|errno| RootfsError::Path { op: "reopen stdio as", path: null.into(), errno })?;
        }
    }
    Ok(())
}

/// The current root's /dev/null, opened with `flags` without following a
/// link, and whether it is the null device.
fn open_dev_null(flags: i32) -> Result<(OwnedFd, bool), RootfsError> {
    let null = Path::new("/dev/null");
    let fd =
        sys::openat2(libc::AT_FDCWD, c"/dev/null", flags, 0, libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS)
            .map_err(|errno| RootfsError::Path { op: "open", path: null.into(), errno })?;
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|errno| RootfsError::Path {
        op: "stat",
        path: null.into(),
        errno,
    })?;
    Ok((fd, is_null_device(&st)))
}

/// A character device 1:3.
fn is_null_device(st: &nix::sys::stat::FileStat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == nix::sys::stat::makedev(1, 3)
}
