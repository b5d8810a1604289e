//! Resource usage in the shape of runc's `events --stats` (what containerd's
//! shim parses for `ctr task metrics` and the CRI's ContainerStats).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::v1::V1Manager;
use super::{read_file, CgroupError};

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    pub raw: BTreeMap<String, u64>,
    /// OOM kills seen so far (`memory.events` oom_kill, or v1's oom_control).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    pub current: u64,
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Serialize)]
pub struct Hugetlb {
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

fn num(dir: &Path, file: &str) -> u64 {
    read_file(dir, file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// `max` (v2) and the v1 "unlimited" sentinel both become u64::MAX.
fn limit(dir: &Path, file: &str) -> u64 {
    match read_file(dir, file) {
        Ok(s) if s.trim() == "max" => u64::MAX,
        Ok(s) => s.trim().parse().unwrap_or(0),
        Err(_) => 0,
    }
}

fn kv(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read_file(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn blkio_entries(dir: &Path, file: &str) -> Vec<BlkioEntry> {
    read_file(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let dev = it.next()?;
            let op = it.next()?;
            let value = it.next()?.parse().ok()?;
            let (ma, mi) = dev.split_once(':')?;
            Some(BlkioEntry { major: ma.parse().ok()?, minor: mi.parse().ok()?, op: op.to_string(), value })
        })
        .collect()
}

const USER_HZ_TO_NS: u64 = 10_000_000;

pub fn v1(m: &V1Manager) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    if let Some(d) = m.dir("cpuacct") {
        s.cpu.usage.total = num(d, "cpuacct.usage");
        s.cpu.usage.percpu = read_file(d, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let st = kv(d, "cpuacct.stat");
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * USER_HZ_TO_NS;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * USER_HZ_TO_NS;
    }
    if let Some(d) = m.dir("cpu") {
        let st = kv(d, "cpu.stat");
        s.cpu.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = m.dir("memory") {
        let entry = |prefix: &str| MemoryEntry {
            limit: num(d, &format!("{prefix}.limit_in_bytes")),
            usage: num(d, &format!("{prefix}.usage_in_bytes")),
            max: num(d, &format!("{prefix}.max_usage_in_bytes")),
            failcnt: num(d, &format!("{prefix}.failcnt")),
        };
        s.memory.usage = entry("memory");
        s.memory.swap = entry("memory.memsw");
        s.memory.kernel = entry("memory.kmem");
        s.memory.kernel_tcp = entry("memory.kmem.tcp");
        s.memory.raw = kv(d, "memory.stat");
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        s.memory.oom_kill = kv(d, "memory.oom_control").get("oom_kill").copied();
    }
    if let Some(d) = m.dir("pids") {
        s.pids = Pids { current: num(d, "pids.current"), limit: limit(d, "pids.max") };
    }
    if let Some(d) = m.dir("blkio") {
        s.blkio.io_service_bytes_recursive = blkio_entries(d, "blkio.throttle.io_service_bytes_recursive");
        s.blkio.io_serviced_recursive = blkio_entries(d, "blkio.throttle.io_serviced_recursive");
    }
    if let Some(d) = m.dir("hugetlb") {
        for size in hugepage_sizes() {
            s.hugetlb.insert(
                size.clone(),
                Hugetlb {
                    usage: num(d, &format!("hugetlb.{size}.usage_in_bytes")),
                    max: num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
                    failcnt: num(d, &format!("hugetlb.{size}.failcnt")),
                },
            );
        }
    }
    Ok(s)
}

pub fn v2(d: &Path) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    let cpu = kv(d, "cpu.stat");
    let g = |k: &str| cpu.get(k).copied().unwrap_or(0);
    s.cpu.usage = CpuUsage {
        total: g("usage_usec") * 1000,
        percpu: Vec::new(),
        kernel: g("system_usec") * 1000,
        user: g("user_usec") * 1000,
    };
    s.cpu.throttling = Throttling {
        periods: g("nr_periods"),
        throttled_periods: g("nr_throttled"),
        throttled_time: g("throttled_usec") * 1000,
    };
    s.memory.raw = kv(d, "memory.stat");
    s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
    s.memory.usage = MemoryEntry {
        limit: limit(d, "memory.max"),
        usage: num(d, "memory.current"),
        max: num(d, "memory.peak"),
        failcnt: 0,
    };
    s.memory.swap = MemoryEntry {
        limit: limit(d, "memory.swap.max"),
        usage: num(d, "memory.swap.current"),
        max: num(d, "memory.swap.peak"),
        failcnt: 0,
    };
    let events = kv(d, "memory.events");
    s.memory.usage.failcnt = events.get("max").copied().unwrap_or(0);
    s.memory.oom_kill = events.get("oom_kill").copied();
    s.pids = Pids { current: num(d, "pids.current"), limit: limit(d, "pids.max") };
    for line in read_file(d, "io.stat").unwrap_or_default().lines() {
        let mut it = line.split_whitespace();
        let Some((ma, mi)) = it.next().and_then(|dev| dev.split_once(':')) else { continue };
        let (Ok(major), Ok(minor)) = (ma.parse(), mi.parse()) else { continue };
        for kvp in it {
            let Some((k, v)) = kvp.split_once('=') else { continue };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry { major, minor, op: op.into(), value });
        }
    }
    for size in hugepage_sizes() {
        let ev = kv(d, &format!("hugetlb.{size}.events"));
        s.hugetlb.insert(
            size.clone(),
            Hugetlb {
                usage: num(d, &format!("hugetlb.{size}.current")),
                max: 0,
                failcnt: ev.get("max").copied().unwrap_or(0),
            },
        );
    }
    Ok(s)
}

/// Huge page sizes the kernel offers, in cgroup file notation (`2MB`, `1GB`).
pub fn hugepage_sizes() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/sys/kernel/mm/hugepages") else { return Vec::new() };
    let mut sizes: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name.strip_prefix("hugepages-")?.strip_suffix("kB")?.parse().ok()?;
            Some(if kb >= 1 << 20 {
                format!("{}GB", kb >> 20)
            } else if kb >= 1 << 10 {
                format!("{}MB", kb >> 10)
            } else {
                format!("{kb}KB")
            })
        })
        .collect();
    sizes.sort();
    sizes
}
