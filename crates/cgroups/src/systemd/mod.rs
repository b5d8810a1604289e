//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup
//! is a transient scope unit that systemd makes over D-Bus. `dbus.rs` is the
//! D-Bus client; each controller's file says which unit properties hold its
//! limits (`MemoryMax` is in `controllers/memory.rs`).

pub mod dbus;

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::controllers::{blkio, cpu, cpuset, memory, pids, unified};
use crate::error::CgroupError;
use dbus::Value;

/// A unit property: its name and its value.
pub type Property = (String, Value);

/// A limit as systemd takes it: negative is none (`infinity`, u64::MAX).
pub(crate) fn limit(v: i64) -> Value {
    Value::U64(if v < 0 { u64::MAX } else { v as u64 })
}

/// A cgroup file's value as a limit property: `max` or a number.
pub(crate) fn file_limit(v: &str) -> Option<Value> {
    match v.trim() {
        "max" => Some(Value::U64(u64::MAX)),
        n => n.parse().ok().map(Value::U64),
    }
}

/// The limits of `r` that systemd holds as unit properties, by controller.
pub fn resource_properties(r: &LinuxResources, dir: &Path) -> Result<Vec<Property>, CgroupError> {
    let mut props = Vec::new();
    if let Some(m) = r.memory() {
        props.extend(memory::unit_properties(m)?);
    }
    if let Some(c) = r.cpu() {
        props.extend(cpu::unit_properties(c, dir));
        props.extend(cpuset::unit_properties(c)?);
    }
    if let Some(p) = r.pids() {
        props.extend(pids::unit_properties(p));
    }
    if let Some(b) = r.block_io() {
        props.extend(blkio::unit_properties(b));
    }
    if let Some(u) = r.unified() {
        props.extend(unified::unit_properties(u)?);
    }
    Ok(props)
}
