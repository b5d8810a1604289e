//! maskedPaths and readonlyPaths, applied after pivot_root so that the paths
//! are the container's own (/proc here is the container's procfs).

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::mounts::proc_fd_path;
use super::RootfsError;
use crate::sys;

fn open_path(p: &Path) -> Result<Option<std::os::fd::OwnedFd>, RootfsError> {
    let c = super::cpath(p);
    match sys::openat2(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_NOFOLLOW, 0, 0) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(RootfsError::Path { op: "open", path: p.to_path_buf(), errno }),
    }
}

/// Hides each path: files get /dev/null bound over them, directories an empty
/// read-only tmpfs. Missing paths are fine (not every kernel has every file).
pub fn mask_paths(paths: &[PathBuf]) -> Result<(), RootfsError> {
    for p in paths {
        let Some(fd) = open_path(p)? else { continue };
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|errno| RootfsError::Path {
            op: "stat",
            path: p.clone(),
            errno,
        })?;
        let target = proc_fd_path(&fd);
        let r = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            nix::mount::mount(
                Some("tmpfs"),
                target.as_c_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                Some("size=0,nr_inodes=1"),
            )
        } else {
            nix::mount::mount(Some("/dev/null"), target.as_c_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        r.map_err(|errno| RootfsError::Mount {
            op: "mask",
            what: "maskedPaths".into(),
            destination: p.clone(),
            errno,
        })?;
    }
    Ok(())
}

/// Makes each path (and everything mounted below it) read-only.
pub fn readonly_paths(paths: &[PathBuf]) -> Result<(), RootfsError> {
    for p in paths {
        let Some(fd) = open_path(p)? else { continue };
        let target = proc_fd_path(&fd);
        nix::mount::mount(
            Some(target.as_c_str()),
            target.as_c_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|errno| RootfsError::Mount {
            op: "bind",
            what: "readonlyPaths".into(),
            destination: p.clone(),
            errno,
        })?;
        // The fd is below the new bind: set the attribute through the path.
        let c = super::cpath(p);
        sys::mount_setattr(
            libc::AT_FDCWD,
            &c,
            (libc::AT_RECURSIVE | libc::AT_SYMLINK_NOFOLLOW) as u32,
            libc::MOUNT_ATTR_RDONLY,
            0,
            0,
        )
        .map_err(|errno| RootfsError::Mount {
            op: "make read-only",
            what: "readonlyPaths".into(),
            destination: p.clone(),
            errno,
        })?;
    }
    Ok(())
}
