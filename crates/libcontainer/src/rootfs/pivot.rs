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

pub fn move_root(root: &OwnedFd, rootfs: &Path) -> Result<(), RootfsError> {
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
