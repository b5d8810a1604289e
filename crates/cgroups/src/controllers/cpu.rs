//! cpu: shares (v1) or weight (v2), the CFS quota and period, burst, idle,
//! and v1's realtime limits; `cpuacct` (v1) and `cpu.stat` usage for stats.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};
use crate::stats::{kv, num, Cpu, CpuUsage, Throttling};
use crate::systemd::dbus::Value;
use crate::systemd::Property;
use crate::v1::V1Manager;

use super::need_v2;

/// cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100),
/// the mapping runc and crun use so that the same config means the same thing.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// Does `cpu` set anything the v1 cpu controller holds? Docker writes 0 for
/// "not set" (cpu.shares, blkio weight): those do not count.
fn wants_v1(cpu: &LinuxCpu) -> bool {
    cpu.shares().is_some_and(|s| s > 0)
        || cpu.quota().is_some()
        || cpu.period().is_some()
        || cpu.realtime_period().is_some()
        || cpu.realtime_runtime().is_some()
        || cpu.idle().is_some()
        || cpu.burst().is_some()
}

pub(crate) fn apply_v1(m: &V1Manager, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if !wants_v1(cpu) {
        return Ok(());
    }
    let d = m.need("cpu", "cpu")?;
    if let Some(s) = cpu.shares().filter(|s| *s > 0) {
        write_file(d, "cpu.shares", &s.to_string())?;
    }
    write_quota_and_period_v1(d, cpu.quota(), cpu.period())?;
    if let Some(b) = cpu.burst() {
        write_file(d, "cpu.cfs_burst_us", &b.to_string())?;
    }
    if let Some(p) = cpu.realtime_period() {
        write_file(d, "cpu.rt_period_us", &p.to_string())?;
    }
    if let Some(rt) = cpu.realtime_runtime() {
        write_file(d, "cpu.rt_runtime_us", &rt.to_string())?;
    }
    if let Some(i) = cpu.idle() {
        write_file(d, "cpu.idle", &i.to_string())?;
    }
    Ok(())
}

