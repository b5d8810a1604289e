//! memory: the limit, memory+swap, the reservation, kernel limits,
//! swappiness and the OOM killer (v1); `memory.max`, `memory.swap.max` and
//! `memory.low` (v2); usage and OOM kills for stats.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::error::CgroupError;
use crate::fs::{max_or, read_file, write_file};
use crate::stats::{kv, limit, num, Memory, MemoryEntry};
use crate::systemd::{self, Property};
use crate::v1::V1Manager;

use super::need_v2;

/// OCI `swap` is memory+swap; cgroup v2 limits swap alone.
pub fn swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, CgroupError> {
    match (limit, swap) {
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some("max".into())),
        (Some(-1), Some(_)) | (None, Some(_)) => Err(CgroupError::Invalid {
            field: "memory.swap",
            msg: "a memory+swap limit needs a memory limit on cgroup v2".into(),
        }),
        (Some(l), Some(s)) if s < l => Err(CgroupError::Invalid {
            field: "memory.swap",
            msg: format!("memory+swap limit {s} is below the memory limit {l}"),
        }),
        (Some(l), Some(s)) => Ok(Some((s - l).to_string())),
    }
}

pub(crate) fn apply_v1(m: &V1Manager, mem: &LinuxMemory) -> Result<(), CgroupError> {
    let d = m.need("memory", "memory")?;
    write_limits_v1(d, mem.limit(), mem.swap())?;
    if let Some(res) = mem.reservation() {
        write_file(d, "memory.soft_limit_in_bytes", &res.to_string())?;
    }
    // kernel/kernelTCP limits are gone from recent kernels: set them where they still exist.
    if let Some(k) = mem.kernel() {
        if d.join("memory.kmem.limit_in_bytes").exists() {
            let _ = write_file(d, "memory.kmem.limit_in_bytes", &k.to_string());
        }
    }
    if let Some(k) = mem.kernel_tcp() {
        if d.join("memory.kmem.tcp.limit_in_bytes").exists() {
            write_file(d, "memory.kmem.tcp.limit_in_bytes", &k.to_string())?;
        }
    }
    if let Some(s) = mem.swappiness() {
        if s > 100 {
            return Err(CgroupError::Invalid { field: "memory.swappiness", msg: format!("{s} is above 100") });
        }
        write_file(d, "memory.swappiness", &s.to_string())?;
    }
    if mem.disable_oom_killer() == Some(true) {
        write_file(d, "memory.oom_control", "1")?;
    }
    if let Some(h) = mem.use_hierarchy() {
        let _ = write_file(d, "memory.use_hierarchy", if h { "1" } else { "0" });
    }
    Ok(())
}

