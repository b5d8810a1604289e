//! cpuset: the CPUs and memory nodes a container may use (`linux.resources.cpu.cpus/mems`).

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};
use crate::systemd::dbus::Value;
use crate::systemd::Property;
use crate::v1::V1Manager;

use super::need_v2;

/// v1: a fresh cpuset cgroup has empty cpus/mems and refuses tasks: copy them
/// down from the nearest ancestor that has them. Ancestors hull makes get
/// cgroup.clone_children, so next time the kernel copies them at mkdir.
pub(crate) fn init_v1(dir: &Path, mount_point: &Path) -> Result<(), CgroupError> {
    // Usually the kernel already copied them (clone_children on the parent):
    // check the directory itself, since a parent made concurrently may
    // have had none yet to copy.
    let filled = |f: &str| read_file(dir, f).is_ok_and(|s| !s.trim().is_empty());
    if filled("cpuset.cpus") && filled("cpuset.mems") {
        return Ok(());
    }
    let mut chain: Vec<&Path> =
        dir.ancestors().take_while(|a| a.starts_with(mount_point) && *a != mount_point).collect();
    chain.reverse();
    let last = chain.len().saturating_sub(1);
    for (i, d) in chain.into_iter().enumerate() {
        if i < last {
            let _ = write_file(d, "cgroup.clone_children", "1");
        }
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read_file(d, file)?.trim().is_empty() {
                let parent = d.parent().unwrap_or(mount_point);
                let v = read_file(parent, file)?;
                write_file(d, file, v.trim())?;
            }
        }
    }
    Ok(())
}

pub(crate) fn apply_v1(m: &V1Manager, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if cpu.cpus().is_none() && cpu.mems().is_none() {
        return Ok(());
    }
    let d = m.need("cpuset", "cpu.cpus")?;
    if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        write_file(d, "cpuset.cpus", c)?;
    }
    if let Some(m) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
        write_file(d, "cpuset.mems", m)?;
    }
    Ok(())
}

pub(crate) fn apply_v2(d: &Path, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        need_v2(d, "cpuset.cpus", "cpu.cpus", "cpuset")?;
        write_file(d, "cpuset.cpus", c)?;
    }
    if let Some(m) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
        need_v2(d, "cpuset.mems", "cpu.mems", "cpuset")?;
        write_file(d, "cpuset.mems", m)?;
    }
    Ok(())
}

/// The highest CPU or node number accepted in a list (the kernel's NR_CPUS
/// is at most 8192).
const MAX_INDEX: usize = 8191;

/// A cpuset list (`0-3,8`) as the bitmask systemd's `AllowedCPUs` takes:
/// byte i holds CPUs 8i..8i+7, lowest bit first.
pub fn list_to_mask(list: &str) -> Result<Vec<u8>, String> {
    let mut mask = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num =
            |s: &str| s.trim().parse::<usize>().map_err(|_| format!("{part:?} in {list:?} is not a number or range"));
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi || hi > MAX_INDEX {
            return Err(format!("{part:?} in {list:?} is not a range up to {MAX_INDEX}"));
        }
        if mask.len() <= hi / 8 {
            mask.resize(hi / 8 + 1, 0);
        }
        for i in lo..=hi {
            mask[i / 8] |= 1 << (i % 8);
        }
    }
    Ok(mask)
}

/// A cpuset list as an `ay` property value.
pub(crate) fn mask_value(field: &'static str, list: &str) -> Result<Value, CgroupError> {
    let mask = list_to_mask(list).map_err(|msg| CgroupError::Invalid { field, msg })?;
    Ok(Value::Array("y".into(), mask.into_iter().map(Value::Byte).collect()))
}

/// The systemd driver's unit properties: `AllowedCPUs`, `AllowedMemoryNodes`.
pub(crate) fn unit_properties(cpu: &LinuxCpu) -> Result<Vec<Property>, CgroupError> {
    let mut p = Vec::new();
    if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        p.push(("AllowedCPUs".into(), mask_value("cpu.cpus", c)?));
    }
    if let Some(m) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
        p.push(("AllowedMemoryNodes".into(), mask_value("cpu.mems", m)?));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_become_masks() {
        assert_eq!(list_to_mask("0").unwrap(), vec![1]);
        assert_eq!(list_to_mask("0-3,8").unwrap(), vec![0x0f, 0x01]);
        assert_eq!(list_to_mask("1,3, 5-6").unwrap(), vec![0b0110_1010]);
        assert_eq!(list_to_mask("15").unwrap(), vec![0, 0x80]);
        for bad in ["a", "3-1", "1-", "9000"] {
            assert!(list_to_mask(bad).is_err(), "{bad}");
        }
    }
}
