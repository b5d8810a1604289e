//! cpuset: the CPUs and memory nodes a container may use (`linux.resources.cpu.cpus/mems`).

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};
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
