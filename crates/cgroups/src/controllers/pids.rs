//! pids: `pids.max`, the same file on v1 and v2.

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};
use crate::stats::{limit, num, Pids};
use crate::systemd::dbus::Value;
use crate::systemd::Property;
use crate::v1::V1Manager;

use super::need_v2;

/// A limit of 0 or below means none.
fn max_value(pids: &LinuxPids) -> String {
    if pids.limit() > 0 {
        pids.limit().to_string()
    } else {
        "max".to_string()
    }
}

pub(crate) fn apply_v1(m: &V1Manager, pids: &LinuxPids) -> Result<(), CgroupError> {
    write_file(m.need("pids", "pids")?, "pids.max", &max_value(pids))
}

pub(crate) fn apply_v2(d: &Path, pids: &LinuxPids) -> Result<(), CgroupError> {
    need_v2(d, "pids.max", "pids", "pids")?;
    write_file(d, "pids.max", &max_value(pids))
}

/// The systemd driver's unit property: `TasksMax` (0 or below: none).
pub(crate) fn unit_properties(pids: &LinuxPids) -> Vec<Property> {
    let max = if pids.limit() > 0 { pids.limit() as u64 } else { u64::MAX };
    vec![("TasksMax".into(), Value::U64(max))]
}

/// v1's pids.max only stops fork, not a migration: check after one.
pub(crate) fn check_v1_limit(m: &V1Manager) -> Result<(), CgroupError> {
    if let Some(d) = m.dir("pids") {
        if let Ok(Ok(max)) = read_file(d, "pids.max").map(|s| s.trim().parse::<u64>()) {
            let current: u64 = read_file(d, "pids.current")?.trim().parse().unwrap_or(0);
            if current > max {
                return Err(CgroupError::PidsLimit { max });
            }
        }
    }
    Ok(())
}

/// The same files on v1 and v2.
pub(crate) fn stats(d: &Path) -> Pids {
    Pids { current: num(d, "pids.current"), limit: limit(d, "pids.max") }
}
