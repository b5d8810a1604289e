//! unified: `linux.resources.unified`, cgroup v2 files written as given.

use std::collections::HashMap;
use std::path::Path;

use crate::error::CgroupError;
use crate::fs::write_file;
use crate::systemd::dbus::Value;
use crate::systemd::{self, Property};

use super::{cpu, cpuset};

pub(crate) fn apply_v1(u: &HashMap<String, String>) -> Result<(), CgroupError> {
    if !u.is_empty() {
        return Err(CgroupError::Invalid {
            field: "unified",
            // runc's words: engines and scripts look for "invalid configuration".
            msg: "invalid configuration: cannot use unified on cgroup v1 (this host's controllers are v1)".into(),
        });
    }
    Ok(())
}

/// Only resource files of the container's own directory: no path, and none
/// of the `cgroup.*` interface files but freeze and type.
pub(crate) fn apply_v2(d: &Path, u: &HashMap<String, String>) -> Result<(), CgroupError> {
    for (k, v) in u {
        if k.contains('/') || k.starts_with("cgroup.") && k != "cgroup.freeze" && k != "cgroup.type" {
            return Err(CgroupError::Invalid { field: "unified", msg: format!("{k:?} is not a cgroup resource file") });
        }
        write_file(d, k, v)?;
    }
    Ok(())
}

/// The systemd driver's unit properties for the files of
/// `linux.resources.unified` systemd has one for (as runc maps them); the
/// others are only written to the cgroup.
pub(crate) fn unit_properties(u: &HashMap<String, String>) -> Result<Vec<Property>, CgroupError> {
    let bad =
        |k: &str, v: &str| CgroupError::Invalid { field: "unified", msg: format!("{k}: {v:?} is not a valid value") };
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    let mut p = Vec::new();
    for k in keys {
        let v = u[k].trim();
        let name = match k.as_str() {
            "memory.max" => "MemoryMax",
            "memory.high" => "MemoryHigh",
            "memory.low" => "MemoryLow",
            "memory.min" => "MemoryMin",
            "memory.swap.max" => "MemorySwapMax",
            "pids.max" => "TasksMax",
            "cpu.weight" => {
                let w: u64 = v.parse().map_err(|_| bad(k, v))?;
                p.push(("CPUWeight".into(), Value::U64(w)));
                continue;
            }
            "cpu.max" => {
                let mut it = v.split_whitespace();
                let quota = match it.next() {
                    Some("max") => -1,
                    Some(q) => q.parse().map_err(|_| bad(k, v))?,
                    None => return Err(bad(k, v)),
                };
                let period = match it.next() {
                    Some(per) => per.parse().map_err(|_| bad(k, v))?,
                    None => 100_000,
                };
                p.push(("CPUQuotaPeriodUSec".into(), Value::U64(period)));
                p.push(("CPUQuotaPerSecUSec".into(), Value::U64(cpu::quota_per_sec(quota, period))));
                continue;
            }
            "cpuset.cpus" => {
                p.push(("AllowedCPUs".into(), cpuset::mask_value("unified", v)?));
                continue;
            }
            "cpuset.mems" => {
                p.push(("AllowedMemoryNodes".into(), cpuset::mask_value("unified", v)?));
                continue;
            }
            _ => continue,
        };
        p.push((name.into(), systemd::file_limit(v).ok_or_else(|| bad(k, v))?));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_files_become_properties() {
        let u: HashMap<String, String> =
            [("memory.high", "max"), ("pids.max", "10"), ("cpu.max", "20000 50000"), ("io.max", "8:0 rbps=1")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let p = unit_properties(&u).unwrap();
        assert_eq!(
            p,
            vec![
                ("CPUQuotaPeriodUSec".to_string(), Value::U64(50_000)),
                ("CPUQuotaPerSecUSec".to_string(), Value::U64(400_000)),
                ("MemoryHigh".to_string(), Value::U64(u64::MAX)),
                ("TasksMax".to_string(), Value::U64(10)),
            ]
        );
        let bad: HashMap<String, String> = [("memory.max".to_string(), "lots".to_string())].into();
        assert!(unit_properties(&bad).is_err());
    }
}
