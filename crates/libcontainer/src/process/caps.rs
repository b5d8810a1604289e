//! Capabilities: the five sets of `process.capabilities` as 64-bit masks, and
//! the order in which they are applied around the uid switch.

use nix::errno::Errno;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use crate::sys;

/// The kernel's number for a capability (include/uapi/linux/capability.h).
pub fn number(c: &Capability) -> u32 {
    use Capability::*;
    match c {
        Chown => 0,
        DacOverride => 1,
        DacReadSearch => 2,
        Fowner => 3,
        Fsetid => 4,
        Kill => 5,
        Setgid => 6,
        Setuid => 7,
        Setpcap => 8,
        LinuxImmutable => 9,
        NetBindService => 10,
        NetBroadcast => 11,
        NetAdmin => 12,
        NetRaw => 13,
        IpcLock => 14,
        IpcOwner => 15,
        SysModule => 16,
        SysRawio => 17,
        SysChroot => 18,
        SysPtrace => 19,
        SysPacct => 20,
        SysAdmin => 21,
        SysBoot => 22,
        SysNice => 23,
        SysResource => 24,
        SysTime => 25,
        SysTtyConfig => 26,
        Mknod => 27,
        Lease => 28,
        AuditWrite => 29,
        AuditControl => 30,
        Setfcap => 31,
        MacOverride => 32,
        MacAdmin => 33,
        Syslog => 34,
        WakeAlarm => 35,
        BlockSuspend => 36,
        AuditRead => 37,
        Perfmon => 38,
        Bpf => 39,
        CheckpointRestore => 40,
    }
}

/// Names by number, as the kernel's header lists them.
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The name of capability number `n`.
pub fn name(n: u32) -> Option<&'static str> {
    NAMES.get(n as usize).copied()
}

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(40)
}

/// The five sets as masks. Capabilities the running kernel does not know are
/// dropped from the masks (a config written for a newer kernel still runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

fn mask(set: &Option<Capabilities>, known: u64) -> u64 {
    set.iter().flatten().fold(0u64, |m, c| m | (1u64 << number(c))) & known
}

impl CapSets {
    pub fn from_spec(c: &LinuxCapabilities, last: u32) -> CapSets {
        let known = if last >= 63 { u64::MAX } else { (1u64 << (last + 1)) - 1 };
        CapSets {
            bounding: mask(c.bounding(), known),
            effective: mask(c.effective(), known),
            permitted: mask(c.permitted(), known),
            inheritable: mask(c.inheritable(), known),
            ambient: mask(c.ambient(), known),
        }
    }
}

/// Drops every capability outside `bounding` from the bounding set. Needs
/// CAP_SETPCAP, so it runs before the uid switch.
pub fn drop_bounding(bounding: u64, last: u32) -> Result<(), Errno> {
    for cap in 0..=last {
        if bounding & (1u64 << cap) == 0 {
            match sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) {
                Ok(_) | Err(Errno::EINVAL) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Sets effective/permitted/inheritable, then raises the ambient ones.
/// Ambient capabilities must also be permitted and inheritable; like runc, a
/// config that asks for one that is not is not an error (the kernel simply
/// refuses that one).
pub fn apply(sets: &CapSets, last: u32) -> Result<(), Errno> {
    sys::capset(sets.effective, sets.permitted, sets.inheritable)?;
    sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0)?;
    for cap in 0..=last {
        if sets.ambient & (1u64 << cap) != 0 {
            let _ = sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, cap as libc::c_ulong);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn masks() {
        let set: HashSet<Capability> =
            [Capability::Kill, Capability::NetBindService, Capability::AuditWrite].into_iter().collect();
        let c = oci_spec::runtime::LinuxCapabilitiesBuilder::default()
            .bounding(set.clone())
            .effective(set)
            .build()
            .unwrap();
        let s = CapSets::from_spec(&c, 40);
        assert_eq!(s.bounding, (1 << 5) | (1 << 10) | (1 << 29));
        assert_eq!(s.effective, s.bounding);
    }

    #[test]
    fn caps_beyond_the_kernel_are_dropped() {
        let set: HashSet<Capability> = [Capability::CheckpointRestore, Capability::Chown].into_iter().collect();
        let c = oci_spec::runtime::LinuxCapabilitiesBuilder::default().bounding(set).build().unwrap();
        assert_eq!(CapSets::from_spec(&c, 37).bounding, 1);
    }
}
