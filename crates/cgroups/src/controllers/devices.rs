//! devices: `linux.resources.devices`, the device access rules. v1 writes
//! them to `devices.allow` / `devices.deny`; v2 has no such files, so they are
//! compiled into an eBPF program attached to the cgroup (`devices_bpf.rs`).

use std::os::fd::OwnedFd;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};

use super::devices_bpf;
use super::devices_list::DeviceList;

/// `c 1:3 rwm`, `a *:* rwm`.
pub fn device_rule(r: &LinuxDeviceCgroup) -> String {
    let kind = match r.typ() {
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => "c",
        Some(LinuxDeviceType::B) => "b",
        Some(LinuxDeviceType::P) => "p",
        Some(LinuxDeviceType::A) | None => "a",
    };
    let num = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n.to_string()).unwrap_or_else(|| "*".into());
    let access = r.access().clone().filter(|a| !a.is_empty()).unwrap_or_else(|| "rwm".into());
    format!("{kind} {}:{} {access}", num(r.major()), num(r.minor()))
}

/// v1 (`dir`: the container's directory in the devices hierarchy): the
/// rules' effect computed as the kernel keeps it (`devices_list.rs`), and
/// only the differences from what the cgroup holds now written to
/// `devices.allow` / `devices.deny`, so that an update of a running
/// container never denies everything on the way. Read back afterwards: a
/// rule the kernel took differently must not pass unnoticed.
pub(crate) fn apply_v1(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let target = DeviceList::from_rules(rules)?;
    let current = DeviceList::parse(&read_file(dir, "devices.list")?)?;
    for w in current.transition(&target) {
        write_file(dir, if w.allow { "devices.allow" } else { "devices.deny" }, &w.line)?;
    }
    if !DeviceList::parse(&read_file(dir, "devices.list")?)?.holds(&target) {
        return Err(CgroupError::Invalid {
            field: "devices",
            msg: format!("{}: the kernel's list does not match the rules written", dir.join("devices.list").display()),
        });
    }
    Ok(())
}

/// v2: the rules as one program, replacing the one attached before (`update`).
pub(crate) fn apply_v2(cgroup: &OwnedFd, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    devices_bpf::attach(cgroup, &devices_bpf::compile(rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn device_rules() {
        let deny_all = LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build().unwrap();
        assert_eq!(device_rule(&deny_all), "a *:* rwm");
        let null = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rw")
            .build()
            .unwrap();
        assert_eq!(device_rule(&null), "c 1:3 rw");
        let any_minor =
            LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::B).major(8).build().unwrap();
        assert_eq!(device_rule(&any_minor), "b 8:* rwm");
    }
}
