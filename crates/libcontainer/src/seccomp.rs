//! `linux.seccomp`: compiled to a classic BPF program and installed as the
//! last step before execve.

use nix::errno::Errno;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("linux.seccomp: {0}")]
    Invalid(String),
    #[error("install the seccomp filter: {0}")]
    Install(Errno),
}

/// A compiled filter, ready for seccomp(2).
#[derive(Debug, Clone)]
pub struct Filter {
    pub program: Vec<libc::sock_filter>,
    pub flags: u32,
}

impl Filter {
    pub fn install(&self) -> Result<(), SeccompError> {
        crate::sys::seccomp_set_filter(&self.program, self.flags).map(|_| ()).map_err(SeccompError::Install)
    }
}

pub fn compile(_spec: &oci_spec::runtime::LinuxSeccomp) -> Result<Filter, SeccompError> {
    Err(SeccompError::Invalid("seccomp profiles are not supported by this build yet".into()))
}
