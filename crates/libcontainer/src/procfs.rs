//! procfs as a descriptor nobody else can redirect (CVE-2025-52881).
//!
//! hull writes to procfs on the way to a container: sysctls, oom_score_adj,
//! the LSM exec label, the uid/gid maps. Done through `/proc/...` paths, and
//! after pivot_root through the *container's* /proc, each of those writes can
//! be redirected by a container that races a mount or a symlink over the file
//! (a tmpfs of symlinks shared with another container, a bind mount): the
//! write then lands elsewhere — `docker-default` into /proc/sysrq-trigger, a
//! sysctl value into /proc/sys/kernel/core_pattern, which the host runs as
//! root on the next crash.
//!
//! A [`ProcFs`] is, in order of preference, a fresh procfs instance that
//! exists only as our descriptor (fsopen + fsmount: not attached anywhere, so
//! nothing can be mounted over it), a detached clone of the /proc mount
//! (open_tree), or /proc itself checked to be the root of a procfs. Every
//! lookup beneath it refuses symlinks, magic links and mount crossings
//! (openat2 RESOLVE_BENEATH | NO_SYMLINKS | NO_MAGICLINKS | NO_XDEV), and
//! every file opened is checked to be on procfs before it is written.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("open a private procfs: {0}")]
    Open(Errno),
    #[error("{op} /proc/{path}: {errno}")]
    Access { op: &'static str, path: String, errno: Errno },
    #[error("/proc/{0} is not a procfs file: refusing to use it")]
    NotProc(String),
}

impl ProcError {
    pub fn errno(&self) -> Errno {
        match self {
            ProcError::Open(e) | ProcError::Access { errno: e, .. } => *e,
            ProcError::NotProc(_) => Errno::EXDEV,
        }
    }
}

/// The root directory inode of every procfs instance.
const PROC_ROOT_INO: u64 = 1;

const STRICT: u64 =
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_XDEV | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_SYMLINKS;

/// A procfs root that only we hold.
pub struct ProcFs {
    root: OwnedFd,
    /// Our pid as this instance numbers it (what its `self` link says).
    me: String,
}

fn is_proc(fd: RawFd) -> bool {
    sys::fs_magic(fd).is_ok_and(|m| m == libc::PROC_SUPER_MAGIC)
}

fn is_proc_root(fd: &OwnedFd) -> bool {
    is_proc(fd.as_raw_fd()) && nix::sys::stat::fstat(fd.as_raw_fd()).is_ok_and(|st| st.st_ino == PROC_ROOT_INO)
}

impl ProcFs {
    /// A procfs for the calling process's pid namespace, as private as the
    /// kernel allows here: root outside a user namespace always gets a fresh
    /// instance; inside one the kernel may refuse a new procfs where the
    /// mount namespace has no fully visible one, and the fallbacks apply.
    pub fn open() -> Result<ProcFs, ProcError> {
        let attrs = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC;
        let root = sys::fsmount_new(c"proc", &[], attrs)
            .or_else(|_| sys::open_tree(libc::AT_FDCWD, c"/proc", libc::OPEN_TREE_CLONE))
            .ok()
            .filter(is_proc_root)
            .map(Ok)
            .unwrap_or_else(|| {
                let fd = sys::openat2(
                    libc::AT_FDCWD,
                    c"/proc",
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                    libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
                )
                .map_err(ProcError::Open)?;
                if is_proc_root(&fd) {
                    Ok(fd)
                } else {
                    Err(ProcError::NotProc(String::new()))
                }
            })?;
        let link = nix::fcntl::readlinkat(Some(root.as_raw_fd()), c"self").map_err(ProcError::Open)?;
        let me = link.to_string_lossy().into_owned();
        Ok(ProcFs { root, me })
    }

    /// `rel` under our own /proc/<pid> directory.
    pub fn own(&self, rel: &str) -> String {
        format!("{}/{rel}", self.me)
    }

