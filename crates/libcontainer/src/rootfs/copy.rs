//! `tmpcopyup`: copy a directory tree (the image's content under a tmpfs
//! destination) into the new tmpfs, keeping modes, owners and links. Both
//! ends are descriptors; nothing is looked up by path from the root.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag};

/// Copies the entries of directory `from` into directory `to`, recursively.
pub fn copy_tree(from: &OwnedFd, to: &OwnedFd) -> Result<(), Errno> {
    let mut dir = nix::dir::Dir::from_fd(nix::unistd::dup(from.as_raw_fd())?)?;
    let names: Vec<std::ffi::CString> = dir
        .iter()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        copy_entry(from, to, &name)?;
    }
    Ok(())
}

fn open_at(dir: &OwnedFd, name: &CStr, flags: OFlag, mode: Mode) -> Result<OwnedFd, Errno> {
    let fd = nix::fcntl::openat(Some(dir.as_raw_fd()), name, flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW, mode)?;
    // SAFETY: openat returned a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn copy_entry(from: &OwnedFd, to: &OwnedFd, name: &CStr) -> Result<(), Errno> {
    let st = nix::sys::stat::fstatat(Some(from.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            match nix::sys::stat::mkdirat(Some(to.as_raw_fd()), name, mode) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
            let src = open_at(from, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
            let dst = open_at(to, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
            copy_tree(&src, &dst)?;
        }
        libc::S_IFREG => {
            let src = open_at(from, name, OFlag::O_RDONLY, Mode::empty())?;
            let dst = open_at(to, name, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC, mode)?;
            let (mut src, mut dst) = (std::fs::File::from(src), std::fs::File::from(dst));
            std::io::copy(&mut src, &mut dst).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        }
        libc::S_IFLNK => {
            let target = nix::fcntl::readlinkat(Some(from.as_raw_fd()), name)?;
            nix::unistd::symlinkat(target.as_os_str(), Some(to.as_raw_fd()), name)?;
        }
        kind => {
            let kind = SFlag::from_bits_truncate(kind);
            nix::sys::stat::mknodat(Some(to.as_raw_fd()), name, kind, mode, st.st_rdev)?;
        }
    }
    nix::unistd::fchownat(
        Some(to.as_raw_fd()),
        name,
        Some(st.st_uid.into()),
        Some(st.st_gid.into()),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
        // chown clears set-id bits: put the mode back.
        nix::sys::stat::fchmodat(Some(to.as_raw_fd()), name, mode, FchmodatFlags::FollowSymlink)?;
    }
    Ok(())
}
