//! Resource usage in the shape of runc's `events --stats` (what containerd's
//! shim parses for `ctr task metrics` and the CRI's ContainerStats). Each
//! controller's file (`controllers/`) reads its own part.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::controllers::{blkio, cpu, hugetlb, memory, pids};
use crate::error::CgroupError;
use crate::fs::read_file;
use crate::v1::V1Manager;

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
    /// OOM kills seen so far (`memory.events` oom_kill, or v1's oom_control),
    /// for `events` to notice an OOM. Not printed: runc's stats have no such
    /// field, and scripts wait for an OOM with `grep oom` on the output.
    #[serde(skip)]
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

/// A number file (0 when missing or unreadable).
pub(crate) fn num(dir: &Path, file: &str) -> u64 {
    read_file(dir, file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// `max` (v2) and the v1 "unlimited" sentinel both become u64::MAX.
pub(crate) fn limit(dir: &Path, file: &str) -> u64 {
    match read_file(dir, file) {
        Ok(s) if s.trim() == "max" => u64::MAX,
        Ok(s) => s.trim().parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// A flat-keyed file (`key value` per line: memory.stat, cpu.stat, …).
pub(crate) fn kv(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read_file(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

pub fn v1(m: &V1Manager) -> Result<Stats, CgroupError> {
    let mut s = Stats { cpu: cpu::stats_v1(m), ..Stats::default() };
    if let Some(d) = m.dir("memory") {
        s.memory = memory::stats_v1(d);
    }
    if let Some(d) = m.dir("pids") {
        s.pids = pids::stats(d);
    }
    if let Some(d) = m.dir("blkio") {
        s.blkio = blkio::stats_v1(d);
    }
    if let Some(d) = m.dir("hugetlb") {
        s.hugetlb = hugetlb::stats_v1(d);
    }
    Ok(s)
}

pub fn v2(d: &Path) -> Result<Stats, CgroupError> {
    Ok(Stats {
        cpu: cpu::stats_v2(d),
        memory: memory::stats_v2(d),
        pids: pids::stats(d),
        blkio: blkio::stats_v2(d),
        hugetlb: hugetlb::stats_v2(d),
    })
}
