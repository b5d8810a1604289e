//! The crate's one error type: each variant names the file, field or
//! controller at fault.

use std::path::{Path, PathBuf};

use crate::layout::CGROUP_ROOT;

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
    #[error("systemd is not reachable at {} ({why}): --systemd-cgroup needs it", socket.display())]
    SystemdUnreachable { socket: PathBuf, why: String },
    #[error(
        "--systemd-cgroup needs a pure cgroup v2 host; this one has cgroup v1 controllers (a hybrid or legacy layout)"
    )]
    SystemdNeedsV2,
    #[error("systemd: {op} {unit}: {why}")]
    SystemdCall { op: &'static str, unit: String, why: String },
    #[error("linux.cgroupsPath {path:?}: {msg}")]
    CgroupsPath { path: String, msg: String },
    #[error("annotations.{key}: {msg}")]
    Annotation { key: String, msg: String },
    #[error("{0}")]
    Bpf(String),
    #[error("pids limit of {max} reached (EAGAIN): the container may not start another process")]
    PidsLimit { max: u64 },
    /// runc's wording ("container's cgroup unexpectedly frozen"), which scripts match.
    #[error("container's cgroup unexpectedly frozen: {} is frozen (thaw it, or choose another linux.cgroupsPath)", path.display())]
    Frozen { path: PathBuf },
}

impl CgroupError {
    /// Did the kernel refuse for lack of permission (an unprivileged user
    /// without a delegated cgroup)?
    pub fn errno(&self) -> Option<i32> {
        match self {
            CgroupError::Io { source, .. } | CgroupError::Write { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub fn is_permission_denied(&self) -> bool {
        let errno = match self {
            CgroupError::Io { source, .. } | CgroupError::Write { source, .. } => source.raw_os_error(),
            _ => None,
        };
        matches!(errno, Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS))
    }
}

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io { op, path: path.to_path_buf(), source }
}