/// v1's `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` (memory+swap).
fn write_limits_v1(d: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<(), CgroupError> {
    if let Some(s) = swap {
        if s != -1 && limit.is_some_and(|l| l != -1 && s < l) {
            return Err(CgroupError::Invalid {
                field: "memory.swap",
                msg: format!("memory+swap limit {s} is below the memory limit {}", limit.unwrap_or(0)),
            });
        }
    }
    let memsw_exists = d.join("memory.memsw.limit_in_bytes").exists();
    if swap.is_some() && !memsw_exists && swap != limit {
        return Err(CgroupError::Invalid {
            field: "memory.swap",
            msg: "swap accounting is disabled on this host (no memory.memsw.limit_in_bytes)".into(),
        });
    }
    // memory.limit must stay <= memsw.limit at every step: raise memsw
    // first when growing, lower memory first when shrinking.
    let current_memsw: i64 = if memsw_exists && swap.is_some() {
        read_file(d, "memory.memsw.limit_in_bytes")?.trim().parse().unwrap_or(i64::MAX)
    } else {
        i64::MAX
    };
    match (limit, swap.filter(|_| memsw_exists)) {
        (Some(l), Some(s)) => {
            let l_eff = if l == -1 { i64::MAX } else { l };
            if l_eff > current_memsw {
                write_file(d, "memory.memsw.limit_in_bytes", &s.to_string())?;
                write_file(d, "memory.limit_in_bytes", &l.to_string())?;
            } else {
                write_file(d, "memory.limit_in_bytes", &l.to_string())?;
                write_file(d, "memory.memsw.limit_in_bytes", &s.to_string())?;
            }
        }
        (Some(l), None) => write_file(d, "memory.limit_in_bytes", &l.to_string())?,
        (None, Some(s)) => write_file(d, "memory.memsw.limit_in_bytes", &s.to_string())?,
        (None, None) => {}
    }
    Ok(())
}

pub(crate) fn apply_v2(d: &Path, mem: &LinuxMemory) -> Result<(), CgroupError> {
    need_v2(d, "memory.max", "memory", "memory")?;
    if let Some(swap) = swap_max(mem.limit(), mem.swap())? {
        // Without swap accounting there is no swap limit to lift.
        if swap != "max" || d.join("memory.swap.max").exists() {
            need_v2(d, "memory.swap.max", "memory.swap", "memory (swap accounting)")?;
            write_file(d, "memory.swap.max", &swap)?;
        }
    }
    if let Some(l) = mem.limit() {
        write_file(d, "memory.max", &max_or(l))?;
    }
    if let Some(res) = mem.reservation() {
        write_file(d, "memory.low", &max_or(res))?;
    }
    if mem.swappiness().is_some_and(|s| s != 0 && s != 60) {
        return Err(CgroupError::Invalid {
            field: "memory.swappiness",
            msg: "per-cgroup swappiness does not exist on cgroup v2".into(),
        });
    }
    if mem.disable_oom_killer() == Some(true) {
        return Err(CgroupError::Invalid {
            field: "memory.disableOOMKiller",
            msg: "cgroup v2 cannot disable the OOM killer".into(),
        });
    }
    Ok(())
}

/// The systemd driver's unit properties: `MemoryMax`, `MemorySwapMax`
/// (swap alone, as `memory.swap.max`), `MemoryLow`.
pub(crate) fn unit_properties(mem: &LinuxMemory) -> Result<Vec<Property>, CgroupError> {
    let mut p = Vec::new();
    if let Some(l) = mem.limit() {
        p.push(("MemoryMax".into(), systemd::limit(l)));
    }
    if let Some(swap) = swap_max(mem.limit(), mem.swap())? {
        p.extend(systemd::file_limit(&swap).map(|v| ("MemorySwapMax".into(), v)));
    }
    if let Some(r) = mem.reservation() {
        p.push(("MemoryLow".into(), systemd::limit(r)));
    }
    Ok(p)
}

pub(crate) fn stats_v1(d: &Path) -> Memory {
    let entry = |prefix: &str| MemoryEntry {
        limit: num(d, &format!("{prefix}.limit_in_bytes")),
        usage: num(d, &format!("{prefix}.usage_in_bytes")),
        max: num(d, &format!("{prefix}.max_usage_in_bytes")),
        failcnt: num(d, &format!("{prefix}.failcnt")),
    };
    let raw = kv(d, "memory.stat");
    Memory {
        cache: raw.get("cache").copied().unwrap_or(0),
        usage: entry("memory"),
        swap: entry("memory.memsw"),
        kernel: entry("memory.kmem"),
        kernel_tcp: entry("memory.kmem.tcp"),
        raw,
        oom_kill: kv(d, "memory.oom_control").get("oom_kill").copied(),
    }
}

pub(crate) fn stats_v2(d: &Path) -> Memory {
    let raw = kv(d, "memory.stat");
    let events = kv(d, "memory.events");
    Memory {
        cache: raw.get("file").copied().unwrap_or(0),
        usage: MemoryEntry {
            limit: limit(d, "memory.max"),
            usage: num(d, "memory.current"),
            max: num(d, "memory.peak"),
            failcnt: events.get("max").copied().unwrap_or(0),
        },
        swap: MemoryEntry {
            limit: limit(d, "memory.swap.max"),
            usage: num(d, "memory.swap.current"),
            max: num(d, "memory.swap.peak"),
            failcnt: 0,
        },
        raw,
        oom_kill: events.get("oom_kill").copied(),
        ..Memory::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_properties_are_v2_values() {
        use crate::systemd::dbus::Value;
        let mut m = LinuxMemory::default();
        m.set_limit(Some(64 << 20));
        m.set_swap(Some(64 << 20));
        m.set_reservation(Some(-1));
        let p = unit_properties(&m).unwrap();
        assert_eq!(
            p,
            vec![
                ("MemoryMax".to_string(), Value::U64(64 << 20)),
                ("MemorySwapMax".to_string(), Value::U64(0)),
                ("MemoryLow".to_string(), Value::U64(u64::MAX)),
            ]
        );
    }

    #[test]
    fn swap_is_memory_plus_swap() {
        assert_eq!(swap_max(Some(100), Some(300)).unwrap().as_deref(), Some("200"));
        assert_eq!(swap_max(Some(100), Some(-1)).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(Some(100), None).unwrap(), None);
        assert!(swap_max(Some(300), Some(100)).is_err());
        assert!(swap_max(None, Some(100)).is_err());
    }
}