    /// Opens `rel` ("sys/net/ipv4/ip_forward", "1234/uid_map") beneath the root.
    pub fn open_file(&self, rel: &str, flags: i32) -> Result<OwnedFd, ProcError> {
        let c = sys::cstring(rel);
        // (openat2 refuses O_PATH combined with anything but O_DIRECTORY/O_NOFOLLOW.)
        let flags = if flags & libc::O_PATH != 0 { flags } else { flags | libc::O_NOCTTY };
        let fd = sys::openat2(self.root.as_raw_fd(), &c, flags, 0, STRICT).map_err(|errno| ProcError::Access {
            op: if flags & libc::O_ACCMODE == libc::O_RDONLY { "open" } else { "write" },
            path: rel.into(),
            errno,
        })?;
        if !is_proc(fd.as_raw_fd()) {
            return Err(ProcError::NotProc(rel.into()));
        }
        Ok(fd)
    }

    /// Writes `data` in one write(2), as procfs files such as uid_map require.
    pub fn write(&self, rel: &str, data: &[u8]) -> Result<(), ProcError> {
        let fd = self.open_file(rel, libc::O_WRONLY)?;
        write_once(&fd, data).map_err(|errno| ProcError::Access { op: "write", path: rel.into(), errno })
    }

    pub fn read(&self, rel: &str) -> Result<String, ProcError> {
        let fd = self.open_file(rel, libc::O_RDONLY)?;
        let mut buf = vec![0u8; 4096];
        let n = nix::unistd::read(fd.as_raw_fd(), &mut buf).map_err(|errno| ProcError::Access {
            op: "read",
            path: rel.into(),
            errno,
        })?;
        buf.truncate(n);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Follows the magic link `name` in our own /proc/<pid>/`dir` ("fd/7",
    /// "exe"): the directory is reached strictly, only the last step follows
    /// the link, which the kernel resolves to the object itself.
    pub fn open_own_link(&self, dir: &str, name: &str, flags: i32) -> Result<OwnedFd, ProcError> {
        let rel = if dir.is_empty() { self.me.clone() } else { self.own(dir) };
        self.open_link(&rel, name, flags)
    }

    /// Follows the magic link `name` in the directory `rel` ("1234/ns", "user").
    pub fn open_link(&self, rel: &str, name: &str, flags: i32) -> Result<OwnedFd, ProcError> {
        let rel = rel.to_string();
        let d = self.open_file(&rel, libc::O_PATH | libc::O_DIRECTORY)?;
        let c = sys::cstring(name);
        nix::fcntl::openat(
            Some(d.as_raw_fd()),
            c.as_c_str(),
            nix::fcntl::OFlag::from_bits_retain(flags | libc::O_CLOEXEC),
            nix::sys::stat::Mode::empty(),
        )
        .map(|fd| {
            // SAFETY: openat returned a new descriptor that we now own.
            unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
        })
        .map_err(|errno| ProcError::Access { op: "open", path: format!("{rel}/{name}"), errno })
    }

    /// Opens what descriptor `fd` refers to anew, with `flags` (an O_PATH
    /// descriptor becomes a readable or writable one).
    pub fn reopen(&self, fd: &impl AsRawFd, flags: i32) -> Result<OwnedFd, ProcError> {
        self.open_own_link("fd", &fd.as_raw_fd().to_string(), flags)
    }
}

/// One write(2) of all of `data`, or an error.
pub fn write_once(fd: &OwnedFd, data: &[u8]) -> Result<(), Errno> {
    match nix::unistd::write(fd, data)? {
        n if n == data.len() => Ok(()),
        _ => Err(Errno::EIO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_lookups_refuse_symlinks_and_escapes() {
        if !sys::is_root() {
            return;
        }
        let p = ProcFs::open().unwrap();
        // `self` is a symlink: refused by the strict lookup, used only through `own`.
        assert!(p.open_file("self/status", libc::O_RDONLY).is_err());
        assert!(p.read(&p.own("status")).unwrap().contains("Pid:"));
        assert!(p.open_file("../etc/passwd", libc::O_RDONLY).is_err());
        assert!(p.read("sys/kernel/ostype").unwrap().starts_with("Linux"));
        // A reopened descriptor is the same file.
        let f = std::fs::File::open("/bin/sh").unwrap();
        let again = p.reopen(&f, libc::O_RDONLY).unwrap();
        let (a, b) = (nix::sys::stat::fstat(f.as_raw_fd()).unwrap(), nix::sys::stat::fstat(again.as_raw_fd()).unwrap());
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
    }
}