/// v1 holds the quota and the period in two files, and the kernel checks
/// each write against the other's current value and the parent's limit.
/// Period first: a quota is checked against the current period. But a
/// shorter period can put the current quota over the parent's share (50 ms
/// of a 100 ms parent limit over a new 10 ms period): EINVAL. With a quota
/// coming too, write it first and the period after, as runc does. For a
/// valid pair one of the two orders always works: if the period cannot go
/// first, it shrank, and then the new quota is below the old one.
fn write_quota_and_period_v1(d: &Path, quota: Option<i64>, period: Option<u64>) -> Result<(), CgroupError> {
    if let Some(p) = period {
        match write_file(d, "cpu.cfs_period_us", &p.to_string()) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(libc::EINVAL) && quota.is_some() => {
                write_file(d, "cpu.cfs_quota_us", &quota.unwrap_or(-1).to_string())?;
                return write_file(d, "cpu.cfs_period_us", &p.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(q) = quota {
        write_file(d, "cpu.cfs_quota_us", &q.to_string())?;
    }
    Ok(())
}

pub(crate) fn apply_v2(d: &Path, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(s) = cpu.shares().filter(|s| *s > 0) {
        need_v2(d, "cpu.weight", "cpu.shares", "cpu")?;
        write_file(d, "cpu.weight", &shares_to_weight(s).to_string())?;
    }
    if cpu.quota().is_some() || cpu.period().is_some() {
        need_v2(d, "cpu.max", "cpu.quota", "cpu")?;
        write_file(d, "cpu.max", &cpu_max(d, cpu))?;
    }
    if let Some(b) = cpu.burst() {
        write_file(d, "cpu.max.burst", &b.to_string())?;
    }
    if let Some(i) = cpu.idle() {
        write_file(d, "cpu.idle", &i.to_string())?;
    }
    if cpu.realtime_runtime().is_some_and(|v| v != 0) || cpu.realtime_period().is_some_and(|v| v != 0) {
        return Err(CgroupError::Invalid {
            field: "cpu.realtimeRuntime",
            msg: "realtime scheduling limits do not exist on cgroup v2".into(),
        });
    }
    Ok(())
}

/// `cpu.max` is "quota period" in one file: what the spec leaves out keeps
/// its current value.
fn cpu_max(d: &Path, cpu: &LinuxCpu) -> String {
    let current = read_file(d, "cpu.max").unwrap_or_default();
    let mut it = current.split_whitespace();
    let (cur_q, cur_p) = (it.next().unwrap_or("max").to_string(), it.next().unwrap_or("100000").to_string());
    let q = match cpu.quota() {
        Some(q) if q > 0 => q.to_string(),
        Some(_) => "max".into(),
        None => cur_q,
    };
    let p = cpu.period().filter(|p| *p > 0).map(|p| p.to_string()).unwrap_or(cur_p);
    format!("{q} {p}")
}

/// The kernel's default CFS period, 100 ms.
const DEFAULT_PERIOD: u64 = 100_000;

/// systemd's `CPUQuotaPerSecUSec` for a quota per period (µs), rounded up to
/// whole 10 ms as runc does: older systemd keeps whole percents, and a
/// limit rounded down would sit below what the cgroup file says.
pub fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota <= 0 || period == 0 {
        return u64::MAX;
    }
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// The systemd driver's unit properties: `CPUWeight` (from shares, as
/// cpu.weight), `CPUQuotaPerSecUSec` + `CPUQuotaPeriodUSec` (cpu.max). A
/// quota or period given alone is completed from the cgroup's cpu.max
/// (`dir`, on `update`), as the file write does.
pub(crate) fn unit_properties(cpu: &LinuxCpu, dir: &Path) -> Vec<Property> {
    let mut p = Vec::new();
    if let Some(s) = cpu.shares().filter(|s| *s > 0) {
        p.push(("CPUWeight".into(), Value::U64(shares_to_weight(s))));
    }
    if cpu.quota().is_some() || cpu.period().is_some() {
        let current = read_file(dir, "cpu.max").unwrap_or_default();
        let mut it = current.split_whitespace();
        let (cur_quota, cur_period) = (it.next().and_then(|q| q.parse().ok()), it.next().and_then(|p| p.parse().ok()));
        let period = cpu.period().filter(|p| *p > 0).or(cur_period).unwrap_or(DEFAULT_PERIOD);
        let quota = cpu.quota().or(cur_quota).unwrap_or(-1);
        p.push(("CPUQuotaPeriodUSec".into(), Value::U64(period)));
        p.push(("CPUQuotaPerSecUSec".into(), Value::U64(quota_per_sec(quota, period))));
    }
    p
}

const USER_HZ_TO_NS: u64 = 10_000_000;

/// v1: usage from `cpuacct`, throttling from `cpu`.
pub(crate) fn stats_v1(m: &V1Manager) -> Cpu {
    let mut s = Cpu::default();
    if let Some(d) = m.dir("cpuacct") {
        s.usage.total = num(d, "cpuacct.usage");
        s.usage.percpu = read_file(d, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let st = kv(d, "cpuacct.stat");
        s.usage.user = st.get("user").copied().unwrap_or(0) * USER_HZ_TO_NS;
        s.usage.kernel = st.get("system").copied().unwrap_or(0) * USER_HZ_TO_NS;
    }
    if let Some(d) = m.dir("cpu") {
        let st = kv(d, "cpu.stat");
        s.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    s
}

pub(crate) fn stats_v2(d: &Path) -> Cpu {
    let cpu = kv(d, "cpu.stat");
    let g = |k: &str| cpu.get(k).copied().unwrap_or(0);
    Cpu {
        usage: CpuUsage {
            total: g("usage_usec") * 1000,
            percpu: Vec::new(),
            kernel: g("system_usec") * 1000,
            user: g("user_usec") * 1000,
        },
        throttling: Throttling {
            periods: g("nr_periods"),
            throttled_periods: g("nr_throttled"),
            throttled_time: g("throttled_usec") * 1000,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_per_second() {
        assert_eq!(quota_per_sec(50_000, 100_000), 500_000);
        assert_eq!(quota_per_sec(25_000, 100_000), 250_000);
        // 12.345 ms per 100 ms → 123.45 ms/s, up to 130 ms.
        assert_eq!(quota_per_sec(12_345, 100_000), 130_000);
        assert_eq!(quota_per_sec(-1, 100_000), u64::MAX);
        assert_eq!(quota_per_sec(200_000, 50_000), 4_000_000);
    }

    #[test]
    fn quota_properties_complete_each_other() {
        let mut c = LinuxCpu::default();
        c.set_quota(Some(50_000));
        let p = unit_properties(&c, Path::new("/nonexistent"));
        assert_eq!(
            p,
            vec![
                ("CPUQuotaPeriodUSec".to_string(), Value::U64(100_000)),
                ("CPUQuotaPerSecUSec".to_string(), Value::U64(500_000)),
            ]
        );
        let mut c = LinuxCpu::default();
        c.set_shares(Some(1024));
        assert_eq!(unit_properties(&c, Path::new("/nonexistent")), vec![("CPUWeight".to_string(), Value::U64(39))]);
    }

    #[test]
    fn shares_conversion_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 0);
    }
}
