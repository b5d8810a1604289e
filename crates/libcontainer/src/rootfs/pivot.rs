//! Switching the container's root: pivot_root(2) by default, MS_MOVE + chroot
//! with `--no-pivot` (needed on a ramfs root, where pivot_root is refused), and
//! plain chroot when the container shares the host's mount namespace.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use super::RootfsError;
use crate::sys;

fn pivot_err(path: &Path) -> impl FnOnce(nix::errno::Errno) -> RootfsError + '_ {
    move |errno| RootfsError::Pivot { path: path.to_path_buf(), errno }
}

/// `pivot_root(".", ".")` from inside the new root stacks the old root on top
/// of it; detaching that top mount leaves only the container's tree, without
/// needing a directory for the old root inside the image.
pub fn pivot_root(root: &OwnedFd, rootfs: &Path) -> Result<(), RootfsError> {
    nix::unistd::fchdir(root.as_raw_fd()).map_err(pivot_err(rootfs))?;
    sys::pivot_root(c".", c".").map_err(pivot_err(rootfs))?;
    // Everything is already rslave (see rootfs::prepare), so detaching the old
    // root cannot propagate an unmount back to the host.
    nix::mount::umount2(".", MntFlags::MNT_DETACH).map_err(pivot_err(rootfs))?;
    nix::unistd::chdir("/").map_err(pivot_err(rootfs))?;
    Ok(())
}

/// With MS_MOVE + chroot the host's /proc and /sys stay mounted beneath the
/// container's root, in its mount namespace; the kernel then lets the
/// container mount a fresh procfs with nothing masked (one fully visible
/// already exists). Take them away first, as runc does: detached where the
/// kernel allows it, else (a user namespace, where they are locked) covered
/// with an empty tmpfs. Everything is rslave already: nothing reaches the host.
fn hide_host_proc_and_sys(rootfs: &Path) -> Result<(), RootfsError> {
    let rootfs = std::fs::canonicalize(rootfs).unwrap_or_else(|_| rootfs.to_path_buf());
    let text = crate::cgroups::mountinfo::read_self().map_err(|e| RootfsError::Path {
        op: "read",
        path: "/proc/self/mountinfo".into(),
        errno: crate::sys::io_errno(&e),
    })?;
    let points: Vec<std::path::PathBuf> = crate::cgroups::mountinfo::parse(&text)
        .filter(|m| m.fstype == "proc" || m.fstype == "sysfs")
        .map(|m| m.mount_point())
        .filter(|p| !p.starts_with(&rootfs))
        .collect();
    for p in points.iter().rev() {
        match nix::mount::umount2(p, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => {}
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM) => {
                nix::mount::mount(Some("tmpfs"), p, Some("tmpfs"), MsFlags::MS_RDONLY, None::<&str>)
                    .map_err(|errno| RootfsError::Path { op: "cover the host's", path: p.clone(), errno })?;
            }
            Err(errno) => return Err(RootfsError::Path { op: "detach the host's", path: p.clone(), errno }),
        }
    }
    Ok(())
}

pub fn move_root(root: &OwnedFd, rootfs: &Path) -> Result<(), RootfsError> {
    hide_host_proc_and_sys(rootfs)?;
    nix::unistd::fchdir(root.as_raw_fd()).map_err(pivot_err(rootfs))?;
    nix::mount::mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>).map_err(pivot_err(rootfs))?;
    nix::unistd::chroot(".").map_err(pivot_err(rootfs))?;
    nix::unistd::chdir("/").map_err(pivot_err(rootfs))?;
    Ok(())
}

pub fn chroot_into(root: &OwnedFd, rootfs: &Path) -> Result<(), RootfsError> {
    nix::unistd::fchdir(root.as_raw_fd()).map_err(pivot_err(rootfs))?;
    nix::unistd::chroot(".").map_err(pivot_err(rootfs))?;
    nix::unistd::chdir("/").map_err(pivot_err(rootfs))?;
    Ok(())
}
