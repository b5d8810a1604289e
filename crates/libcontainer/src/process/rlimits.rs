//! `process.rlimits`.

use nix::errno::Errno;
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use crate::sys;

pub fn resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub name: PosixRlimitType,
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

pub fn from_spec(list: &[PosixRlimit]) -> Vec<Rlimit> {
    list.iter().map(|r| Rlimit { name: r.typ(), resource: resource(r.typ()), soft: r.soft(), hard: r.hard() }).collect()
}

/// Sets each limit; on failure returns the limit and errno so the caller can
/// say which one (a hard limit above the current one needs CAP_SYS_RESOURCE).
pub fn apply(limits: &[Rlimit]) -> Result<(), (Rlimit, Errno)> {
    for l in limits {
        sys::setrlimit(l.resource, l.soft, l.hard).map_err(|e| (*l, e))?;
    }
    Ok(())
}

/// The current hard limit of `resource`, for error messages.
pub fn current_hard(resource: u32) -> u64 {
    sys::getrlimit(resource).1
}

pub fn name(t: PosixRlimitType) -> String {
    let s = format!("{t:?}");
    // RlimitNofile -> RLIMIT_NOFILE
    format!("RLIMIT_{}", s.trim_start_matches("Rlimit").to_uppercase())
}
